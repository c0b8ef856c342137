"""Optimistic concurrency for versioned rows (Student.version, LedgerEntry.version, …).

A form carries the version it was opened at; saving is one conditional UPDATE
(`… SET version = version + 1 WHERE pk = %s AND version = %s`), so of two clerks editing the same
record the second is told the record changed instead of silently overwriting the first.
"""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StaleVersion(Exception):
    """The row changed since the form was opened (or it is gone); `message` is for users."""

    message = _("该记录已被他人修改，请刷新后重试")


def versioned_update(queryset, *, pk, version: int, values: dict) -> int:
    """Apply `values` to row `pk` if it is still at `version`; return the new version.

    Precondition: `queryset` is already scoped to the user (visible_to). Raises StaleVersion when
    no row matched. Bypasses save() signals (history is the caller's to record).
    """
    model = queryset.model
    extra = {}
    for field in model._meta.concrete_fields:
        if getattr(field, "auto_now", False) and field.name not in values:
            extra[field.name] = timezone.now()
    updated = queryset.filter(pk=pk, version=version).update(
        version=F("version") + 1, **values, **extra)
    if updated != 1:
        raise StaleVersion(str(StaleVersion.message))
    return version + 1
