"""Headers, CSRF and error pages (issue 7, items 7, 8 and 9)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, path

from kongchuo.access.models import AuditEvent

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


# -- item 7: CSP and caching -------------------------------------------------------------------------


def _csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d for d in (p.strip() for p in header.split(";")) if d}


@pytest.mark.parametrize("url", ["/accounts/login/", "/students/", "/students/schools/"])
def test_csp_forbids_framing_and_inline_script(url, county, client):
    client.force_login(county.county_user)
    directives = _csp(client.get(url))
    assert directives["frame-ancestors"] == "frame-ancestors 'none'"
    script = directives.get("script-src", directives["default-src"])
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "'unsafe-inline'" not in directives.get("style-src", "")
    assert directives["object-src"] == "object-src 'none'"


def test_pages_with_personal_data_are_not_stored(county, client):
    client.force_login(county.township_a)
    for url in ("/students/", f"/students/{county.s_a.pk}/", "/"):
        assert client.get(url)["Cache-Control"] == "no-store", url


def test_static_files_stay_cacheable(county, client):
    client.force_login(county.county_user)
    response = client.get("/static/css/portal.css")
    assert response.get("Cache-Control", "") != "no-store"


def test_templates_have_no_inline_script_or_style():
    """CSP blocks inline code: templates carry none (scripts come from static/js)."""
    offenders = []
    for template in (ROOT / "templates").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b[^>]*>", text, flags=re.I):
            if "src=" not in match.group(0):
                offenders.append(f"{template}: inline <script>")
        if re.search(r"\sstyle\s*=", text, flags=re.I):
            offenders.append(f"{template}: style=")
        if re.search(r"\son[a-z]+\s*=\s*[\"']", text, flags=re.I):
            offenders.append(f"{template}: inline event handler")
    assert offenders == []


# -- item 8: CSRF everywhere, GET never writes ------------------------------------------------------


def _walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p.callback


def test_no_view_is_csrf_exempt():
    views = list(_walk(get_resolver().url_patterns))
    assert len(views) > 20  # the walk reached the included apps and the admin
    exempt = [route for route, callback in views if getattr(callback, "csrf_exempt", False)]
    assert exempt == []


def test_the_walk_would_see_an_exempt_view():
    from django.views.decorators.csrf import csrf_exempt

    @csrf_exempt
    def hole(request):  # pragma: no cover - never called
        return None

    views = list(_walk([path("x/", hole)]))
    assert getattr(views[0][1], "csrf_exempt", False)


def test_post_without_token_is_refused_and_audited(county):
    client = Client(enforce_csrf_checks=True)
    client.force_login(county.county_user)
    response = client.post("/students/county/", {"position": "member", "name": "伪造", "order": 1})
    assert response.status_code == 403
    assert "页面已过期".encode() in response.content
    event = AuditEvent.objects.get(action="csrf_failure")
    assert event.username == "u_county" and event.detail["method"] == "POST"
    from students.models import LeadingGroupMember

    assert not LeadingGroupMember.objects.filter(name="伪造").exists()


def test_post_with_token_passes(county):
    client = Client(enforce_csrf_checks=True)
    client.force_login(county.county_user)
    client.get("/students/county/")
    token = client.cookies["csrftoken"].value
    response = client.post("/students/county/", {"position": "member", "name": "真成员", "order": 1,
                                                  "csrfmiddlewaretoken": token})
    assert response.status_code == 302


def test_login_form_needs_csrf_too():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/login/", {"username": "a", "password": "b"}).status_code == 403


# -- item 9: errors -----------------------------------------------------------------------------------


def boom(request):
    raise RuntimeError("db password is hunter2 and id 341522200803211234")


urlpatterns = [path("boom/", boom)]


@pytest.mark.urls("tests.security.test_http")
def test_server_error_shows_no_trace_or_secret(settings, county):
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    response = client.get("/boom/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "系统错误" in body
    for leak in ("Traceback", "RuntimeError", "hunter2", "341522200803211234", settings.SECRET_KEY,
                 "DATABASES", "boom"):
        assert leak not in body


def test_missing_and_out_of_scope_answer_alike(county, client):
    client.force_login(county.school_a)
    missing = client.get("/students/999999/")
    foreign = client.get(f"/students/{county.s_b.pk}/")
    assert missing.status_code == foreign.status_code == 404
    assert [t.name for t in missing.templates][:1] == [t.name for t in foreign.templates][:1] == ["404.html"]
    def strip(response):  # the masked CSRF token differs per response; the path is echoed
        text = re.sub(r'(X-CSRFToken": "|name="csrfmiddlewaretoken" value=")[^"]+', "", response.content.decode())
        return re.sub(r"/students/\d+/", "/students/N/", text)

    assert strip(missing) == strip(foreign)
    assert county.s_b.name not in foreign.content.decode()


@pytest.mark.parametrize("url_kind", ["school", "township"])
def test_other_objects_404_out_of_scope(url_kind, county, client):
    client.force_login(county.township_a)
    url = {"school": f"/students/schools/{county.b_primary.pk}/",
           "township": f"/students/townships/{county.tb.pk}/"}[url_kind]
    assert client.get(url).status_code == 404
    assert client.get(url.replace(str(county.b_primary.pk if url_kind == "school" else county.tb.pk),
                                  "987654")).status_code == 404


def test_forbidden_is_audited_and_rendered(county, client):
    client.force_login(county.school_a)
    response = client.get("/students/users/")
    assert response.status_code == 403
    assert "无权访问".encode() in response.content
    event = AuditEvent.objects.get(action="forbidden")
    assert (event.username, event.outcome, event.detail["path"]) == ("u_school_a", "denied", "/students/users/")
