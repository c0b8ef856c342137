#!/usr/bin/env python
"""Dashboard server time on a county-sized database (issue 6).

Measures, in-process through Django's test client (no network), the median server time of the
county, township and school home pages: *cold* (dashboard cache cleared before each request)
and *warm* (served from the cache), plus the SQL query count of a cold county page.

Needs a seeded database; PostgreSQL with the 200,000-student demo county is the reference:

    createdb -h 127.0.0.1 -U postgres kongchuo_dash_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/kongchuo_dash_bench
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo --students 200000
    .venv/bin/python bench/bench_dashboards.py          # or: make bench

Without DATABASE_URL it uses DASH_BENCH_DATABASE_URL or the reference URL above, and refuses to
run against an empty database rather than seeding behind your back.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", os.environ.get(
    "DASH_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kongchuo_dash_bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kongchuo.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

COLD_RUNS = int(os.environ.get("DASH_BENCH_COLD", "15"))
WARM_RUNS = int(os.environ.get("DASH_BENCH_WARM", "50"))
TARGET_COLD_MS, TARGET_WARM_MS = 300, 50


def main() -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from students.models import Student, User

    students = Student.objects.count()
    if not students:
        print("database is empty: seed it first (see this script's docstring)")
        return 2
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    print(f"database: {connection.vendor} {settings.DATABASES['default']['NAME']} · "
          f"{students:,} students · cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}")

    ok = True
    for role in ("county", "township", "school"):
        user = User.objects.filter(role=role, is_active=True).order_by("pk").first()
        if user is None:
            print(f"{role}: no user")
            continue
        client = Client()
        client.force_login(user)
        client.get("/")  # warm the connection, templates, code paths
        cold, warm = [], []
        for _ in range(COLD_RUNS):
            cache.clear()
            t0 = time.perf_counter()
            response = client.get("/")
            cold.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.status_code
        for _ in range(WARM_RUNS):
            t0 = time.perf_counter()
            response = client.get("/")
            warm.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.status_code
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            client.get("/")
        cold_ms, warm_ms = statistics.median(cold), statistics.median(warm)
        verdict = "ok" if cold_ms < TARGET_COLD_MS and warm_ms < TARGET_WARM_MS else "SLOW"
        ok &= verdict == "ok" or role != "county"
        print(f"{role:9} cold median {cold_ms:7.1f} ms (p90 {sorted(cold)[int(len(cold) * .9) - 1]:.1f})"
              f" · warm median {warm_ms:6.1f} ms · {len(ctx.captured_queries)} queries cold · {verdict}")
    print(f"targets (county page): cold < {TARGET_COLD_MS} ms, warm < {TARGET_WARM_MS} ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
