#!/usr/bin/env python
"""The 劝返 workflow's reads at county scale (issue 5, part B).

Measures the median server time and SQL query count of the pages every user opens daily (alert
inbox, case list, to-do inbox, approvals, rule quality) and of `overdue_cases()` (the `overdue`
sweep's source), on a seeded county with a year's worth of workflow rows.

Needs the demo county (200,000 students is the reference):

    createdb -h 127.0.0.1 -U postgres kongchuo_retrieval_bench
    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/kongchuo_retrieval_bench
    .venv/bin/python manage.py migrate && .venv/bin/python manage.py seed_demo --students 200000
    .venv/bin/python bench/bench_retrieval_workflow.py      # or: make bench

Production-like timings (cached templates) need the production switches, e.g.
DJANGO_DEBUG=0 KONGCHUO_TESTING=1 KONGCHUO_REQUIRE_OTP=0 SECRET_KEY=… ALLOWED_HOSTS=testserver.

If the database holds no 劝返 cases yet, the script adds synthetic workflow rows once, set-based
(RETRIEVAL_BENCH_ALERTS alerts, default 20,000: 40 % confirmed into cases with three attempts
each, 40 % dismissed, the rest open; a tenth of the cases escalated). It never touches a database
that has no students.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", os.environ.get(
    "RETRIEVAL_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kongchuo_retrieval_bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kongchuo.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")

N_ALERTS = int(os.environ.get("RETRIEVAL_BENCH_ALERTS", "20000"))
RUNS = int(os.environ.get("RETRIEVAL_BENCH_RUNS", "10"))
TARGET_MS = 500  # a page a clerk opens every morning


def populate(n_alerts: int) -> None:
    """Synthetic alerts, decisions, cases, attempts and escalations, written in bulk."""
    import random

    from django.db import transaction
    from django.utils import timezone

    from retrieval.models import Alert, AlertDecision, Escalation, PersuasionAttempt, RetrievalCase
    from students.models import Student, User

    rng = random.Random(5)
    signer = User.objects.filter(role="county").order_by("pk").first()
    students = list(Student.objects.order_by("?").values(
        "pk", "id_number", "name", "school_id", "school__township_id", "grade")[:n_alerts])
    now = timezone.now()
    today = timezone.localdate()
    t0 = time.perf_counter()
    with transaction.atomic():
        alerts = []
        for i, s in enumerate(students):
            r = rng.random()
            status = "confirmed" if r < 0.4 else "dismissed" if r < 0.8 else "open"
            alerts.append(Alert(rule="return_check" if i % 3 else "absence", period="bench-2026",
                                subject=s["id_number"], student_id=s["pk"], name=s["name"],
                                school_id=s["school_id"], township_id=s["school__township_id"],
                                level="school", status=status,
                                due_date=today + dt.timedelta(days=10),
                                closed_at=None if status == "open" else now))
        Alert.objects.bulk_create(alerts, batch_size=2000)
        by_subject = {a.subject: a for a in Alert.objects.filter(period="bench-2026")}
        cases, decisions = [], []
        for s in students:
            a = by_subject[s["id_number"]]
            if a.status == "confirmed":
                cases.append(RetrievalCase(
                    student_id=s["pk"], id_number=s["id_number"], name=s["name"],
                    school_id=s["school_id"], township_id=s["school__township_id"], grade=s["grade"],
                    reason=rng.choice(RetrievalCase.Reason.values), opened_by=signer,
                    status="escalated" if rng.random() < 0.1 else "open"))
        RetrievalCase.objects.bulk_create(cases, batch_size=2000)
        case_of = dict(RetrievalCase.objects.values_list("id_number", "pk"))
        attempts, escalations, links = [], [], []
        through = RetrievalCase.alerts.through
        for s in students:
            a = by_subject[s["id_number"]]
            if a.status == "dismissed":
                decisions.append(AlertDecision(
                    alert=a, kind="dismiss", reason="in_school", note="bench", decided_by=signer,
                    decided_level="school", review_level="township",
                    review_status="pending" if rng.random() < 0.3 else "upheld"))
            elif a.status == "confirmed":
                cid = case_of[s["id_number"]]
                decisions.append(AlertDecision(alert=a, kind="confirm", decided_by=signer,
                                               decided_level="school", case_id=cid))
                links.append(through(retrievalcase_id=cid, alert_id=a.pk))
                for k in range(3):
                    attempts.append(PersuasionAttempt(
                        case_id=cid, attempted_on=today - dt.timedelta(days=rng.randint(0, 40) + k),
                        people="班主任", method="home_visit", result="bench",
                        outcome="failed" if k == 2 else "continuing", recorded_by=signer))
        AlertDecision.objects.bulk_create(decisions, batch_size=2000)
        through.objects.bulk_create(links, batch_size=2000)
        PersuasionAttempt.objects.bulk_create(attempts, batch_size=5000)
        for c in RetrievalCase.objects.filter(status="escalated").values("pk", "township_id"):
            escalations.append(Escalation(case_id=c["pk"], township_id=c["township_id"], note="bench",
                                          deadline=today - dt.timedelta(days=rng.randint(-10, 10)),
                                          escalated_by=signer))
        Escalation.objects.bulk_create(escalations, batch_size=2000)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cur:  # fresh statistics, as autovacuum would give a live county
            cur.execute("ANALYZE")
    print(f"populated: {len(alerts):,} alerts, {len(cases):,} cases, {len(attempts):,} attempts, "
          f"{len(escalations):,} escalations in {time.perf_counter() - t0:.1f}s")


def main() -> int:
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from retrieval.cases.selectors import overdue_cases
    from retrieval.inbox import inbox_for
    from retrieval.models import Alert, RetrievalCase
    from students.models import Student, User

    students = Student.objects.count()
    if not students:
        print("database is empty: seed it first (see this script's docstring)")
        return 2
    if not RetrievalCase.objects.exists():
        populate(N_ALERTS)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    print(f"database: {connection.vendor} {settings.DATABASES['default']['NAME']} · {students:,} students"
          f" · {Alert.objects.count():,} alerts · {RetrievalCase.objects.count():,} cases")

    def timed(fn):
        fn()  # warm
        samples = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            fn()
            samples.append((time.perf_counter() - t0) * 1000)
        with CaptureQueriesContext(connection) as ctx:
            fn()
        return statistics.median(samples), len(ctx.captured_queries)

    ok = True
    today = timezone.localdate()
    ms, q = timed(lambda: overdue_cases(today))
    n = len(overdue_cases(today))
    print(f"overdue_cases(today): {n:,} overdue · median {ms:.0f} ms · {q} queries")
    pages = {
        "county": ["/retrieval/alerts/", "/retrieval/alerts/?status=open&rule=return_check",
                   "/retrieval/cases/", "/retrieval/inbox/", "/retrieval/approvals/",
                   "/retrieval/quality/"],
        "township": ["/retrieval/alerts/", "/retrieval/cases/", "/retrieval/inbox/",
                     "/retrieval/approvals/"],
        "school": ["/retrieval/alerts/", "/retrieval/cases/", "/retrieval/inbox/"],
        "township_gov": ["/retrieval/cases/", "/retrieval/inbox/"],
    }
    for role, urls in pages.items():
        user = User.objects.filter(role=role, is_active=True).order_by("pk").first()
        if user is None:
            print(f"{role}: no user")
            continue
        client = Client()
        client.force_login(user)
        ms, q = timed(lambda u=user: inbox_for(u, today))
        print(f"{role:<13} inbox_for(): median {ms:6.0f} ms · {q:2d} queries")
        for url in urls:
            def get(url=url, client=client):
                response = client.get(url, secure=True)  # production settings redirect http
                assert response.status_code == 200, (url, response.status_code)
            ms, q = timed(get)
            flag = "" if ms <= TARGET_MS else f"  > {TARGET_MS} ms"
            ok = ok and ms <= TARGET_MS
            print(f"{role:<13} {url:<50} median {ms:6.0f} ms · {q:2d} queries{flag}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
