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
