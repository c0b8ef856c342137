#!/usr/bin/env python
"""Year-end rollover speed (issue 16): close a 200,000-student county's school year (学年结转)
on PostgreSQL — every child promoted, graduated or held back, one status-history row and one
simple_history row per move, the year's figures frozen per school and township — and revert it.

In its own database (`ROLLOVER_BENCH_URL`, default …/kongchuo_rollover_bench), seeded once with
the core demo county of last school year (`students.demo.seed_county`: 200,000 students, their
census, a 留级 list of 0.2%). Each run closes the year (`dashboards.yearclose.school_year_close`,
the service the command and the county's page call) and then reverts it
(`school_year_reopen`), which restores the county exactly, so every run starts from the same
state. Medians of ROLLOVER_BENCH_REPEAT runs (default 3). Target: the close under 30 s.
Usage: `make bench` (or `.venv/bin/python bench/run.py rollover`).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchdb import database_create  # bench/ is the script's folder: on sys.path

ROOT = Path(__file__).resolve().parent.parent
URL = os.environ.get("ROLLOVER_BENCH_URL", "postgres://postgres@127.0.0.1:5432/kongchuo_rollover_bench")
STUDENTS = int(os.environ.get("ROLLOVER_BENCH_STUDENTS", "200000"))
REPEAT = int(os.environ.get("ROLLOVER_BENCH_REPEAT", "3"))
TARGET_S = 30.0


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--phase":
        return phase()
    database_create(URL)
    env = {**os.environ, "DATABASE_URL": URL, "DJANGO_SETTINGS_MODULE": "kongchuo.settings",
           "LOG_LEVEL": "WARNING", "REDIS_URL": ""}
    proc = subprocess.run([sys.executable, __file__, "--phase"], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if not line.startswith("{"):
            print(line, flush=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode or not lines:
        sys.stderr.write(proc.stderr[-4000:])
        print(f"rollover bench failed (exit {proc.returncode})")
        return 1
    r = json.loads(lines[-1])
    good = r["close_s"] < TARGET_S
    print(f"\nRollover (学年结转) of {r['students']:,} students on the rolls (PostgreSQL {r['db']}), "
          f"median of {REPEAT}:")
    print(f"  close      {r['close_s']:6.2f} s  (runs {', '.join(f'{x:.2f}' for x in r['close_runs'])}) "
          f"= moves {r['moves_s']:.2f} s + figures frozen {r['freeze_s']:.2f} s  "
          f"target < {TARGET_S:.0f} s: {'OK' if good else 'MISSED'}")
    print(f"  revert     {r['revert_s']:6.2f} s  (runs {', '.join(f'{x:.2f}' for x in r['revert_runs'])})")
    print(f"  preview    {r['preview_s']:6.2f} s  (the 学年结转 page's counts by township / school / grade)")
    print(f"  counts     {json.dumps(r['result'], ensure_ascii=False)}")
    print(f"  rows       {r['status_rows']:,} status-history rows, {r['history_rows']:,} student history "
          f"rows, {r['units']:,} frozen units per close")
    return 0 if good else 1


def phase() -> int:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from dashboards import yearfigures
    from dashboards.yearclose import school_year_close, school_year_reopen
    from kongchuo.calendar.schoolyear import school_year_of, today
    from students import rollover
    from students.models import StatusChange, Student

    call_command("migrate", verbosity=0)
    year = school_year_of(today()) - 1
    if not Student.objects.exists():
        t0 = time.perf_counter()
        print(f"seeding {STUDENTS:,} students into {connection.settings_dict['NAME']} (once)…", flush=True)
        _seed(year)
        print(f"  seeded in {time.perf_counter() - t0:.0f} s", flush=True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")
    day = dt.date(year + 1, 8, 20)
    timings: dict[str, list[float]] = {"moves": [], "freeze": []}
    real_apply, real_freeze = rollover.rollover_apply, yearfigures.year_figures_freeze

    def timed(key, func):
        def wrapper(**kwargs):
            t0 = time.perf_counter()
            try:
                return func(**kwargs)
            finally:
                timings[key].append(time.perf_counter() - t0)
        return wrapper

    import dashboards.yearclose as yc

    yc.rollover_apply = timed("moves", real_apply)
    yc.year_figures_freeze = timed("freeze", real_freeze)
    preview_runs = []
    for _i in range(REPEAT):  # what the county's page computes before the confirm
        t0 = time.perf_counter()
        rollover.rollover_preview(year, today=day)
        preview_runs.append(time.perf_counter() - t0)
    close_runs, revert_runs, result = [], [], None
    before = StatusChange.objects.count()
    for _i in range(REPEAT):
        history_before = Student.history.count()
        t0 = time.perf_counter()
        result = school_year_close(year=year, user=None, today=day)
        close_runs.append(time.perf_counter() - t0)
        status_rows = StatusChange.objects.count() - before
        history_rows = Student.history.count() - history_before
        units = yearfigures.YearFigures.objects.filter(year=year).count()
        t0 = time.perf_counter()
        school_year_reopen(year=year, user=None)
        revert_runs.append(time.perf_counter() - t0)
        with connection.cursor() as cur:  # what autovacuum would do between two real years
            cur.execute("VACUUM ANALYZE students_student")
            cur.execute("VACUUM ANALYZE students_statuschange")
    print(json.dumps({
        "db": connection.settings_dict["NAME"], "students": result.students,
        "close_s": statistics.median(close_runs), "close_runs": close_runs,
        "moves_s": statistics.median(timings["moves"]), "freeze_s": statistics.median(timings["freeze"]),
        "revert_s": statistics.median(revert_runs), "revert_runs": revert_runs,
        "preview_s": statistics.median(preview_runs),
        "result": result.as_json(), "status_rows": status_rows,
        "history_rows": history_rows, "units": units,
    }))
    return 0


def _seed(year: int) -> None:
    """The core county of school year `year` and a 留级 list (0.2% of the children at school)."""
    import random

    from students.demo import seed_county
    from students.models import StatusChange, Student

    seed_county(students=STUDENTS, seed=2023, year=year)
    rng = random.Random(year)
    ids = Student.objects.filter(status="enrolled", grade__lt=9).values_list("pk", flat=True)
    StatusChange.objects.bulk_create([StatusChange(
        student_id=pk, kind="repeat", effective_date=dt.date(year + 1, 6, 20), from_status="enrolled",
        to_status="enrolled", reason="家长申请", source="seed") for pk in ids if rng.random() < 0.002],
        batch_size=5000)


if __name__ == "__main__":
    sys.exit(main())
