"""Deployment as written (issue 19): the README's settings table is the code's, the Procfile, the
systemd units, gunicorn's configuration and the nginx site agree with each other and with the
settings, /healthz answers over plain HTTP, a superuser without a county role lands on the admin,
and every log line carries one time zone with its offset. `.ci/deploy-check` runs the whole
Production section on the CI machine; these are the fast checks that keep its pieces in line.
"""

from __future__ import annotations

import logging
import logging.config
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PY = ["kongchuo", "students", "ledgers", "retrieval", "dashboards"]
SHELL_FILES = ["Procfile", "scripts/backup.sh", "scripts/restore.sh", "deploy/install.sh",
               "deploy/manage", *[f"deploy/systemd/{n}" for n in
                                  ("kongchuo-web.service", "kongchuo-worker.service",
                                   "kongchuo-beat.service")]]
UNITS = ("kongchuo-web", "kongchuo-worker", "kongchuo-beat")

# Reads of the environment in Python: os.environ.get("X"), os.environ["X"] (not an assignment),
# os.getenv("X"), the settings' _int("X") / _bool("X"), django-environ's env.<type>("X").
_PY_READS = [
    re.compile(r"os\.environ\.get\(\s*[\"'](\w+)[\"']"),
    re.compile(r"os\.environ\[\s*[\"'](\w+)[\"']\s*\](?!\s*=[^=])"),
    re.compile(r"os\.getenv\(\s*[\"'](\w+)[\"']"),
    re.compile(r"\b_(?:int|bool)\(\s*[\"'](\w+)[\"']"),
    re.compile(r"\benv\.\w+\(\s*[\"'](\w+)[\"']"),
]
# ${NAME}, ${NAME:-default}, ${NAME:?message} in shell files and unit ExecStart= lines.
_SHELL_READS = re.compile(r"\$\{([A-Z][A-Z0-9_]*)(?:[:}?=+-])")


def _python_files():
    yield ROOT / "manage.py"
    yield ROOT / "gunicorn.conf.py"
    for package in PROJECT_PY:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def variables_read_by_the_code() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in _python_files():
        text = path.read_text()
        for pattern in _PY_READS:
            for name in pattern.findall(text):
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    for name in SHELL_FILES:
        for var in _SHELL_READS.findall((ROOT / name).read_text()):
            found.setdefault(var, set()).add(name)
    return found


def readme_table() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Configuration (environment)", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            names.update(n for n in re.findall(r"`([A-Z][A-Z0-9_]*)`", first_cell))
    return names


def test_the_scanner_finds_what_it_must():
    """The parser itself: the settings' helpers, os.environ, the Procfile and the scripts."""
    found = variables_read_by_the_code()
    for name in ("DJANGO_DEBUG", "SECRET_KEY", "DATABASE_URL", "PROXY_COUNT", "PORT",
                 "CELERY_CONCURRENCY", "BACKUP_DIR", "KONGCHUO_ENV_FILE", "WEB_CONCURRENCY"):
        assert name in found, name
    assert "DJANGO_SETTINGS_MODULE" not in found  # set (setdefault), not read as a setting
    assert "TZ" not in found  # gunicorn.conf.py writes it


def test_every_variable_the_code_reads_is_in_the_readme_table():
    found, table = variables_read_by_the_code(), readme_table()
    missing = {name: sorted(where) for name, where in found.items() if name not in table}
    assert not missing, f"read by the code but not in the README's configuration table: {missing}"


def test_every_variable_in_the_readme_table_is_read_by_the_code():
    stale = readme_table() - set(variables_read_by_the_code())
    assert not stale, f"in the README's configuration table but read nowhere: {sorted(stale)}"


def test_env_example_holds_no_secret_and_only_documented_variables():
    lines = [ln for ln in (ROOT / "deploy/env.example").read_text().splitlines()
             if ln and not ln.startswith("#")]
    values = dict(ln.split("=", 1) for ln in lines)
    assert values["SECRET_KEY"] == "replace-me"  # deploy/install.sh refuses to run with it
    assert values["DJANGO_DEBUG"] == "0"
    assert "@" not in values["DATABASE_URL"]  # peer authentication: no password in the file
    assert set(values) <= readme_table(), set(values) - readme_table()
    assert all(" " not in key and '"' not in value for key, value in values.items())


