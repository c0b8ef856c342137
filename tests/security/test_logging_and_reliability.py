"""Logs carry no personal data (item 12); Celery reliability settings (item 14); the resilient cache
and the outbox (item 15, unit level); optimistic concurrency (item 16, unit level)."""

from __future__ import annotations

import io
import logging

import pytest
from django.conf import settings
from django.db import transaction

from kongchuo.security.redact import RedactFilter, redact

ID = "341522200803211234"
PHONE = "13812345678"


# -- item 12: redaction ------------------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    (f"id={ID}", "id=341522********1234"),
    ("34152220080321123X done", "341522********123X done"),
    (f"call {PHONE} now", "call 138****5678 now"),
    (f"/students/?q={ID}&phone={PHONE}", "/students/?q=341522********1234&phone=138****5678"),
    ("password=hunter2&next=/", "password=***&next=/"),
    ("{'password': 'hunter2', 'user': 'a'}", "{'password': '***', 'user': 'a'}"),
    ("Cookie: sessionid=abcd1234efgh; csrftoken=zz", "Cookie: sessionid=***; csrftoken=***"),
    ("order 1234567890123456789 total", "order 1234567890123456789 total"),  # 19 digits: not an ID
    ("12 students, 2026-03-01", "12 students, 2026-03-01"),
])
def test_redact(text, expected):
    assert redact(text) == expected


def test_every_configured_handler_redacts():
    handlers = settings.LOGGING["handlers"]
    assert handlers and all("redact" in h.get("filters", []) for h in handlers.values())
    root = logging.getLogger()
    configured = [h for h in root.handlers if h.__class__ is logging.StreamHandler]
    assert configured and all(any(isinstance(f, RedactFilter) for f in h.filters) for h in configured)
    # Django's default handlers, which would bypass the filter, are gone.
    assert logging.getLogger("django").handlers == []
    assert logging.getLogger("django.server").handlers == []


@pytest.fixture
def console():
    """The configured console handler, writing into a buffer for the test."""
    root = logging.getLogger()
    handler = next(h for h in root.handlers if any(isinstance(f, RedactFilter) for f in h.filters))
    buffer = io.StringIO()
    old = handler.setStream(buffer)
    yield buffer
    handler.setStream(old)


@pytest.mark.django_db
def test_representative_requests_leave_no_personal_data_in_logs(county, client, caplog, console):
    caplog.set_level(logging.INFO)
    s = county.s_a
    # A login attempt with an ID number typed as user name and a phone as password.
    client.post("/accounts/login/", {"username": s.id_number, "password": PHONE})
    client.force_login(county.county_user)
    client.get("/students/", {"q": s.id_number})
    client.get(f"/students/{s.pk}/")
    client.post(f"/students/{s.pk}/reveal/", {"field": "id_number", "reason": "核对学籍"})
    client.get(f"/students/{s.id_number}/")  # 404 on a path with an ID
    client.get("/students/users/", {"phone": s.guardian_phone})
    logging.getLogger("kongchuo.test").warning("import row: %s %s %s", s.id_number, s.guardian_phone,
                                               "password=hunter2")
    try:
        raise ValueError(f"duplicate key (id_number)=({s.id_number}) guardian {s.guardian_phone}")
    except ValueError:
        logging.getLogger("kongchuo.test").exception("import failed")
    written = console.getvalue() + caplog.text
    assert "import failed" in written and "341522********" in written  # the logs did run
    for secret in (s.id_number, s.guardian_phone, PHONE, "hunter2", client.cookies["sessionid"].value):
        assert secret not in written


def test_filter_keeps_bad_format_records():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%s %s", (ID,), None)
    assert RedactFilter().filter(record)
    assert ID not in record.msg


# -- item 14: Celery reliability ---------------------------------------------------------------------


def test_celery_reliability_settings():
    from kongchuo.celery import app

    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    # A task must finish (or be killed) before Redis hands its message to another worker.
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    # The database schedule, behind the one-beat lock (kongchuo/jobs/beat.py).
    from celery.utils.imports import symbol_by_name
    from django_celery_beat.schedulers import DatabaseScheduler

    assert issubclass(symbol_by_name(conf.beat_scheduler), DatabaseScheduler)
    assert conf.beat_schedule["security-outbox-drain"]["task"] == "security.outbox_drain"


# -- item 15 (unit): the cache degrades, the outbox keeps work ------------------------------------------


