"""A school's roster (1,500 rows) through the browser path, for bench_imports.py.

The real views through Django's test Client, as a school clerk: upload → preview (the POST of
the file, whose preview runs within the request, and the job page it redirects to), then
确认导入 → done (the confirm POST and the job page). A file this size is below
KONGCHUO_IMPORT_SYNC_BYTES, so no worker is involved, as in production.
"""

from __future__ import annotations

import time
from pathlib import Path

SCHOOL_ROWS = 1500


def school_students(make_students, school: tuple[str, str, int], n: int = SCHOOL_ROWS) -> list[dict]:
    """n generated children, all of one school."""
    return [dict(s, school=school) for s in make_students(n, seed=11)]


def phase_browser(path: str) -> dict:
    """Time upload → preview and confirm → done for a school user on the bench database."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from kongchuo.models import Job
    from students.models import School, Student

    school = School.objects.order_by("code").first()
    user, _created = get_user_model().objects.get_or_create(
        username="bench_school_clerk", defaults={"role": "school", "school": school})
    client = Client()
    client.force_login(user)
    steps = {}
    started = time.perf_counter()
    with open(path, "rb") as fh:
        response = client.post(reverse("imports:kind", args=["roster"]), {"file": fh}, follow=True)
    steps["preview"] = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    job = Job.objects.filter(kind="import:roster").order_by("-pk").first()
    assert job is not None and job.result.get("phase") == "dry_run", job and job.result
    started = time.perf_counter()
    response = client.post(reverse("imports:confirm", args=[job.pk]), {"mode": "all"}, follow=True)
    steps["done"] = time.perf_counter() - started
    assert response.status_code == 200, response.status_code
    job.refresh_from_db()
    return {"preview": steps["preview"], "done": steps["done"], "phase": job.result.get("phase"),
            "created": job.result.get("created", 0), "rows": job.result.get("rows", 0),
            "students": Student.objects.filter(school=school).count(), "vendor": connection.vendor,
            "file_kb": round(Path(path).stat().st_size / 1024)}
