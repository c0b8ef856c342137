"""Template filters of the dashboards."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def thousands(value) -> str:
    """1234567 → "1,234,567". `intcomma` does the same through the localisation machinery at
    many times the cost, which the county page (well over a thousand numbers) notices when it
    is rendered cold (figures: docs/performance.md)."""
    if isinstance(value, int):
        return f"{value:,}"
    return "—" if value is None else str(value)