def _dead_cache(**options):
    from kongchuo.security.cache import ResilientRedisCache

    # Port 1 on loopback: nothing listens, connections are refused at once.
    return ResilientRedisCache("redis://127.0.0.1:1/0", {
        "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}, **options})


def test_cache_degrades_to_a_miss(caplog):
    cache = _dead_cache()
    caplog.set_level(logging.WARNING, logger="kongchuo.cache")
    assert cache.get("k", "fallback") == "fallback"
    assert cache.set("k", 1) is None
    assert cache.add("k", 1) is False
    assert cache.get_many(["a", "b"]) == {}
    assert cache.delete("k") is False
    assert cache.get_or_set("k", lambda: 42) == 42
    with pytest.raises(ValueError):
        cache.incr("k")
    assert cache.is_down()
    assert len([r for r in caplog.records if r.name == "kongchuo.cache"]) == 1  # logged once per window


def test_stock_redis_cache_would_raise():
    """The control: Django's own backend turns a dead Redis into an exception (a 500)."""
    from django.core.cache.backends.redis import RedisCache
    from redis.exceptions import ConnectionError as RedisConnectionError

    cache = RedisCache("redis://127.0.0.1:1/0", {"OPTIONS": {"socket_connect_timeout": 0.2}})
    with pytest.raises(RedisConnectionError):
        cache.get("k")


def test_cache_retries_after_the_window(settings, monkeypatch):
    from django.core.cache.backends.redis import RedisCache

    settings.KONGCHUO_CACHE_RETRY_SECONDS = 0
    cache = _dead_cache()
    assert cache.get("k") is None  # trips the breaker
    monkeypatch.setattr(RedisCache, "get", lambda self, key, default=None, version=None: "from-redis")
    assert cache.get("k") == "from-redis"  # Redis "is back": tried again after the window


@pytest.mark.django_db(transaction=True)
def test_outbox_keeps_work_when_the_broker_is_down(monkeypatch):
    from kombu.exceptions import OperationalError

    from kongchuo.celery import app
    from kongchuo.jobs.outbox import enqueue, outbox_publish
    from kongchuo.models import OutboxMessage
    from students.tasks import refresh_name_initials

    sent = []

    task = app.tasks[refresh_name_initials.name]

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(task, "apply_async", broker_down)
    with transaction.atomic():
        enqueue(refresh_name_initials.name, 41)
        enqueue(refresh_name_initials.name, 42)
    kept = list(OutboxMessage.objects.values_list("args", "attempts"))
    assert kept == [([41], 1), ([42], 1)]  # each publish after commit failed; both rows kept

    def broker_up(args=None, kwargs=None, **options):
        sent.append(args)

    monkeypatch.setattr(task, "apply_async", broker_up)
    assert outbox_publish() == 2
    assert sent == [[41], [42]]
    assert OutboxMessage.objects.count() == 0
    from kongchuo.jobs.tasks import outbox_drain

    assert app.tasks["security.outbox_drain"] is outbox_drain._get_current_object()  # beat's name


@pytest.mark.django_db(transaction=True)
def test_outbox_row_rolls_back_with_the_work(monkeypatch):
    from kongchuo.celery import app
    from kongchuo.jobs.outbox import enqueue
    from kongchuo.models import OutboxMessage
    from students.tasks import refresh_name_initials

    monkeypatch.setattr(app.tasks[refresh_name_initials.name], "apply_async",
                        lambda *a, **k: pytest.fail("sent"))
    with pytest.raises(RuntimeError), transaction.atomic():
        enqueue(refresh_name_initials.name, 7)
        raise RuntimeError("the work failed")
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_outbox_runs_tasks_in_process_without_a_broker():
    from kongchuo.jobs.outbox import enqueue
    from kongchuo.models import Job, OutboxMessage
    from students.tasks import refresh_name_initials

    with transaction.atomic():
        job = Job.objects.create(kind="refresh_name_initials")
        enqueue(refresh_name_initials.name, job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED  # eager mode: ran at commit
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_outbox_drain_command(capsys):
    from django.core.management import call_command
    from django.utils import translation

    call_command("outbox_drain")
    assert "已发送：0" in capsys.readouterr().out
    with translation.override("en"):
        call_command("outbox_drain")
    assert "sent: 0" in capsys.readouterr().out


# -- item 16 (unit): a stale form is refused ---------------------------------------------------------


@pytest.mark.django_db
def test_stale_version_is_refused(county):
    from kongchuo.security.concurrency import StaleVersion, versioned_update
    from students.models import Student

    s = county.s_a
    opened_by_a = s.version
    opened_by_b = s.version
    assert versioned_update(Student.objects, pk=s.pk, version=opened_by_a, values={"address": "甲的修改"}) == 2
    with pytest.raises(StaleVersion, match="已被他人修改"):
        versioned_update(Student.objects, pk=s.pk, version=opened_by_b, values={"address": "乙的修改"})
    s.refresh_from_db()
    assert (s.address, s.version) == ("甲的修改", 2)


@pytest.mark.django_db
def test_versioned_update_respects_scope(county):
    from kongchuo.security.concurrency import StaleVersion, versioned_update
    from students.models import Student

    with pytest.raises(StaleVersion):
        versioned_update(Student.objects.visible_to(county.school_a), pk=county.s_b.pk, version=1,
                         values={"address": "越权"})
    county.s_b.refresh_from_db()
    assert county.s_b.address != "越权"