# -- Procfile, units, gunicorn ----------------------------------------------------------------------

def _procfile() -> dict[str, str]:
    return dict(line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line)


def _unit(name: str) -> dict[str, list[str]]:
    unit: dict[str, list[str]] = {}
    for line in (ROOT / f"deploy/systemd/{name}.service").read_text().splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            unit.setdefault(key, []).append(value)
    return unit


def test_procfile_runs_the_venv_binaries_on_loopback():
    procfile = _procfile()
    assert set(procfile) == {"web", "worker", "beat"}
    for command in procfile.values():
        assert shlex.split(command)[0].startswith(".venv/bin/"), command
        assert "0.0.0.0" not in command  # noqa: S104 - asserting its absence
    assert "-c gunicorn.conf.py" in procfile["web"]
    assert "--bind" not in procfile["web"]  # gunicorn.conf.py binds 127.0.0.1:$PORT


@pytest.mark.parametrize("name", UNITS)
def test_units_run_as_the_service_user_and_restart_on_failure(name):
    unit = _unit(name)
    assert unit["User"] == ["kongchuo"] and unit["Group"] == ["kongchuo"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["EnvironmentFile"] == ["/etc/kongchuo/env"]
    assert unit["WorkingDirectory"] == ["/srv/kongchuo"]
    assert unit["ExecStart"][0].startswith("/srv/kongchuo/.venv/bin/")
    assert unit["WantedBy"] == ["multi-user.target"]


@pytest.mark.parametrize("name", UNITS)
def test_units_run_what_the_procfile_runs(name):
    """The same command in both places: the venv's binary, the same arguments."""
    procfile = _procfile()[name.removeprefix("kongchuo-")]
    exec_start = _unit(name)["ExecStart"][0].replace("/srv/kongchuo/", "")
    assert exec_start == procfile.replace("${CELERY_CONCURRENCY:-2}", "${CELERY_CONCURRENCY}")
    if name == "kongchuo-worker":
        assert "CELERY_CONCURRENCY=2" in _unit(name)["Environment"]  # the Procfile's default


def _gunicorn_config(env: dict) -> dict[str, str]:
    out = subprocess.run([str(ROOT / ".venv/bin/gunicorn"), "-c", "gunicorn.conf.py", "--print-config",
                          "kongchuo.wsgi"], cwd=ROOT, env={**os.environ, **env},
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return {k.strip(): v.strip() for k, _, v in (ln.partition("=") for ln in out.stdout.splitlines())}


def test_gunicorn_binds_loopback_even_when_port_is_set():
    """gunicorn alone binds 0.0.0.0:$PORT when PORT is set (honcho sets it); ours never does."""
    assert _gunicorn_config({"PORT": "5000"})["bind"] == "['127.0.0.1:5000']"
    config = _gunicorn_config({"PORT": "", "WEB_CONCURRENCY": "3"})
    assert config["bind"] == "['127.0.0.1:8000']"
    assert config["workers"] == "3"
    assert config["control_socket_disable"] == "True"  # nothing written into the user's home


def test_gunicorn_logs_in_the_portal_time_zone(settings):
    from kongchuo.portal import logtime

    assert logtime.TIME_ZONE == settings.TIME_ZONE
    text = (ROOT / "gunicorn.conf.py").read_text()
    assert 'os.environ["TZ"] = TIME_ZONE' in text and "time.tzset()" in text


# -- nginx ------------------------------------------------------------------------------------------

def _nginx() -> str:
    return (ROOT / "deploy/nginx/kongchuo.conf").read_text()


def test_nginx_accepts_what_the_portal_accepts(settings):
    size = re.search(r"client_max_body_size (\d+)m;", _nginx())
    limit = int(size.group(1)) * 1024 * 1024
    # The upload limit plus the form around the file, no more than a few MB above it.
    assert settings.KONGCHUO_UPLOAD_MAX_BYTES < limit <= settings.KONGCHUO_UPLOAD_MAX_BYTES + 4 * 1024 * 1024


def test_nginx_sets_the_trusted_header_itself_and_proxies_to_loopback():
    conf = _nginx()
    proxied = conf.count("proxy_pass http://kongchuo_web;")
    assert proxied == 2  # /healthz on port 80, everything on 443
    assert conf.count("proxy_set_header X-Forwarded-Proto $scheme;") == proxied
    assert conf.count("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;") == proxied
    assert "server 127.0.0.1:8000;" in conf
    assert "location = /healthz" in conf
    assert "ssl_certificate     /etc/ssl/kongchuo/fullchain.pem;" in conf
    static_root = dict(ln.split("=", 1) for ln in (ROOT / "deploy/env.example").read_text().splitlines()
                       if ln and not ln.startswith("#"))["STATIC_ROOT"]
    assert f"alias {static_root}/;" in conf
    assert "media" not in re.sub(r"#.*", "", conf)  # uploads only through scoped views


def test_nginx_accepts_the_site(tmp_path):
    """nginx -t on the site as shipped (with a throwaway certificate at the placeholder paths)."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        if os.environ.get("CI"):
            pytest.fail("CI has nginx (.ci/deploy-check installs it before the tests)")
        pytest.skip("nginx not installed (.ci/deploy-check installs it in CI)")
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=kcbx.example.gov.cn", "-keyout", str(certs / "privkey.pem"),
                    "-out", str(certs / "fullchain.pem")], check=True, capture_output=True)
    site = _nginx().replace("/etc/ssl/kongchuo", str(certs))
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid; error_log {tmp_path}/error.log; events {{}}\n"
        f"http {{ include /etc/nginx/mime.types; include {tmp_path}/site.conf; }}\n")
    result = subprocess.run([nginx, "-t", "-c", str(tmp_path / "nginx.conf")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- production settings: /healthz ----------------------------------------------------------------------

def test_healthz_answers_over_plain_http_in_production():
    """Everything else is redirected to https; a monitor probing gunicorn gets 200 from /healthz."""
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_DEBUG", "KONGCHUO_TESTING"}}
    env.update(DJANGO_DEBUG="0", SECRET_KEY="h" * 20 + "production-secret-for-the-healthz-test-0123",
               ALLOWED_HOSTS="kcbx.example.gov.cn")
    probe = ("from django.test import Client; c = Client(); "
             "print(c.get('/healthz', HTTP_HOST='kcbx.example.gov.cn').status_code, "
             "c.get('/students/', HTTP_HOST='kcbx.example.gov.cn').status_code)")
    result = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", probe],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["200", "301"], result.stdout


# -- the admin's users --------------------------------------------------------------------------------

@pytest.mark.django_db
def test_superuser_without_a_role_lands_on_the_admin(client, django_user_model):
    admin = django_user_model.objects.create_superuser("ops-admin", "ops@example.invalid", "A-long-pass-42x")
    client.force_login(admin)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"
    page = client.get("/admin/")
    assert page.status_code == 200


@pytest.mark.django_db
def test_user_without_a_role_still_gets_the_no_role_page(client, django_user_model):
    nobody = django_user_model.objects.create_user("nobody", password="A-long-pass-42x")
    client.force_login(nobody)
    response = client.get("/")
    assert response.status_code == 403
    assert "尚未分配角色" in response.content.decode()


# -- logs: one clock, with its offset -------------------------------------------------------------------

_CREATED = 1772410504.123  # 2026-03-02 00:15:04.123 UTC


def _record() -> logging.LogRecord:
    record = logging.LogRecord("kongchuo.test", logging.INFO, __file__, 1, "hello", None, None)
    record.created, record.msecs = _CREATED, 123.0
    return record


def test_django_log_lines_carry_the_zone_offset():
    from django.conf import settings as django_settings

    fmt = django_settings.LOGGING["formatters"]["plain"]
    formatter = logging.config.dictConfigClass({"version": 1}).configure_formatter(dict(fmt))
    assert formatter.format(_record()) == "2026-03-02T08:15:04.123+08:00 INFO kongchuo.test hello"


def test_celery_log_lines_get_the_same_clock():
    """Celery's worker and beat handlers: its layout (from the settings), the portal's clock."""
    from celery.utils.log import ColorFormatter

    from kongchuo.celery import app
    from kongchuo.portal.logtime import zone_celery_handlers

    logger = logging.getLogger("kongchuo.test.celery-clock")
    handler = logging.StreamHandler()
    handler.setFormatter(ColorFormatter(app.conf.worker_log_format, use_color=False))
    logger.addHandler(handler)
    try:
        zone_celery_handlers(logger=logger)
        line = handler.formatter.format(_record())
    finally:
        logger.removeHandler(handler)
    assert line == "2026-03-02T08:15:04.123+08:00 INFO MainProcess kongchuo.test hello"


def test_the_receivers_are_connected():
    from celery.signals import after_setup_logger, after_setup_task_logger

    from kongchuo.portal.logtime import zone_celery_handlers

    for signal in (after_setup_logger, after_setup_task_logger):
        assert zone_celery_handlers in [receiver for _, receiver in signal.receivers], signal


# -- beat's lock -----------------------------------------------------------------------------------------

def test_beat_takes_its_own_stale_lock_at_once_and_says_so_at_info(settings, caplog, monkeypatch):
    """A beat restarted under the same host and pid (a container, a pid namespace) found its
    previous run's lock and stood by behind itself, warning that its own pid held it."""
    url = os.environ.get("REDIS_URL", "")
    if not url:
        if os.environ.get("CI"):
            pytest.fail("CI must run this test: REDIS_URL is not set")
        pytest.skip("REDIS_URL not set: runs in CI")
    import socket
    import threading

    import redis

    from kongchuo.jobs import beat

    key = f"kongchuo:test-beat-lock:{os.getpid()}"
    monkeypatch.setattr(beat, "LOCK_KEY", key)
    settings.REDIS_URL, settings.KONGCHUO_BEAT_LOCK_TTL = url, 300
    client = redis.Redis.from_url(url)
    me = f"{socket.gethostname()}:{os.getpid()}"
    client.set(key, me, px=300_000)  # the previous run's lock, 5 minutes left
    scheduler = beat.LockedDatabaseScheduler.__new__(beat.LockedDatabaseScheduler)
    caplog.set_level(logging.INFO, logger="kongchuo.jobs.beat")
    worker = threading.Thread(target=scheduler._lock_acquire, daemon=True)
    try:
        worker.start()
        worker.join(timeout=30)  # a hang guard: standing by would wait the whole 300 s TTL
        assert not worker.is_alive(), "beat stood by behind its own stale lock"
        assert scheduler._lock is not None and client.get(key) == me.encode()
        messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "kongchuo.jobs.beat"]
        assert (logging.INFO, f"beat: {me} holds the single-beat lock (ttl 300s)") in messages
        assert not [m for level, m in messages if level >= logging.WARNING], messages
    finally:
        client.delete(key)


# -- translations: the committed catalog is the compiled .po -----------------------------------------

def test_committed_mo_matches_the_po():
    """Production compiles nothing (no gettext on the server): the .mo in git must be current."""
    import gettext

    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        if os.environ.get("CI"):
            pytest.fail("CI needs gettext's msgfmt (.ci/run installs it)")
        pytest.skip("msgfmt (gettext) not installed")
    folder = ROOT / "locale/en/LC_MESSAGES"
    ignored = subprocess.run(["git", "check-ignore", "-q", str(folder / "django.mo")], cwd=ROOT)
    assert ignored.returncode == 1, "the committed .mo must not be git-ignored"
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "django.mo"
        subprocess.run([msgfmt, "--check-format", "-o", str(fresh), str(folder / "django.po")], check=True)
        with fresh.open("rb") as a, (folder / "django.mo").open("rb") as b:
            assert gettext.GNUTranslations(a)._catalog == gettext.GNUTranslations(b)._catalog, \
                "locale/en/LC_MESSAGES/django.mo is stale: run make messages and commit it"
