"""The one registry apps plug into (kongchuo/plugins.py)."""

from __future__ import annotations

import pytest

from kongchuo import plugins
from kongchuo.plugins import AuditField, AuditValues, FileFolder, MenuItem
from kongchuo.portal.audit_wording import detail_text


def test_unknown_slot_fails_loudly():
    with pytest.raises(ValueError, match="unknown plug-in slot"):
        plugins.register("menu", lambda: None)
    with pytest.raises(ValueError, match="unknown plug-in slot"):
        plugins.items("menus")


def test_items_come_by_order_then_by_turn(monkeypatch):
    monkeypatch.setitem(plugins._REGISTRY, "seeder", [])

    def a(rng, stdout): ...
    def b(rng, stdout): ...
    def c(rng, stdout): ...

    plugins.register("seeder", a, order=50)
    plugins.register("seeder", b, c, order=10)
    plugins.register("seeder", a, order=1)  # already there: keeps its place
    assert plugins.items("seeder") == [b, c, a]


def test_every_slot_is_filled_by_the_apps():
    """What the apps register in their ready(): kongchuo/ itself names none of them."""
    for slot in ("menu_item", "home_card", "student_panel", "seeder", "year_end_seeder",
                 "audit_values", "audit_field", "file_folder"):
        assert plugins.items(slot), slot
    assert all(isinstance(i, MenuItem) for i in plugins.items("menu_item"))
    assert all(isinstance(i, AuditValues) for i in plugins.items("audit_values"))
    assert all(isinstance(i, AuditField) for i in plugins.items("audit_field"))
    folders = plugins.items("file_folder")
    assert all(isinstance(f, FileFolder) for f in folders)
    assert {f.model._meta.label_lower for f in folders} == {"retrieval.evidence", "ledgers.attachment"}


def test_audit_values_merge_and_a_function_replaces(monkeypatch):
    monkeypatch.setitem(plugins._REGISTRY, "audit_values", [])
    monkeypatch.setitem(plugins._REGISTRY, "audit_field", [])
    plugins.register("audit_values", AuditValues("k", {"a": "甲"}), AuditValues("k", {"b": "乙"}))
    assert detail_text({"k": ["a", "b", "c"]}) == "k：甲、乙、c"
    plugins.register("audit_values", AuditValues("k", lambda v: f"<{v}>"))
    plugins.register("audit_field", AuditField("k", "键"))
    assert detail_text({"k": "a"}) == "键：<a>"
