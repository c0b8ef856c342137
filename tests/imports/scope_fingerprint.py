"""Fingerprints of everything outside an importer's scope (the import scope matrix, issue 15).

For every model of the apps that hold children's data: a model with a scoped queryset
contributes the rows its `visible_to(user)` leaves out; a simple_history model the rows of its
base model's out-of-scope objects; an unscoped model every row (but the bookkeeping of the
import itself: its Job row and audit events, and the accounts of schools in scope, which the
`users` kind creates). Each part is a SHA-256 of the ordered values of every concrete column,
so "byte-for-byte unchanged" is an equality of two dicts, and a failure names the table.

A roster row naming a child of another scope is written as a 转入申请 (students.transfers):
the child becomes 转学中 with a history row, a status-change row and a pending request. The
fingerprint of `asked` children leaves out exactly those (their status, version and
updated_at, and the rows of that request made after `mark`); the matrix asserts them apart.
"""

from __future__ import annotations

import hashlib

from django.apps import apps

from kongchuo.access.scoping import Role, scope_of

APPS = ("students", "ledgers", "retrieval", "dashboards", "kongchuo")
BOOKKEEPING = {"kongchuo.job", "kongchuo.auditevent"}
ASK_VOLATILE = {"status", "version", "updated_at"}


def _columns(model) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _digest(rows) -> str:
    h = hashlib.sha256()
    for row in rows:
        h.update(repr(row).encode())
    return h.hexdigest()


def _outside(model, user):
    qs = model._default_manager.all()
    if hasattr(qs, "visible_to"):
        return qs.exclude(pk__in=model._default_manager.visible_to(user).values("pk"))
    base = getattr(model, "instance_type", None)  # a simple_history model
    if base is not None:
        return qs.filter(id__in=_outside(base, user).values("pk"))
    if model._meta.label_lower == "students.user":
        scope = scope_of(user)
        schools = apps.get_model("students", "School").objects.visible_to(user)
        own = qs.filter(role=Role.SCHOOL, school__in=schools) if scope and not scope.is_county else qs.none()
        return qs.exclude(pk__in=own.values("pk")).exclude(pk=user.pk)
    if model._meta.label_lower == "students.termroster":
        schools = apps.get_model("students", "School").objects.visible_to(user)
        return qs.exclude(school__in=schools)
    return qs


def mark() -> dict[str, int]:
    """The highest ids of the tables a transfer request writes, before an import."""
    from students.models import StatusChange, Student, TransferRequest

    def top(model, field="pk"):
        return model._default_manager.order_by(f"-{field}").values_list(field, flat=True).first() or 0

    return {"change": top(StatusChange), "transfer": top(TransferRequest),
            "history": top(Student.history.model, "history_id")}


def fingerprint(user, *, asked: set[int] = frozenset(), since: dict[str, int] | None = None) -> dict[str, str]:
    out = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if model._meta.app_label not in APPS or label in BOOKKEEPING:
            continue
        qs = _outside(model, user)
        cols = _columns(model)
        if asked and since is not None:
            if label == "students.student":
                rest = [c for c in cols if c not in ASK_VOLATILE]
                out[label + "#asked"] = _digest(qs.filter(pk__in=asked).order_by("pk").values_list(*rest))
                qs = qs.exclude(pk__in=asked)
            elif label == "students.statuschange":
                qs = qs.exclude(student_id__in=asked, kind="transfer_request", pk__gt=since["change"])
            elif label == "students.transferrequest":
                qs = qs.exclude(student_id__in=asked, pk__gt=since["transfer"])
            elif label == "students.historicalstudent":
                qs = qs.exclude(id__in=asked, history_id__gt=since["history"])
        out[label] = _digest(qs.order_by("pk").values_list(*cols))
    return out


def diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
