from django import template

register = template.Library()


@register.filter
def who(user) -> str:
    """A user's signature on a step: full name, else username, else a dash."""
    if user is None:
        return "—"
    return user.get_full_name() or user.username
