"""Drill (issue 16): the two sides of a transfer act at the same moment — the sending school
confirms, the receiving school withdraws, the township refuses, each from its own connection.
Exactly one decision lands, the child is on exactly one roll, its history has exactly one
outcome. Real PostgreSQL, real commits and row locks."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from students.models import StatusChange, Student, TransferRequest
from students.services import StaleEdit
from students.transfers import transfer_confirm, transfer_refuse, transfer_request_create, transfer_withdraw
from tests.factories import StudentFactory
from tests.integration.conftest import _require_broker

pytestmark = pytest.mark.integration
ROUNDS = 8


def _act(barrier, t, won, errors, name, fn, kw) -> None:
    try:
        barrier.wait(timeout=30)
        fn(transfer=t, expected_version=t.version, **kw)
        won.append(name)
    except StaleEdit:
        pass
    except BaseException as exc:  # noqa: BLE001 - reported by the main thread
        errors.append(exc)
    finally:
        connection.close()


def _race(t, actors) -> tuple[list[str], list[BaseException]]:
    """Each actor's decision on `t` from its own thread and connection, released together."""
    barrier = threading.Barrier(len(actors))
    won: list[str] = []
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_act, args=(barrier, t, won, errors, name, fn, kw))
               for name, fn, kw in actors]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=60)
    return won, errors


def test_a_transfer_decided_from_three_places_at_once_is_decided_once(transactional_db, county):
    _require_broker()
    outcomes = []
    for n in range(ROUNDS):
        child = StudentFactory(school=county.b_primary, grade=3, name=f"竞争{n}")
        t = transfer_request_create(user=county.school_a, student=child, to_school=county.a_primary,
                                    direction="in", grade=3, reason="随迁")
        won, errors = _race(t, [
            ("confirm", transfer_confirm, {"user": county.school_b}),
            ("withdraw", transfer_withdraw, {"user": county.school_a}),
            ("refuse", transfer_refuse, {"user": county.township_b, "note": "不同意"}),
        ])
        assert not errors, errors
        assert len(won) == 1, won
        child.refresh_from_db()
        state = TransferRequest.objects.get(pk=t.pk).state
        history = list(StatusChange.objects.filter(student=child).order_by("pk").values_list("kind", flat=True))
        if won == ["confirm"]:
            assert (state, child.school_id, child.status) == ("confirmed", county.a_primary.pk, "enrolled")
            assert history == ["transfer_request", "transfer_out"]
        else:
            assert state == {"withdraw": "withdrawn", "refuse": "refused"}[won[0]]
            assert (child.school_id, child.status) == (county.b_primary.pk, "enrolled")
            assert history == ["transfer_request", "transfer_cancel"]
        assert Student.objects.filter(id_number=child.id_number).count() == 1
        outcomes.append(won[0])
    print(f"{ROUNDS} races: {', '.join(outcomes)}")
