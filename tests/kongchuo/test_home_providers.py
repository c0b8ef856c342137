"""Home-card providers: registered once, unregistered through the public function."""

from __future__ import annotations

from kongchuo.portal import home
from students.home import core_home


def test_register_and_unregister_provider(monkeypatch):
    monkeypatch.setattr(home, "_PROVIDERS", [])
    calls = []

    def provider(request, scope, ctx):
        calls.append(scope)
        ctx["cards"].append({"label": "x"})

    home.register_home_provider(provider)
    home.register_home_provider(provider)  # once only
    assert home.home_context(None, "s")["cards"] == [{"label": "x"}]
    home.unregister_home_provider(provider)
    home.unregister_home_provider(provider)  # absent: nothing to do
    assert home.home_context(None, "s")["cards"] == [] and calls == ["s"]


def test_dashboards_supersede_the_placeholder_cards():
    from dashboards.home import dashboard_home

    assert core_home not in home._PROVIDERS
    assert dashboard_home in home._PROVIDERS
