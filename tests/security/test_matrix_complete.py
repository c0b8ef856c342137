"""Issue 7, item 1: a URL pattern with no entry in the scoping matrix fails the build.

The registry (matrix_registry.py) collects the ENTRIES of every matrix module; the walk over
`get_resolver()` must find each non-admin pattern among them (the admin site is one family, swept
pattern by pattern in test_matrix_site.py). The second test proves the check bites: a fake URL
conf with one extra pattern (and one nameless pattern) fails it, naming both.
"""

from __future__ import annotations

import types

import pytest
from django.http import HttpResponse
from django.test import override_settings
from django.urls import get_resolver, path

from tests.security import matrix_registry as registry


def test_every_url_pattern_has_a_matrix_entry():
    patterns = list(registry.walk())
    portal = [(n, r) for n, r in patterns if not registry.is_admin(n, r)]
    assert len(portal) >= 90  # the walk reached every included app
    assert registry.uncovered() == []


def test_every_entry_names_a_real_pattern():
    names = {n for n, _r in registry.walk() if n}
    stale = sorted({e.url_name for e in registry.matrix_entries()} - names)
    assert stale == []
    assert set(registry.COVERED_ELSEWHERE) <= names


def test_the_admin_family_is_every_admin_pattern():
    """Every pattern under admin/ belongs to the admin namespace's family (nothing slips in)."""
    admin = [(n, r) for n, r in registry.walk() if registry.is_admin(n, r)]
    assert len(admin) > 60
    assert all(r.startswith(registry.ADMIN_PREFIX) for _n, r in admin)


def _leaky(request, pk):  # pragma: no cover - never requested
    return HttpResponse(f"student {pk}")


def _fake_urlconf() -> types.ModuleType:
    from kongchuo import urls

    module = types.ModuleType("kongchuo_fake_urls")
    module.urlpatterns = [*urls.urlpatterns, path("leaky/<int:pk>/", _leaky, name="leaky"),
                          path("nameless/<int:pk>/", _leaky)]
    return module


def test_a_new_pattern_without_an_entry_fails():
    fake = _fake_urlconf()
    assert registry.uncovered(get_resolver(fake)) == ["leaky/<int:pk>/ (leaky)",
                                                      "nameless/<int:pk>/ (no name)"]


def test_a_new_pattern_in_the_root_urlconf_fails_the_completeness_test():
    fake = _fake_urlconf()
    with (override_settings(ROOT_URLCONF=fake),
          pytest.raises(AssertionError, match=r"leaky/<int:pk>/ \(leaky\)")):
        test_every_url_pattern_has_a_matrix_entry()
    assert registry.uncovered() == []  # the real URL conf is back


# --------------------------------------------------------------------------- the checker bites


def _writes_on_get(request):
    from django.http import Http404

    from students.models import LeadingGroupMember

    if getattr(request.user, "role", "") != "county":
        raise Http404
    LeadingGroupMember.objects.create(position="member", name="GET写入")
    return HttpResponse("ok")


@pytest.mark.django_db
def test_the_matrix_names_the_request_that_wrote(county):
    """A GET that writes is caught even inside a batch of requests checked together: the batch
    is rolled back and replayed one request at a time to name the culprit."""
    from tests.security.scoping_matrix import SAFE, Entry, check_entry

    module = types.ModuleType("kongchuo_fake_urls_writes")
    from kongchuo import urls

    module.urlpatterns = [*urls.urlpatterns, path("writes/", _writes_on_get, name="writes")]
    with override_settings(ROOT_URLCONF=module):
        entry = Entry("writes", allow={"county_user": SAFE | {"POST"}}, read_only=True)
        with pytest.raises(AssertionError, match=r"GET /writes/ as county_user changed the "
                                                 r"database: \['students.leadinggroupmember'\]"):
            check_entry(entry, county, roles=("township_a", "county_user", "school_b"),
                        methods=("GET", "POST"))
