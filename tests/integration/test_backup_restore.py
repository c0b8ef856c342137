"""Drill (issue 7, item 17): `make backup` then `make restore` into a scratch database; row counts
and checksums of the key tables match, and the restored audit table is still append-only."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import psycopg2
import pytest
from django.conf import settings

from kongchuo.access.audit import audit_record
from tests.factories import StudentFactory
from tests.integration.conftest import _require_broker, _worker_env

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KEY_TABLES = ["students_township", "students_school", "students_student", "students_statuschange",
              "students_user", "kongchuo_auditevent", "kongchuo_job", "django_migrations"]


def _connect(dbname: str, autocommit: bool = False):
    db = settings.DATABASES["default"]
    conn = psycopg2.connect(dbname=dbname, user=db["USER"] or "postgres", password=db["PASSWORD"] or None,
                            host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432)
    conn.autocommit = autocommit
    return conn


def _fingerprint(dbname: str) -> dict[str, tuple[int, str]]:
    out = {}
    with _connect(dbname) as conn, conn.cursor() as cur:
        for table in KEY_TABLES:
            cur.execute(f"SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) "
                        f"FROM {table} t")
            out[table] = cur.fetchone()
    return out


@pytest.fixture
def scratch_db():
    name = f"{settings.DATABASES['default']['NAME']}_restore"
    admin = _connect("postgres", autocommit=True)
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    yield name
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def _url(dbname: str) -> str:
    base = _worker_env()["DATABASE_URL"]
    return base.rsplit("/", 1)[0] + f"/{dbname}"


def test_backup_restore_round_trip(transactional_db, county, scratch_db, tmp_path):
    _require_broker()
    StudentFactory.create_batch(200, school=county.a_primary, address="甲镇东岗村")
    for i in range(20):
        audit_record(action="export", user=county.county_user, detail={"rows": i})
    media = tmp_path / "media"
    (media / "attachments").mkdir(parents=True)
    (media / "attachments" / "evidence.pdf").write_bytes(b"%PDF-1.4 test")
    source = settings.DATABASES["default"]["NAME"]
    env = {**os.environ, "DATABASE_URL": _url(source), "BACKUP_DIR": str(tmp_path / "backups"),
           "MEDIA_ROOT": str(media)}

    backup = subprocess.run(["make", "-s", "backup"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    assert backup.returncode == 0, backup.stderr
    dump = Path(backup.stdout.strip().splitlines()[-1])
    assert dump.name.startswith("kongchuo-") and dump.suffix == ".dump" and dump.stat().st_size > 0
    assert dump.with_name(dump.name + ".sha256").exists()
    assert list(dump.parent.glob("kongchuo-media-*.tar.gz"))

    restore_env = {**env, "RESTORE_DATABASE_URL": _url(scratch_db)}
    for _ in range(2):  # restoring over a restored database works too (--clean)
        restore = subprocess.run(["make", "-s", "restore", f"FILE={dump}", "YES=1"], cwd=ROOT,
                                 env=restore_env, capture_output=True, text=True, timeout=600)
        assert restore.returncode == 0, restore.stderr

    expected = _fingerprint(source)
    assert expected["students_student"][0] == 204
    assert _fingerprint(scratch_db) == expected

    with _connect(scratch_db) as conn, conn.cursor() as cur, pytest.raises(psycopg2.Error):
        cur.execute("UPDATE kongchuo_auditevent SET username = 'x'")


def test_restore_refuses_without_confirmation(tmp_path):
    _require_broker()
    dump = tmp_path / "x.dump"
    dump.write_bytes(b"not a dump")
    env = {**os.environ, "RESTORE_DATABASE_URL": "postgres://postgres@127.0.0.1:5432/never_touched"}
    result = subprocess.run(["scripts/restore.sh", str(dump)], cwd=ROOT, env=env, input="wrong-name\n",
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "aborted" in result.stderr


def test_backup_refuses_sqlite():
    env = {**os.environ, "DATABASE_URL": "sqlite:///db.sqlite3"}
    result = subprocess.run(["scripts/backup.sh"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and "not PostgreSQL" in result.stderr
