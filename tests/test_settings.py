"""Production configuration passes Django's deployment checks without a warning."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(env_extra: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_DEBUG", "KONGCHUO_TESTING", "DJANGO_ALLOW_ASYNC_UNSAFE"}}
    env.update(env_extra)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_check_deploy_is_clean_in_production():
    result = _run({"DJANGO_DEBUG": "0", "SECRET_KEY": "x" * 20 + "a-real-production-secret-value-0123456789",
                   "ALLOWED_HOSTS": "kcbx.example.gov.cn"},
                  "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNING" not in result.stdout + result.stderr.replace("INFO", "")


def test_production_refuses_to_start_without_secret():
    result = _run({"DJANGO_DEBUG": "0", "SECRET_KEY": "", "ALLOWED_HOSTS": "x"}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_malformed_boolean_fails_loudly():
    result = _run({"DJANGO_DEBUG": "perhaps"}, "check")
    assert result.returncode != 0
    assert "DJANGO_DEBUG" in result.stderr


def test_collectstatic_works_with_production_storage(tmp_path):
    """whitenoise's manifest storage refuses vendored files that name missing source maps."""
    result = _run({"DJANGO_DEBUG": "0", "SECRET_KEY": "y" * 20 + "another-production-secret-0123456789-abc",
                   "ALLOWED_HOSTS": "kcbx.example.gov.cn", "STATIC_ROOT": str(tmp_path / "static")},
                  "collectstatic", "--noinput")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()


_LOCAL = {"DJANGO_DEBUG": "0", "KONGCHUO_LOCAL_HTTP": "1", "ALLOWED_HOSTS": "",
          "SECRET_KEY": "z" * 20 + "a-generated-local-secret-0123456789-abcdef"}
_SHOW = ("from django.conf import settings as s; print(s.DEBUG, s.SECURE_SSL_REDIRECT, "
         "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.KONGCHUO_REQUIRE_OTP, s.ALLOWED_HOSTS, "
         "s.STORAGES['staticfiles']['BACKEND'])")


def test_make_run_serves_production_settings_over_local_http():
    """`make run`: no debug pages (the product's 404/500), whitenoise's manifest storage, and
    nothing that needs TLS on 127.0.0.1 (no redirect, no Secure-only cookies)."""
    result = _run(_LOCAL, "shell", "--no-imports", "-c", _SHOW)
    assert result.returncode == 0, result.stderr
    out = result.stdout.strip().splitlines()[-1].split()
    assert out[:5] == ["False", "False", "False", "False", "False"], result.stdout
    assert "127.0.0.1" in result.stdout and "CompressedManifestStaticFilesStorage" in result.stdout


def test_local_http_is_refused_with_debug_on():
    result = _run({**_LOCAL, "DJANGO_DEBUG": "1"}, "check")
    assert result.returncode != 0
    assert "KONGCHUO_LOCAL_HTTP" in result.stderr


def test_the_product_answers_a_missing_page_with_its_own_404(client):
    """Not Django's technical 404 with the URL list, in every mode (DEBUG is off in tests)."""
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "页面不存在" in page and "URLconf" not in page


def test_favicon_is_served_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response["Content-Type"] == "image/x-icon"
