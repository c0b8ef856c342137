"""Writing audit rows. The only way application code touches AuditEvent."""

from __future__ import annotations

from kongchuo.access.ip import client_ip
from kongchuo.access.models import AuditEvent


def audit_record(
    *, action: str, user=None, request=None, obj=None, object_type: str = "",
    object_id: str = "", outcome: str = "ok", detail: dict | None = None,
) -> AuditEvent:
    if user is None and request is not None:
        user = getattr(request, "user", None)
    if user is not None and not user.is_authenticated:
        user = None
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    return AuditEvent.objects.create(
        user=user,
        username=getattr(user, "username", "") if user else "",
        ip=client_ip(request),
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=str(obj)[:200] if obj is not None else "",
        outcome=outcome,
        detail=detail or {},
    )
