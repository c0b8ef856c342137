"""The scoping matrix, first entries: the students app's URLs (issue 7, items 1–3).

Objects belong to township B / school B; every role is tried with every method. The other URLs'
entries live next to them (see matrix_registry.py, which test_matrix_complete.py checks against
every URL pattern).
"""

from __future__ import annotations

import pytest

from students.models import LeadingGroupMember, School
from tests.security.scoping_matrix import ALL, SAFE, Entry, assert_get_never_writes, check_entry

pytestmark = pytest.mark.django_db

STAFF = ("county_user", "township_a", "township_b", "school_a", "school_b")


def _member(c):
    return {"pk": LeadingGroupMember.objects.create(position="member", name="测试成员").pk}


MANAGERS = ("county_user", "township_a", "township_b")
MANAGE_B = ("county_user", "township_b")
GP = frozenset({"GET", "HEAD", "POST"})

FORGED_SCHOOL = {"principal_name": "伪造", "principal_phone": "13900000000", "clerk_name": "伪造",
                 "clerk_phone": "13900000001", "school": "1", "school_id": "1", "township": "1"}

ENTRIES = [
    Entry("students:list", allow=dict.fromkeys(STAFF, ALL), read_only=True),
    Entry("students:detail", lambda c: {"pk": c.s_b.pk},
          allow={"county_user": ALL, "township_b": ALL, "school_b": ALL}, read_only=True),
    Entry("students:reveal", lambda c: {"pk": c.s_b.pk}, allow={"county_user": {"POST"}},
          data=lambda c: {"field": "id_number", "reason": "核对学籍信息"}, read_only=True),
    Entry("students:schools", allow=dict.fromkeys(("county_user", "township_a", "township_b"), ALL),
          read_only=True),
    Entry("students:my_school", allow={"school_a": SAFE, "school_b": SAFE}),
    Entry("students:school", lambda c: {"pk": c.b_primary.pk},
          allow={"county_user": SAFE | {"POST"}, "township_b": SAFE | {"POST"}, "school_b": SAFE},
          data=lambda c: FORGED_SCHOOL),
    Entry("students:school", lambda c: {"pk": c.direct.pk},  # county-direct: no township sees it
          allow={"county_user": SAFE | {"POST"}}, data=lambda c: FORGED_SCHOOL),
    Entry("students:township", lambda c: {"pk": c.tb.pk},
          allow={"county_user": ALL, "township_b": ALL}, read_only=True),
    Entry("students:county", allow={"county_user": SAFE | {"POST"}}, data=lambda c: {"name": ""}),
    Entry("students:leading_group_remove", _member, allow={"county_user": {"POST"}}),
    # 用户管理: the county, and a township center school for its own schools' accounts; the
    # target is school B's account, the forged ids point at township A's school.
    Entry("students:users", allow=dict.fromkeys(MANAGERS, SAFE), read_only=True),
    Entry("students:user_new", allow=dict.fromkeys(MANAGERS, GP),
          data=lambda c: {"username": "forged_new", "first_name": "伪造", "role": "school",
                          "school": c.b_primary.pk}, writers=frozenset({"county_user", "township_b"})),
    Entry("students:user", lambda c: {"pk": c.school_b.pk}, allow=dict.fromkeys(MANAGE_B, GP),
          data=lambda c: {"first_name": "伪造", "role": "school", "school": c.a_primary.pk},
          writers=frozenset({"county_user"})),
    Entry("students:user_active", lambda c: {"pk": c.school_b.pk},
          allow=dict.fromkeys(MANAGE_B, {"POST"}), data=lambda c: {"active": "0"}),
    Entry("students:user_password_reset", lambda c: {"pk": c.school_b.pk},
          allow=dict.fromkeys(MANAGE_B, {"POST"})),
    Entry("students:user_otp_reset", lambda c: {"pk": c.school_b.pk}, allow={"county_user": {"POST"}}),
    Entry("students:user_unlock", lambda c: {"pk": c.school_b.pk}, allow={"county_user": {"POST"}}),
    Entry("students:user_password", allow=dict.fromkeys(MANAGERS, SAFE), read_only=True),
    # The school year (issue 16): the 留级 list on the student page; a primary school's 对口初中
    # (the level above the school sets it).
    Entry("students:repeat", lambda c: {"pk": c.s_b.pk},
          allow=dict.fromkeys(("county_user", "township_b", "school_b"), {"POST"}),
          data=lambda c: {"reason": "家长申请"}),
    Entry("students:school_junior", lambda c: {"pk": c.b_primary.pk},
          allow=dict.fromkeys(("county_user", "township_b"), {"POST"}),
          data=lambda c: {"junior_school": c.b_center.pk}),
    Entry("audit_list", allow={"county_user": SAFE}, read_only=True),
]


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e.url_name}-{i}" for i, e in enumerate(ENTRIES)])
def test_scoping_matrix(entry, county):
    rows = check_entry(entry, county)
    # The matrix really ran: every role × method pair was requested.
    assert len(rows) == 8 * 6


def test_forged_school_post_moves_nothing_out_of_scope(county, client):
    """Township A posting school B's responsibility form (with forged ids) changes nothing."""
    client.force_login(county.township_a)
    before = School.objects.get(pk=county.b_primary.pk)
    response = client.post(f"/students/schools/{county.b_primary.pk}/", FORGED_SCHOOL)
    assert response.status_code == 404
    after = School.objects.get(pk=county.b_primary.pk)
    assert (after.principal_name, after.principal_phone) == (before.principal_name, before.principal_phone)


def test_matrix_catches_a_write(county, client):
    """The helper is not a rubber stamp: an allowed POST that writes is seen as a change."""
    from tests.security.scoping_matrix import assert_db_unchanged, db_fingerprint

    before = db_fingerprint()
    LeadingGroupMember.objects.create(position="member", name="新成员")
    with pytest.raises(AssertionError, match="students.leadinggroupmember"):
        assert_db_unchanged(before, "a write")


def test_matrix_catches_an_allowed_role_leak(county):
    """An entry that wrongly allows nobody fails where a role can in fact read the page."""
    with pytest.raises(AssertionError, match="expected 403/404/405"):
        check_entry(Entry("students:detail", lambda c: {"pk": c.s_b.pk}), county,
                    roles=("county_user",), methods=("GET",))


@pytest.mark.parametrize("url_name", ["students:list", "students:schools", "students:users", "home"])
def test_get_never_writes(url_name, county, client):
    from django.urls import reverse

    client.force_login(county.county_user)
    assert_get_never_writes(client, reverse(url_name))
