"""Drill (issue 7, item 16): 50 threads edit one student at once — 0 lost updates, stale forms refused.

Each thread opens the record (reads version and a counter), adds one and saves with the version it
read, retrying after a refusal the way a clerk reloads the form. Real PostgreSQL, real commits.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from kongchuo.security.concurrency import StaleVersion, versioned_update
from students.models import Student
from tests.integration.conftest import _require_broker

pytestmark = pytest.mark.integration
THREADS = 50


def test_fifty_concurrent_editors_lose_nothing(transactional_db, county):
    _require_broker()
    student = county.s_a
    Student.objects.filter(pk=student.pk).update(address="0", version=1)
    barrier = threading.Barrier(THREADS)
    refused = [0] * THREADS
    errors: list[BaseException] = []

    def clerk(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(10_000):
                opened = Student.objects.values("address", "version").get(pk=student.pk)
                try:
                    versioned_update(Student.objects.visible_to(county.county_user), pk=student.pk,
                                     version=opened["version"],
                                     values={"address": str(int(opened["address"]) + 1)})
                    return
                except StaleVersion:
                    refused[i] += 1
            raise AssertionError("clerk never got through")
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=clerk, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    final = Student.objects.values("address", "version").get(pk=student.pk)
    print(f"{THREADS} editors: {sum(refused)} stale saves refused and retried")
    assert final == {"address": str(THREADS), "version": THREADS + 1}  # every edit landed once
    # A form opened before all that is refused, and changes nothing.
    with pytest.raises(StaleVersion):
        versioned_update(Student.objects, pk=student.pk, version=1, values={"address": "stale"})
    assert Student.objects.get(pk=student.pk).address == str(THREADS)
