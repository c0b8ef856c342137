"""Home-page blocks per role. Apps register providers; the dashboards issue fills them in."""

from __future__ import annotations

from collections.abc import Callable

_PROVIDERS: list[Callable] = []


def register_home_provider(func: Callable) -> None:
    if func not in _PROVIDERS:
        _PROVIDERS.append(func)


def unregister_home_provider(func: Callable) -> None:
    """Drop a provider another app superseded (e.g. placeholder cards); absent: nothing to do."""
    if func in _PROVIDERS:
        _PROVIDERS.remove(func)


def home_context(request, scope) -> dict:
    ctx: dict = {"scope": scope, "cards": [], "blocks": []}
    for provider in _PROVIDERS:
        provider(request, scope, ctx)
    return ctx
