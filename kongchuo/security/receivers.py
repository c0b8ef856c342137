"""Signal receivers: audit of logins, logouts, failures and lockouts; sessions end on deactivation.

Only bookkeeping lives here (audit rows, the session index); no business rule does.
"""

from __future__ import annotations

import time

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from kongchuo.access.audit import audit_record
from kongchuo.portal.middleware import SessionTimeoutMiddleware
from kongchuo.security.redact import RedactFilter
from kongchuo.security.services import user_session_forget, user_session_remember, user_sessions_end
from kongchuo.security.spray import spray_failure_note, spray_success_note

User = get_user_model()


def _session_key(request) -> str | None:
    session = getattr(request, "session", None)
    return getattr(session, "session_key", None)


@receiver(user_logged_in, dispatch_uid="kongchuo_security_login")
def on_login(sender, request, user, **kwargs):
    # The absolute 12 h cap counts from the login itself, not from the first page after it.
    session = getattr(request, "session", None)
    if session is not None:
        session[SessionTimeoutMiddleware.KEY] = int(time.time())
    user_session_remember(user=user, session_key=_session_key(request))
    if request is not None:
        spray_success_note(request=request, username=user.get_username())
    audit_record(action="login", user=user, request=request)


@receiver(user_logged_out, dispatch_uid="kongchuo_security_logout")
def on_logout(sender, request, user, **kwargs):
    user_session_forget(session_key=_session_key(request))
    if user is not None:
        audit_record(action="logout", user=user, request=request)


def _attempted_name(username) -> dict:
    """The user name tried, if it is an account's. People type passwords or ID numbers into the
    user-name box; such text is not an account name and must not land in the audit log."""
    name = str(username or "")[:150]
    if name and User.objects.filter(username=name).exists():
        return {"username": name}
    return {"username": "", "unknown_user": True}


@receiver(user_login_failed, dispatch_uid="kongchuo_security_login_failed")
def on_login_failed(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password in `credentials` with stars.
    audit_record(action="login_failed", request=request, outcome="failed",
                 detail=_attempted_name(credentials.get("username")))
    if request is not None:
        spray_failure_note(request=request, username=credentials.get("username"))


@receiver(user_locked_out, dispatch_uid="kongchuo_security_lockout")
def on_lockout(sender, request, username=None, ip_address=None, **kwargs):
    audit_record(action="lockout", request=request, outcome="locked",
                 detail=_attempted_name(username))


@receiver(pre_save, sender=User, dispatch_uid="kongchuo_security_user_pre_save")
def note_deactivation(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None or instance.is_active:
        return
    if update_fields is not None and "is_active" not in update_fields:
        return
    instance._kongchuo_deactivated = User.objects.filter(pk=instance.pk, is_active=True).exists()


@receiver(post_save, sender=User, dispatch_uid="kongchuo_security_user_post_save")
def end_sessions_on_deactivation(sender, instance, created=False, raw=False, **kwargs):
    if raw or not getattr(instance, "_kongchuo_deactivated", False):
        return
    instance._kongchuo_deactivated = False
    ended = user_sessions_end(user_ids=[instance.pk])
    audit_record(action="user_deactivate", obj=instance, detail={"sessions_ended": ended})


def _redact_celery_handlers(logger=None, **kwargs):
    """Celery replaces the root handlers in a worker; put the redaction filter back on them."""
    if logger is None:
        return
    for handler in logger.handlers:
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            handler.addFilter(RedactFilter())


try:
    from celery.signals import after_setup_logger, after_setup_task_logger
except ImportError:  # pragma: no cover - celery is a hard dependency
    pass
else:
    after_setup_logger.connect(_redact_celery_handlers, weak=False,
                               dispatch_uid="kongchuo_redact_celery")
    after_setup_task_logger.connect(_redact_celery_handlers, weak=False,
                                    dispatch_uid="kongchuo_redact_celery_task")
    # One clock in every line: Celery's handlers keep its layout, with the portal's zone and offset.
    from kongchuo.portal.logtime import zone_celery_handlers

    after_setup_logger.connect(zone_celery_handlers, weak=False, dispatch_uid="kongchuo_zone_celery")
    after_setup_task_logger.connect(zone_celery_handlers, weak=False,
                                    dispatch_uid="kongchuo_zone_celery_task")
