"""Template filters of the dashboards."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def thousands(value) -> str:
    """1234567 → "1,234,567". `intcomma` does the same through the localisation machinery at
    ~20× the cost, which the county page (1,500 numbers) notices when it is rendered cold."""
    if isinstance(value, int):
        return f"{value:,}"
    return "—" if value is None else str(value)
