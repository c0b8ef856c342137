from django import template

from retrieval import wording

register = template.Library()


@register.filter
def who(user) -> str:
    """A user's signature on a step: full name, else username, else a dash."""
    if user is None:
        return "—"
    return user.get_full_name() or user.username


@register.filter
def alert_label(alert) -> str:
    """The child's name, else the alert's subject with any ID number masked."""
    return wording.alert_label(alert)


@register.filter
def alert_period(alert) -> str:
    """The alert's period in words (2026年秋季学期)."""
    return wording.alert_period(alert)


# Badge colour of a status: (colours by status, colour of any other status) per model.
_STATUS_TONES = {
    "alert": ({"open": "warning", "confirmed": "danger"}, "secondary"),
    "retrievalcase": ({"open": "warning", "escalated": "danger", "closure_requested": "info"},
                      "success"),
}


@register.filter
def status_tone(obj) -> str:
    """Bootstrap colour of an alert's or a case's status badge."""
    tones, other = _STATUS_TONES[obj._meta.model_name]
    return tones.get(obj.status, other)
