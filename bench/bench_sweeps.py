#!/usr/bin/env python
"""Sweep speed (issue 5): `return_check` and `census` over a county, set-based vs per-student.

Two measurements, each in its own PostgreSQL database (created and seeded on first use):

1. **County size** (`SWEEP_BENCH_URL`, default …/kongchuo_sweep_bench): the 200,000-student demo
   county (`seed_demo --students 200000`, which also writes ~200k census rows) topped up to
   250,000 census rows for the year. Whole-county runs, in-process, partition after partition
   (one worker's worth of work; a Celery group spreads the same partitions over workers).
   Target: each sweep under 30 s.
2. **Side by side** (`SWEEP_BENCH_SMALL_URL`, default …/kongchuo_sweep_bench20k): a 20,000-student
   county (25,000 census rows) where the set-based sweep and a naive per-student ORM loop doing
   the same rule both run; they must produce the same alerts. Target: ≥ 20× faster.

Each timed run starts from no alerts of the rule and period (they are deleted between runs), so
every run does the full work including writing the alerts. Medians of SWEEP_BENCH_REPEAT runs
(default 3; SWEEP_BENCH_NAIVE_REPEAT for the slow loop, default the same). The first run seeds
the two databases (about 6 minutes for 200,000 students). Usage: `make bench` (or
`.venv/bin/python bench/run.py sweeps`, or `.venv/bin/python bench/bench_sweeps.py`).
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
BASE = "postgres://postgres@127.0.0.1:5432"
BIG_URL = os.environ.get("SWEEP_BENCH_URL", f"{BASE}/kongchuo_sweep_bench")
SMALL_URL = os.environ.get("SWEEP_BENCH_SMALL_URL", f"{BASE}/kongchuo_sweep_bench20k")
REPEAT = int(os.environ.get("SWEEP_BENCH_REPEAT", "3"))
NAIVE_REPEAT = int(os.environ.get("SWEEP_BENCH_NAIVE_REPEAT", str(REPEAT)))
TARGET_S, TARGET_RATIO = 30.0, 20.0


# ----------------------------------------------------------------------------- the parent


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--phase":
        return phase(sys.argv[2])
    big = _child("big", BIG_URL)
    small = _child("small", SMALL_URL)
    if big is None or small is None:
        return 1
    ok = True
    print(f"\nCounty: {big['students']:,} students, {big['census_rows']:,} census rows "
          f"(PostgreSQL {big['db']}), median of {REPEAT}:")
    for name in ("return_check", "census"):
        r = big[name]
        good = r["median_s"] < TARGET_S
        ok &= good
        print(f"  {name:<13} {r['median_s']:7.2f} s  (runs {', '.join(f'{x:.2f}' for x in r['runs'])}; "
              f"{r['alerts']:,} alerts written)  target < {TARGET_S:.0f} s: {'OK' if good else 'MISSED'}")
    print(f"\nSide by side: {small['students']:,} students, {small['census_rows']:,} census rows "
          f"(PostgreSQL {small['db']}), median of {REPEAT} (loop: {NAIVE_REPEAT}):")
    for name in ("return_check", "census"):
        r = small[name]
        ratio = r["naive_s"] / r["set_s"]
        good = ratio >= TARGET_RATIO and r["same_alerts"]
        ok &= good
        print(f"  {name:<13} set-based {r['set_s']:6.2f} s · per-student loop {r['naive_s']:7.2f} s "
              f"({r['naive_queries']:,} queries) · ratio {ratio:5.1f}× · same {r['alerts']:,} alerts: "
              f"{r['same_alerts']}  target ≥ {TARGET_RATIO:.0f}×: {'OK' if good else 'MISSED'}")
    return 0 if ok else 1


def _child(kind: str, url: str) -> dict | None:
    database_create(url)
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "kongchuo.settings",
           "LOG_LEVEL": "WARNING", "REDIS_URL": ""}
    proc = subprocess.run([sys.executable, __file__, "--phase", kind], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    sys.stderr.write(proc.stderr[-4000:] if proc.returncode else "")
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    for ln in proc.stdout.splitlines():
        if not ln.startswith("{"):
            print(ln, flush=True)
    if proc.returncode or not lines:
        print(f"{kind} phase failed (exit {proc.returncode})")
        return None
    print(f"{kind}: {lines[-1]}", flush=True)  # the raw figures, whatever the summary does
    return json.loads(lines[-1])


# ----------------------------------------------------------------------------- a phase (child)


def phase(kind: str) -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kongchuo.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from students.models import CensusEntry, Student

    call_command("migrate", verbosity=0)
    students, census_rows = (200_000, 250_000) if kind == "big" else (20_000, 25_000)
    have = Student.objects.count()
    # seed_demo seeds `students` as last school year and closes it: the rows then include the
    # year's graduates and this year's newcomers (about +13%).
    if not students <= have <= students * 1.25:
        if have:
            print(f"{connection.settings_dict['NAME']} holds another county: drop it and re-run")
            return 2
        t0 = time.perf_counter()
        print(f"seeding {students:,} students into {connection.settings_dict['NAME']} (once)…", flush=True)
        call_command("seed_demo", students=students, verbosity=0)
        print(f"  seeded in {time.perf_counter() - t0:.0f} s", flush=True)
    as_of = _as_of()
    _top_up_census(as_of.year, census_rows)
    connection.cursor().execute("ANALYZE")
    result = {"db": connection.settings_dict["NAME"], "students": Student.objects.count(),
              "census_rows": CensusEntry.objects.filter(year=as_of.year).count()}
    if kind == "big":
        for name, day in (("return_check", as_of), ("census", _census_day(as_of))):
            runs, alerts = _set_based(name, day)
            result[name] = {"median_s": statistics.median(runs), "runs": runs, "alerts": alerts}
    else:
        for name, day in (("return_check", as_of), ("census", _census_day(as_of))):
            runs, alerts = _set_based(name, day)
            expected = _alert_keys(name, day)
            naive_runs, queries = _naive(name, day)
            result[name] = {"set_s": statistics.median(runs), "naive_s": statistics.median(naive_runs),
                            "alerts": alerts, "naive_queries": queries,
                            "same_alerts": _alert_keys(name, day) == expected}
    print(json.dumps(result))
    return 0


def _as_of() -> dt.date:
    """A day two weeks into the current term (the demo county's statuses are dated this year)."""
    from kongchuo.calendar.schoolyear import term_of, today

    term = term_of(today())
    if term.start > today():
        term = term.previous()
    return min(today(), term.start + dt.timedelta(days=14))


def _census_day(as_of: dt.date) -> dt.date:
    return dt.date(as_of.year, 7, 15)


def _top_up_census(year: int, target: int) -> None:
    """Extra 户籍 rows to reach `target`: mostly children outside school age (the register lists
    them too), 1% of school age found in no school — realistic work for the census rule."""
    import random

    from kongchuo.access.idnumbers import make_id
    from students.models import CensusEntry, Township

    have = CensusEntry.objects.filter(year=year).count()
    missing = target - have
    if missing <= 0:
        return
    rng = random.Random(year)
    townships = list(Township.objects.all())
    rows, seen = [], set(CensusEntry.objects.filter(year=year).values_list("id_number", flat=True))
    while len(rows) < missing:
        in_age = rng.random() < 0.01
        age = rng.randint(7, 14) if in_age else rng.choice((3, 4, 5, 16, 17))
        birth = dt.date(year - age - 1, 9, 1) + dt.timedelta(days=rng.randrange(365))
        id_number = make_id("341522", birth, rng.randrange(600, 999))
        if id_number in seen:
            continue
        seen.add(id_number)
        t = rng.choice(townships)
        rows.append(CensusEntry(year=year, id_number=id_number, name="户籍儿童", sex="M",
                                birth_date=birth, township=t))
    CensusEntry.objects.bulk_create(rows, batch_size=5000)


def _rules(name: str) -> tuple[str, ...]:
    return ("census", "entry") if name == "census" else (name,)


def _clear(name: str, day: dt.date) -> None:
    from django.db import connection

    from retrieval.models import Alert
    from retrieval.sweeps import get_sweep

    Alert.objects.filter(rule__in=_rules(name), period=get_sweep(name).period(day)).delete()
    # A county never deletes its alerts; the bench does, so it tidies up after itself.
    with connection.cursor() as cur:
        cur.execute(f"VACUUM ANALYZE {Alert._meta.db_table}")


def _alert_keys(name: str, day: dt.date) -> set:
    from retrieval.models import Alert
    from retrieval.sweeps import get_sweep

    return set(Alert.objects.filter(rule__in=_rules(name), period=get_sweep(name).period(day))
               .values_list("rule", "period", "subject", "school_id", "township_id", "level"))


def _set_based(name: str, day: dt.date) -> tuple[list[float], int]:
    from retrieval.sweeps.runner import sweep_run_now

    runs, created = [], 0
    for _ in range(REPEAT):
        _clear(name, day)
        t0 = time.perf_counter()
        r = sweep_run_now(sweep=name, as_of=day, trigger="bench")
        runs.append(round(time.perf_counter() - t0, 3))
        assert r.status == "succeeded", r.message
        created = r.created
    return runs, created


def _naive(name: str, day: dt.date) -> tuple[list[float], int]:
    from django.db import connection

    loop = _naive_return_check if name == "return_check" else _naive_census
    runs, queries = [], 0
    for _ in range(NAIVE_REPEAT):
        _clear(name, day)
        count = [0]

        def counter(execute, sql, params, many, context, count=count):
            count[0] += 1
            return execute(sql, params, many, context)

        t0 = time.perf_counter()
        with connection.execute_wrapper(counter):
            loop(day)
        runs.append(round(time.perf_counter() - t0, 3))
        queries = count[0]
    return runs, queries


# ----------------------------------------------------------------------------- the naive loops
# What a straightforward implementation does: walk the children in Python and ask the database
# about each one. Same rules, same alerts (checked above), a few queries per child.


def _status_on(student, day):
    changes = list(student.status_changes.exclude(kind__in=("leave", "correction"))
                   .order_by("effective_date", "id"))
    before = [c for c in changes if c.effective_date <= day and c.to_status]
    if before:
        return before[-1].to_status
    after = [c for c in changes if c.effective_date > day]
    if after:
        first = after[0]
        if first.kind in ("enroll", "transfer_in"):
            return first.from_status
        return first.from_status or student.status
    return student.status


def _naive_return_check(day: dt.date) -> None:
    from django.utils import timezone

    from kongchuo.calendar.schoolyear import term_of
    from ledgers.models import ReturnReport
    from retrieval.models import Alert
    from students.models import Student

    term = term_of(day)
    now = timezone.now()
    for s in Student.objects.select_related("school").iterator(chunk_size=2000):
        status = _status_on(s, day)
        if status != "enrolled":
            continue
        if ReturnReport.objects.filter(student=s, term=term.code).exists():
            continue
        covering = False
        for c in s.status_changes.filter(kind__in=("leave", "suspend"), effective_date__lte=day):
            if c.end_date is not None and c.end_date < day:
                continue
            if s.status_changes.filter(kind__in=("resume", "returned"), effective_date__gt=c.effective_date,
                                       effective_date__lte=day).exists():
                continue
            covering = True
        if covering:
            continue
        Alert.objects.get_or_create(
            rule="return_check", period=term.code, subject=s.id_number,
            defaults={"student": s, "name": s.name, "school": s.school,
                      "township_id": s.school.township_id, "level": "school",
                      "detail": {"term": term.code, "last_status": status},
                      "due_date": day + dt.timedelta(days=7), "raised_at": now})


def _naive_census(day: dt.date) -> None:
    from kongchuo.calendar.schoolyear import school_age_birth_range
    from ledgers.models import Deferral
    from retrieval.models import Alert
    from retrieval.sweeps.census import ACCOUNTED, entry_age_range
    from students.models import CensusEntry, Student

    year = day.year
    lo, hi = school_age_birth_range(year)
    e_lo, e_hi = entry_age_range(year)
    for entry in CensusEntry.objects.filter(year=year).iterator(chunk_size=2000):
        if not (lo <= entry.birth_date <= hi):
            continue
        student = Student.objects.filter(id_number=entry.id_number).first()
        if student is not None and _status_on(student, day) in ACCOUNTED:
            continue
        if Deferral.objects.filter(id_number=entry.id_number, review="approved",
                                   start_date__lte=day, end_date__gte=day).exists():
            continue
        rules = ["census"] + (["entry"] if e_lo <= entry.birth_date <= e_hi else [])
        for rule in rules:
            Alert.objects.get_or_create(
                rule=rule, period=str(year), subject=entry.id_number,
                defaults={"student": student, "name": entry.name, "township_id": entry.township_id,
                          "level": "township", "due_date": day + dt.timedelta(days=15),
                          "detail": {"kind": "census" if rule == "census" else "grade1"}})
    # 两一 (b): primary graduates not in grade 7, as the set-based sweep does.
    for s in Student.objects.filter(grade=6, birth_date__range=(lo, hi)).iterator(chunk_size=2000):
        if _status_on(s, day) != "graduated":
            continue
        Alert.objects.get_or_create(
            rule="entry", period=str(year), subject=s.id_number,
            defaults={"student": s, "name": s.name,
                      "township_id": s.hukou_township_id or s.school.township_id,
                      "level": "township", "due_date": day + dt.timedelta(days=15)})


if __name__ == "__main__":
    sys.exit(main())
