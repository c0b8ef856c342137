"""Writes of the security machinery: sessions, second-factor devices, reveals of personal data."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterable
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser as User
from django.contrib.sessions.models import Session
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Model, Q
from django.http import HttpRequest
from django.utils import timezone
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

from kongchuo import plugins
from kongchuo.access.audit import audit_record
from kongchuo.access.scoping import Role, scope_of
from kongchuo.imports.base import all_kinds
from kongchuo.imports.pipeline import JOB_PREFIX
from kongchuo.models import Job
from kongchuo.security.models import UserSession


def user_session_remember(*, user: User, session_key: str | None) -> None:
    """Index a freshly logged-in session under its user (called from the login receiver)."""
    if not session_key:
        return
    UserSession.objects.update_or_create(session_key=session_key, defaults={"user": user})


def user_session_forget(*, session_key: str | None) -> None:
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


@transaction.atomic
def user_sessions_end(*, user_ids: Iterable[int]) -> int:
    """End every session of these users; returns how many sessions were deleted.

    Set-based for the database session engine (two DELETEs whatever the number of users or
    sessions); other engines delete key by key through their SessionStore.
    """
    user_ids = list(user_ids)
    keys = UserSession.objects.filter(user_id__in=user_ids).values("session_key")
    if settings.SESSION_ENGINE == "django.contrib.sessions.backends.db":
        deleted, _ = Session.objects.filter(session_key__in=keys).delete()
    else:
        store = import_module(settings.SESSION_ENGINE).SessionStore
        deleted = 0
        for key in list(keys.values_list("session_key", flat=True)):
            store(session_key=key).delete()
            deleted += 1
    UserSession.objects.filter(user_id__in=user_ids).delete()
    return deleted


def can_reveal_personal_data(user: Any) -> bool:
    """Who may see a full ID number or phone: county staff (the bureau answers for the data).

    A role rule rather than a Django permission: roles are how the portal grants everything else,
    and the core app owns the Student model whose Meta would carry a custom permission.
    """
    scope = scope_of(user)
    return scope is not None and scope.role == Role.COUNTY


@transaction.atomic
def personal_data_reveal(*, request: HttpRequest, obj: Model, field: str, value: str, reason: str) -> str:
    """Audit the reveal of one full value (ID number, phone) with its reason; return the value.

    Precondition: the caller has scoped `obj` with access_object and checked
    can_reveal_personal_data(request.user). The value itself never goes into the audit row.
    """
    audit_record(action="reveal_id", request=request, obj=obj,
                 detail={"field": field, "reason": reason})
    return value


@transaction.atomic
def otp_device_pending(*, user: User) -> TOTPDevice:
    """The user's unconfirmed TOTP device, created on first call (the secret shown at setup)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="TOTP", confirmed=False)
    return device


@transaction.atomic
def otp_device_verify(*, request: HttpRequest, user: User, token: str, setup: bool = False
                      ) -> TOTPDevice | None:
    """Check a token against the user's TOTP device; on success mark the session verified.

    With setup=True the pending device is checked and confirmed; otherwise confirmed devices are.
    Failed tokens count against the device's throttle (django-otp) and are audited.
    """
    devices = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=not setup)
    for device in devices.order_by("pk"):
        allowed, _ = device.verify_is_allowed()
        if allowed and device.verify_token(token):
            if setup:
                device.confirmed = True
                device.save(update_fields=["confirmed"])
                TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            otp_login(request, device)
            audit_record(action="otp_setup" if setup else "otp_verify", request=request, obj=device)
            return device
    audit_record(action="otp_failed", request=request, outcome="failed")
    return None


def user_sessions_prune() -> int:
    """Drop index rows whose session has expired or been cleared (clearsessions, logout elsewhere)."""
    deleted, _ = UserSession.objects.exclude(
        session_key__in=Session.objects.values("session_key")).delete()
    return deleted


def export_files_purge(*, days: int, dry_run: bool = False) -> int:
    """Delete the files of finished export jobs older than `days`; the Job rows stay.

    An export holds children's names and IDs (masked or, audited, in full): once downloaded it has
    no business on the server. Imports are kept (the issue asks for their file and error workbook),
    so only jobs whose kind ends in `_export` are touched, and the one-time output of an import
    kind that has one (initial passwords not downloaded in time). Set-based: one SELECT of the old rows,
    one UPDATE clearing their `output`; files are removed after the commit, so a failed UPDATE
    leaves every file in place. Returns how many files were (or, with dry_run, would be) removed.
    """

    cutoff = timezone.now() - dt.timedelta(days=days)
    # An import's one-time output (the users kind's initial passwords) never downloaded goes too.
    one_time = [JOB_PREFIX + k.slug for k in all_kinds() if k.one_time_output]
    old = (Job.objects.filter(Q(kind__endswith="_export") | Q(kind__in=one_time),
                              finished_at__lt=cutoff)
           .exclude(output=""))
    rows = list(old.values_list("pk", "output"))
    if dry_run or not rows:
        return len(rows)
    with transaction.atomic():
        Job.objects.filter(pk__in=[pk for pk, _ in rows]).update(output="")
        audit_record(action="export_purge", object_type="kongchuo.job",
                     detail={"jobs": len(rows), "days": days})
        names = [name for _, name in rows]

        def delete_files() -> None:
            for name in names:
                default_storage.delete(name)

        transaction.on_commit(delete_files)
    return len(rows)


def orphan_files_purge(*, older_than_hours: int = 24, dry_run: bool = False) -> int:
    """Delete files that no row refers to in the folders the apps own (plug-in slot
    "file_folder": evidence, attachments); returns how many.

    A file is written before its row; when the transaction around them rolls back (a failed
    save, a stale version, a crash) the row is gone and the file stays behind, holding a child's
    documents nobody can reach. Files younger than `older_than_hours` are left alone, so an
    upload whose transaction is still open is never touched. Set-based: one query per model for
    the names in use, one walk of each folder.
    """
    root = str(settings.MEDIA_ROOT)
    cutoff = time.time() - older_than_hours * 3600
    removed = 0
    for model, folder in plugins.items("file_folder"):
        base = os.path.join(root, folder)
        if not os.path.isdir(base):
            continue
        in_use = set(model._base_manager.values_list("file", flat=True).iterator(chunk_size=5000))
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root).replace(os.sep, "/")
                if rel in in_use or os.path.getmtime(path) > cutoff:
                    continue
                removed += 1
                if not dry_run:
                    os.remove(path)
    if removed and not dry_run:
        audit_record(action="orphan_files_purge", object_type="media", detail={"files": removed})
    return removed
