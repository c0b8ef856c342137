#!/usr/bin/env python
"""Server time of the list and student pages on the 200,000-student county (issue 7, item 18).

In-process through Django's test client (no network), with production settings (DEBUG off,
cached template loader, persistent connection): for the county, township and school demo users,
every list page they open — student roster (first page, a deep page, filters, search, sorting),
schools, a township, a school, a student page and the ledger lists — the median wall time and
CPU time (this process + its PostgreSQL backend, parallel query off) of warm requests, and the
query count. `--explain` prints the slowest queries of each page (and EXPLAIN ANALYZE of them).

    .venv/bin/python bench/bench_lists.py [--runs 7] [--only students] [--explain]

Uses DASH_BENCH_URL (default postgres://postgres@127.0.0.1:5432/kongchuo_dash_bench), seeded by
bench/bench_dashboards.py; reads only (the test client's logins write session rows).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ["DATABASE_URL"] = os.environ.get(
    "DASH_BENCH_URL", "postgres://postgres@127.0.0.1:5432/kongchuo_dash_bench")
os.environ.pop("REDIS_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kongchuo.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("KONGCHUO_REQUIRE_OTP", "0")
os.environ.setdefault("KONGCHUO_TESTING", "1")  # plain static storage: no collectstatic needed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--only", default="", help="substring of the page label")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    sys.path.insert(0, str(ROOT / "bench"))
    from bench_dashboards import _Backend

    from ledgers.registry import LEDGER_NAMES
    from students.models import School, Student, User

    backend = _Backend(connection)
    users = {u.username: u for u in User.objects.filter(
        username__in=["demo_county", "demo_township", "demo_school"])}
    township_id = users["demo_township"].township_id
    school_id = users["demo_school"].school_id
    some_school = School.objects.filter(township_id=township_id, oversight="township").first()
    student = Student.objects.filter(school_id=school_id).order_by("pk").first()
    deep_student = Student.objects.filter(school__township_id=township_id,
                                          school__oversight="township").order_by("-pk").first()

    common = [
        ("students p1", "/students/"),
        ("students p30", "/students/?page=30"),
        ("students grade", "/students/?grade=3"),
        ("students status", "/students/?status=dropped_out"),
        ("students flag", "/students/?flag=is_poor"),
        ("students q name", "/students/?q=%E5%BC%A0"),
        ("students q initials", "/students/?q=zw"),
        ("students q id4", "/students/?q=1234"),
        ("students sort name", "/students/?sort=name"),
        ("students sort -grade p5", "/students/?sort=-grade&page=5"),
    ]
    ledgers = [(f"ledger {slug}", f"/ledgers/{slug}/") for slug in LEDGER_NAMES]
    pages = {
        "demo_county": common + [
            ("schools", "/students/schools/"),
            ("township", f"/students/townships/{township_id}/"),
            ("school", f"/students/schools/{some_school.pk}/"),
            ("student", f"/students/{deep_student.pk}/"),
        ] + ledgers,
        "demo_township": common + [
            ("schools", "/students/schools/"),
            ("township", f"/students/townships/{township_id}/"),
            ("school", f"/students/schools/{some_school.pk}/"),
            ("student", f"/students/{deep_student.pk}/"),
        ] + ledgers,
        "demo_school": common + [
            ("school", "/students/schools/mine/"),
            ("student", f"/students/{student.pk}/"),
        ] + ledgers,
    }
    print(f"database: {connection.settings_dict['NAME']} · "
          f"{Student.objects.count():,} students · load average {os.getloadavg()[0]:.2f}")
    print(f"{'user':14} {'page':26} {'wall ms':>8} {'cpu ms':>8} {'queries':>7}  status")
    for username, items in pages.items():
        client = Client()
        client.force_login(users[username])
        for label, url in items:
            if args.only and args.only not in label:
                continue
            response = client.get(url, secure=True)  # warm-up (and status)
            walls, cpus = [], []
            for _ in range(args.runs):
                c0, b0, t0 = time.process_time(), backend.cpu(), time.perf_counter()
                client.get(url, secure=True)
                walls.append(time.perf_counter() - t0)
                cpus.append(time.process_time() - c0 + backend.cpu() - b0)
            with CaptureQueriesContext(connection) as ctx:
                client.get(url, secure=True)
            print(f"{username:14} {label:26} {statistics.median(walls) * 1000:8.1f} "
                  f"{statistics.median(cpus) * 1000:8.1f} {len(ctx.captured_queries):7d}  "
                  f"{response.status_code}")
            if args.explain:
                slow = sorted(ctx.captured_queries, key=lambda q: -float(q["time"]))[:2]
                for q in slow:
                    if float(q["time"]) < 0.005:
                        continue
                    print(f"    {float(q['time']) * 1000:.1f} ms  {q['sql'][:600]}")
                    if q["sql"].lstrip().upper().startswith("SELECT"):
                        with connection.cursor() as cursor:
                            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                            for (line,) in cursor.fetchall():
                                print("      " + line)
            reset_queries()
    return 0


if __name__ == "__main__":
    sys.exit(main())
