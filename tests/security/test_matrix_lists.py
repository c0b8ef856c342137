"""Item 2 over every list page: township A and school A open each page the matrix lets them open
without an object id, with school B, township B and B's student forged into the query string;
no page shows B's child (name or ID number) or B's school."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.security import matrix_registry as registry
from tests.security.scoping_matrix import client_for

pytestmark = pytest.mark.django_db


def _list_entries() -> list:
    """One entry per URL pattern without parameters (lists, home, exports of a scope)."""
    plain = {name for name, route in registry.walk() if name and "<" not in route}
    out, seen = [], set()
    for entry in registry.matrix_entries():
        if entry.url_name in plain and entry.url_name not in seen | {"logout", "set_language"}:
            seen.add(entry.url_name)
            out.append(entry)
    return out


LISTS = _list_entries()


@pytest.fixture
def marked(county):
    from tests.ledgers.conftest import make_entries

    type(county.s_b).objects.filter(pk=county.s_b.pk).update(name="乙校学生")
    county.s_b.refresh_from_db()
    make_entries(county.b_primary, county.s_b, county.school_b)
    make_entries(county.a_primary, county.s_a, county.school_a)
    return county


@pytest.mark.parametrize("who", ["township_a", "school_a"])
def test_list_pages_with_forged_filters_show_nothing_of_b(marked, who):
    from kongchuo.access.idnumbers import mask_id

    c = marked
    client = client_for(who, c)
    # Searches carry only part of B's values: a page echoing its query is not a leak.
    forged = (f"?school={c.b_primary.pk}&township={c.tb.pk}&student={c.s_b.pk}"
              f"&q={c.s_b.id_number[:14]}&search=乙校&name=乙校&id_number={c.s_b.id_number[:14]}")
    opened = 0
    for entry in LISTS:
        if not entry.allow.get(who) or "GET" not in entry.allow[who]:
            continue
        response = client.get(reverse(entry.url_name) + forged)
        if response.status_code != 200 or response.get("Content-Type", "").startswith("application/"):
            continue
        body = response.content.decode()
        leaks = [m for m in ("乙校学生", c.s_b.id_number, mask_id(c.s_b.id_number), c.b_primary.name)
                 if m in body]
        assert not leaks, (entry.url_name, leaks)
        opened += 1
    assert opened >= 15


def test_the_markers_are_seen_where_they_belong(marked):
    """The check can see a leak: the county's student list and school B's own ledger show them."""
    c = marked
    assert "乙校学生" in client_for("county_user", c).get(reverse("students:list")).content.decode()
    body = client_for("school_b", c).get(reverse("ledgers:aid")).content.decode()
    assert "乙校学生" in body
