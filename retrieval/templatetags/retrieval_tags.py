from django import template

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
    from retrieval.selectors import alert_label as label

    return label(alert)
