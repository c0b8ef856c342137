"""The left menu. Apps register their entries (`plugins.MenuItem`, slot "menu_item") in
AppConfig.ready(); the menu knows no app."""

from __future__ import annotations

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from kongchuo import plugins
from kongchuo.access.scoping import scope_of

GROUP_ORDER = ["首页", "学生学籍", "工作台账", "排查预警", "劝返销号", "数据导入", "统计分析", "系统管理"]
# Groups are registered by their Chinese name (a stable key); shown in the page's language.
GROUP_LABELS = {"首页": _("首页"), "学生学籍": _("学生学籍"), "工作台账": _("工作台账"),
                "排查预警": _("排查预警"), "劝返销号": _("劝返销号"), "数据导入": _("数据导入"),
                "统计分析": _("统计分析"), "系统管理": _("系统管理")}


def menu_section(request, url_name: str) -> None:
    """Highlight the menu item `url_name` on this page: for a page whose URL lies outside its
    section's (a drill-down list opened from the home page, a sub-log under its ledger)."""
    request.menu_url_name = url_name


def menu_for(request) -> list[dict]:
    """The menu for this user, with exactly one item active: the one the view named
    (`menu_section`), else the item whose URL is the longest prefix of the page's path."""
    scope = scope_of(request.user)
    if scope is None:
        return []
    groups: dict[str, list[dict]] = {}
    path = request.path
    named = getattr(request, "menu_url_name", None)
    entries = []
    for item in sorted(plugins.items("menu_item"), key=lambda i: i.order):
        if scope.role not in item.roles:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        entry = {"label": str(item.label), "url": url, "icon": item.icon, "active": False}
        entries.append((item, url, entry))
        groups.setdefault(item.group, []).append(entry)
    if named:
        matches = [(item, url, e) for item, url, e in entries if item.url_name == named]
    else:
        matches = [(item, url, e) for item, url, e in entries
                   if path == url or (url != "/" and path.startswith(url))]
    if matches:
        max(matches, key=lambda m: len(m[1]))[2]["active"] = True
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    return [{"group": str(GROUP_LABELS.get(g, g)), "items": groups[g]}
            for g in sorted(groups, key=lambda g: order.get(g, 99))]
