"""Home cards: registered once, unregistered through the public function."""

from __future__ import annotations

from kongchuo import plugins
from kongchuo.portal.home import home_context
from students.home import core_home


def test_register_and_unregister_card(monkeypatch):
    monkeypatch.setitem(plugins._REGISTRY, "home_card", [])
    calls = []

    def card(request, scope, ctx):
        calls.append(scope)
        ctx["cards"].append({"label": "x"})

    plugins.register("home_card", card)
    plugins.register("home_card", card)  # once only
    assert home_context(None, "s")["cards"] == [{"label": "x"}]
    plugins.unregister("home_card", card)
    plugins.unregister("home_card", card)  # absent: nothing to do
    assert home_context(None, "s")["cards"] == [] and calls == ["s"]


def test_dashboards_supersede_the_placeholder_cards():
    from dashboards.home import dashboard_home

    assert core_home not in plugins.items("home_card")
    assert dashboard_home in plugins.items("home_card")
