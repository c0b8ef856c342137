"""The scoping matrix over the 学籍维护 URLs of issue 16: 新增学生, 编辑, 身份证件号更正, 转学 (list,
detail, confirm, refuse, withdraw, 转出登记), 名册缺失 and its export, 帮扶对象未入学, 转出县外 and
its 缺接收证明 list (帮扶对象未入学 sits with the retrieval URLs in tests/retrieval/test_cases_matrix.py).

Objects belong to school B / township B. A transfer between two schools of township B is seen
by both schools' sides (here: school B, township B, the county) and nobody else. POST bodies
carry school B's ids (forged for everyone else) and must write nothing where refused.
"""

from __future__ import annotations

import pytest

from students.models import RosterGap, TransferRequest
from tests.security.scoping_matrix import SAFE, Entry, check_entry

pytestmark = pytest.mark.django_db

STAFF = ("county_user", "township_a", "township_b", "school_a", "school_b")
B = ("county_user", "township_b", "school_b")
GP = SAFE | {"POST"}


def _transfer(c) -> dict:
    t = TransferRequest.objects.filter(student=c.s_b).first()
    if t is None:
        t = TransferRequest.objects.create(
            student=c.s_b, from_school=c.b_primary, to_school=c.b_center, direction="out",
            status_before="enrolled", grade=c.s_b.grade, reason="随迁", requested_on=c.s_b.created_at.date(),
            requested_by=c.school_b)
        type(c.s_b).objects.filter(pk=c.s_b.pk).update(status="transferring")
    return {"pk": t.pk}


def _forged(c) -> dict:
    return {"school": c.b_primary.pk, "student": c.s_b.pk, "name": c.s_b.name, "id_number": c.s_b.id_number,
            "grade": "4", "version": 1, "note": "伪造", "to_school": c.b_center.pk, "reason": "伪造",
            "requested_on": "2020-01-01"}


def _gap(c) -> str:
    RosterGap.objects.get_or_create(term="2026-spring", school=c.b_primary, student=c.s_b,
                                    defaults={"found_on": c.s_b.created_at.date()})
    return "?term=2026-spring"


ENTRIES = [
    Entry("students:new", allow=dict.fromkeys(STAFF, GP), data=_forged),
    Entry("students:edit", lambda c: {"pk": c.s_b.pk}, allow=dict.fromkeys(B, GP), data=_forged),
    Entry("students:correct_id", lambda c: {"pk": c.s_b.pk},
          allow={"county_user": GP, "township_b": GP}, data=_forged),
    Entry("students:transfer_out", lambda c: {"pk": c.s_b.pk}, allow=dict.fromkeys(B, GP), data=_forged),
    Entry("students:transfers", allow=dict.fromkeys(STAFF, SAFE), read_only=True),
    Entry("students:transfer", _transfer, allow=dict.fromkeys(B, SAFE), read_only=True),
    Entry("students:transfer_confirm", _transfer, allow=dict.fromkeys(B, {"POST"}), data=_forged,
          writers=frozenset({"county_user", "township_b"})),
    Entry("students:transfer_refuse", _transfer, allow=dict.fromkeys(B, {"POST"}), data=_forged,
          writers=frozenset({"county_user", "township_b"})),
    Entry("students:transfer_withdraw", _transfer, allow=dict.fromkeys(B, {"POST"}), data=_forged,
          writers=frozenset({"county_user", "township_b", "school_b"})),
    Entry("students:roster_gaps", allow=dict.fromkeys(STAFF, SAFE), read_only=True, query=_gap),
    Entry("students:roster_gaps_export", allow=dict.fromkeys(STAFF, {"POST"}), read_only=True, query=_gap),
    Entry("ledgers:transfer_out_of_county", allow=dict.fromkeys(("school_a", "school_b"), GP), data=_forged),
    Entry("ledgers:transfers_missing_proof", allow=dict.fromkeys(STAFF, SAFE), read_only=True),
]


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.url_name}-{i}" for i, e in enumerate(ENTRIES)])
def test_records_matrix(entry, county):
    rows = check_entry(entry, county)
    assert len(rows) == 8 * 6


def test_only_the_answering_side_decides(county, client_as):
    """School B recorded the 转出 (it asked): the receiving side confirms, school B may not."""
    from django.urls import reverse

    pk = _transfer(county)["pk"]
    r = client_as(county.school_b).post(reverse("students:transfer_confirm", args=[pk]), {"version": 1})
    assert r.status_code == 403
    assert TransferRequest.objects.get(pk=pk).state == "pending"


def test_a_forged_transfer_out_moves_nothing(county, client_as):
    """School A posting a 转出 of school B's child (forged ids) is refused and writes nothing."""
    from django.urls import reverse

    r = client_as(county.school_a).post(reverse("students:transfer_out", args=[county.s_b.pk]), _forged(county))
    assert r.status_code == 404 and not TransferRequest.objects.exists()
