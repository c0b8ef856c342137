"""The home page's cards and blocks, filled in by the apps' "home_card" plug-ins (kongchuo.plugins)."""

from __future__ import annotations

from kongchuo import plugins


def home_context(request, scope) -> dict:
    ctx: dict = {"scope": scope, "cards": [], "blocks": []}
    for card in plugins.items("home_card"):
        card(request, scope, ctx)
    return ctx
