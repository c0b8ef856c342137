"""The database's own share of a county's first roster load, for bench_imports.py.

The students a first import has just written are written again from a copy held in the
database: the same rows in the same order, with their history rows, through every index, check
constraint and foreign key of the live tables, in one transaction. No file, no staging table,
no diff, no Python per row. Every first load through the one staging-and-merge path
(students/imports/roster_pg.py) pays at least this, and pays it after calamine has read the whole
sheet (calamine yields no row before it holds them all), so calamine's read plus this is a bound
no first load on the same machine can go under, however fast the checking.
"""

from __future__ import annotations

import time

from meters import Meter

STUDENTS, HISTORY = "students_student", "students_historicalstudent"


def phase_write_floor() -> dict:
    """Time writing back the students and history rows that are in the bench database now; they
    are there again afterwards, with the same ids (the re-import phases start from them)."""
    from django.db import connection, transaction

    with connection.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE _wf_students AS SELECT * FROM {STUDENTS}")
        cur.execute(f"CREATE TEMP TABLE _wf_history AS SELECT * FROM {HISTORY}")
        cur.execute("SELECT count(*) FROM _wf_students")
        rows = cur.fetchone()[0]
    times = {}
    meter = Meter(connection)
    with meter:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"TRUNCATE {STUDENTS}, {HISTORY} CASCADE")
            cur.execute(f"INSERT INTO {STUDENTS} SELECT * FROM _wf_students ORDER BY school_id, grade, class_name")
            times["students"] = time.perf_counter() - started
            cur.execute(f"INSERT INTO {HISTORY} SELECT * FROM _wf_history")
            times["history"] = time.perf_counter() - started - times["students"]
            before_commit = time.perf_counter()
        times["commit"] = time.perf_counter() - before_commit  # the deferred foreign-key checks
    with connection.cursor() as cur:
        cur.execute("DROP TABLE _wf_students, _wf_history")
    return {**meter.as_dict(), "rows": rows, **{k: round(v, 2) for k, v in times.items()}}
