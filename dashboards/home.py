"""The home-page provider: puts the (cached) dashboard of the user's scope into the context."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from dashboards.cache import cached
from dashboards.params import SEASONS, parse_params, year_choices
from dashboards.selectors import dashboard_data, todo_figures, unit_level
from dashboards.yearfigures import figure_text
from kongchuo.access.scoping import Role
from students.models import School

DASHBOARD_ROLES = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
TODO_SLOT = "<!-- dashboards:todo -->"  # where a school's live to-do list goes in the cached page


def dashboard_home(request, scope, ctx) -> None:
    """Figures and their rendered HTML, cached together per (data version, scope, language,
    filters): a warm home page costs two cache reads and no template work for the dashboard.
    Everything rendered depends on the scope, never on the individual user, so colleagues of
    one scope share the entry."""
    if scope.role not in DASHBOARD_ROLES:
        return
    p = parse_params(request.GET, kinds=set(School.Kind.values))
    scope_label = request.user.scope_label

    def build() -> dict:
        data = dashboard_data(request.user, scope, p)
        page = dashboard_context(scope, p, data)
        page["scope_label"] = scope_label
        return {"data": data, "html": render_to_string("dashboards/_dashboard.html", page)}

    parts = {"data": None, "html": None}
    html = cached(scope, p, build, part="html", store=parts)
    if unit_level(scope, p) == "school":
        todo = todo_items(todo_figures(request.user, p), p)
        html = html.replace(TODO_SLOT, render_to_string("dashboards/_todo_items.html",
                                                        {"dash_todo": todo}))
        ctx["dash_todo"] = todo
    ctx["dash_html"] = mark_safe(html)  # noqa: S308 - rendered by our own templates
    ctx["dash_params"] = p
    # The figures themselves are read only if a template or test asks for them.
    ctx["dash"] = SimpleLazyObject(lambda: cached(scope, p, build, part="data", store=parts))


def dashboard_context(scope, p, data: dict) -> dict:
    return {
        "dash": data,
        "dash_params": p,
        "dash_charts": charts_for(data),
        "dash_kpis": kpi_rows(data),
        "dash_title": _title(scope, p, data),
        "dash_period_label": _period_label(p),
        "todo_slot": TODO_SLOT,
        "dash_todo_cached": cached_todo_items(data) if data["level"] == "school" else [],
        "dash_perms": {"cohorts": scope.role in (Role.COUNTY, Role.TOWNSHIP)},
        "dash_filters": {
            "years": year_choices(p.current_year), "seasons": [(k, str(v)) for k, v in SEASONS],
            "kinds": [(k, str(v)) for k, v in School.Kind.choices],
            "townships": data["townships"] if scope.role == Role.COUNTY else [],
        },
    }


def _link(fig: dict, *, figure: str = "", title: str = "") -> dict:
    return {"v": fig["v"], "url": fig["url"], "figure": figure, "title": title}


def _card(icon: str, label: str, *, value=None, url: str = "", figure: str = "", unit: str = "",
          target: str = "", warn: bool = False, sub: tuple = (), trio: tuple = (),
          last: str = "") -> dict:
    """One KPI card of `_kpi.html`: a headline value with a line of parts below it (text, or
    a number linking to its list), or three linked numbers side by side (`trio`); `last`: the
    same figure of last school year, frozen at its rollover."""
    return {"icon": icon, "label": label, "v": value, "url": url, "figure": figure, "unit": unit,
            "target": target, "warn": warn, "trio": trio, "last": last,
            "sub": [part if isinstance(part, dict) else {"t": part} for part in sub]}


def _fmt(value, kind: str) -> str:
    """A frozen figure as a card shows it (days with their unit)."""
    text = figure_text(value, kind)
    return _("%(n)s天") % {"n": text} if kind == "days" and value is not None else text


def last_year_lines(data: dict) -> dict[str, str]:
    """Last school year's frozen figures, one short line per card ("" if no year is frozen)."""
    last = data.get("last_year")
    if not last:
        return {}
    f = last["f"]
    head = _("上学年")
    return {
        "in_school": f"{head}{_('在籍')} {_fmt(f.get('enrolled'), 'int')}",
        "enrol": f"{head} {_fmt(f.get('enrol_rate'), 'rate')}",
        "retention": f"{head} {_fmt(f.get('retention_rate'), 'rate')}",
        "alerts": _("%(head)s 预警%(raised)s · 确认%(confirmed)s · 排除%(dismissed)s") % {
            "head": head, "raised": _fmt(f.get("alerts_raised"), "int"),
            "confirmed": _fmt(f.get("alerts_confirmed"), "int"),
            "dismissed": _fmt(f.get("alerts_dismissed"), "int")},
        "cases": f"{head}{_('劝返复学')} {_fmt(f.get('cases_returned'), 'int')}",
        "median": f"{head} {_fmt(f.get('median_days'), 'days')}",
        "ht": f"{head} {_fmt(f.get('ht_rate'), 'rate')}",
        "aid": f"{head} {_fmt(f.get('aid_rate'), 'rate')}",
    }


def _trio_part(fig: dict, label: str, *, figure: str = "") -> dict:
    return {"v": fig["v"], "url": fig["url"], "label": label, "open": bool(figure), "figure": figure}


def kpi_rows(data: dict) -> list[list[dict]]:
    """The KPI cards of a page, in two rows (headline figures; the day's work), each card a
    dict for `dashboards/_kpi.html`: every number is a link to its list."""
    o, f = data["overall"], data["overall"]["f"]
    periods = data["periods"]
    last = last_year_lines(data)
    top = [_card("bi-people", _("在校学生"), value=f["in_school"]["v"], url=f["in_school"]["url"],
                 figure="in_school", sub=(_("含送教上门") + " ", _link(f["home_teaching"])),
                 last=last.get("in_school", ""))]
    if data["has_census"]:
        top.append(_card("bi-house", _("适龄儿童（户籍）"), value=f["census_total"]["v"],
                         url=f["census_total"]["url"], figure="census_total",
                         sub=(_("%(y)s年摸排，6–15周岁") % {"y": data["census_year"]},)))
        top.append(_card("bi-door-open", _("入学率"), value=o["enrol"]["pct"], url=o["enrol"]["url"],
                         figure="enrol", target=_("目标 100%"), warn=o["enrol"]["below"],
                         sub=(_link(f["census_in_school"]), " / ", _link(f["census_eligible"]),
                              " · " + _("未落实") + " ",
                              _link(f["census_unaccounted"], figure="census_unaccounted")),
                         last=last.get("enrol", "")))
    retention = o["retention"]
    if retention["mode"] == "cohort":
        basis = (_("队列口径") + "：", _link(f["grad"]), " / ",
                 {"v": retention["den"], "url": "#dash-cohort", "figure": "",
                  "title": _("调整后入学人数，明细见巩固率口径")})
    else:
        basis = (_("学年内估算") + "：1 − ", _link(f["dropouts"]), " / ", _link(f["roll_start"]))
    top += [
        _card("bi-shield-check", _("巩固率"), value=retention["pct"], url=retention["url"],
              figure="retention", target=_("目标 ≥99%"), warn=retention["below"], sub=basis,
              last=last.get("retention", "")),
        _card("bi-exclamation-triangle", _("疑似辍学预警"), trio=(
            _trio_part(f["alerts_open"], _("待核实"), figure="alerts_open"),
            _trio_part(f["alerts_confirmed"], _("已确认")),
            _trio_part(f["alerts_dismissed"], _("已排除"))), last=last.get("alerts", "")),
        _card("bi-person-walking", _("劝返"), trio=(
            _trio_part(f["cases_open"], _("劝返中"), figure="cases_open"),
            _trio_part(f["cases_returned"], _("已复学")),
            _trio_part(f["cases_escalated"], _("已上报"))), last=last.get("cases", "")),
    ]
    ht, aid = o["ht"], o["aid"]
    work = [
        _card("bi-stopwatch", _("销号用时（中位数）"), value=o["median_days"]["v"],
              url=o["median_days"]["url"], unit=_("天"),
              sub=(_("本期销号") + " ", _link(f["cases_closed"]), " " + _("件")),
              last=last.get("median", "")),
        _card("bi-house-heart", _("送教上门达标"), value=ht["pct"], url=ht["url"], figure="ht",
              target=periods["last_month"], warn=ht["v"] is not None and ht["v"] < 1,
              sub=(_link(f["ht_ok"]), " / ", _link(f["home_teaching"]), " " + _("人≥2次")),
              last=last.get("ht", "")),
        _card("bi-cash-coin", _("困难学生资助覆盖"), value=aid["pct"], url=aid["url"], figure="aid",
              warn=aid["v"] is not None and aid["v"] < 1,
              sub=(f"{periods['aid_term']} · ", _link(f["aid_ok"]), " / ", _link(f["poor"])),
              last=last.get("aid", "")),
        _card("bi-hourglass-split", _("即将到期"), trio=(
            _trio_part(f["deferral_expiring"], _("延缓入学")),
            _trio_part(f["susp_expiring"], _("休学")),
            _trio_part(f["deferral_pending"], _("延缓待审")))),
        _card("bi-clipboard-x", _("反馈核查逾期"), value=f["feedback_overdue"]["v"],
              url=f["feedback_overdue"]["url"], figure="feedback_overdue",
              warn=bool(f["feedback_overdue"]["v"]), sub=(_("省市反馈名单未答复且已过期限"),)),
    ]
    return [top, work]


def _title(scope, p, data) -> str:
    if data["level"] == "school":
        names = dict(data["schools"])
        return names.get(p.school or scope.school_id, _("本校工作台"))
    if p.direct:
        return _("县直学校概况")
    if p.township:
        return dict(data["townships"]).get(p.township, _("乡镇概况"))
    return _("全县概况") if scope.role == Role.COUNTY else _("本乡镇概况")


def _period_label(p) -> str:
    label = dict(year_choices(p.current_year)).get(p.year, str(p.year))
    if p.season:
        label += " " + str(dict(SEASONS)[p.season])
    return label


def cached_todo_items(data: dict) -> list[dict]:
    """The rest of a school's to-do list: figures the cached dashboard already holds."""
    f = data["overall"]["f"]
    periods = data["periods"]
    items = [
        ("feedback_overdue", "bi-clipboard-x", _("反馈核查已逾期"), "", "danger"),
        ("aid_missing", "bi-cash-coin", _("困难家庭学生未资助"), periods["aid_term"], "warning"),
        ("deferral_expiring", "bi-hourglass-split", _("延缓入学即将到期"), "", "info"),
        ("susp_expiring", "bi-pause-circle", _("休学即将到期"), "", "info"),
    ]
    return [{"key": key, "icon": icon, "label": label, "hint": hint, "tone": tone,
             "v": f[key]["v"], "url": f[key]["url"]} for key, icon, label, hint, tone in items]


def todo_items(todo: dict, p) -> list[dict]:
    """A school's to-do list: what is waiting on it, most urgent first, each to its names."""
    items = [
        ("todo_alerts", "bi-exclamation-triangle", _("待本校核实的预警"), "", "danger"),
        ("todo_attempts", "bi-person-walking", _("7天内未开展劝返的案件"), "", "danger"),
        ("ht_short", "bi-house-heart", _("本月送教上门不足2次"), p.this_month[0].strftime("%Y-%m"),
         "warning"),
        ("returns_missing", "bi-check2-square", _("未勾选返校报到"), p.current_term.label, "warning"),
    ]
    return [{"key": key, "icon": icon, "label": label, "hint": hint, "tone": tone,
             "v": todo[key]["v"], "url": todo[key]["url"]} for key, icon, label, hint, tone in items]


def _num(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 2)


def charts_for(data: dict) -> dict:
    """Chart data for static/js/dashboards.js (labels already in the page's language)."""
    units = data["units"]
    charts: dict = {}
    if data["level"] == "townships":
        charts["ranking"] = {
            "kind": "rates",
            "title": _("各乡镇入学率、巩固率（由低到高）"),
            "labels": [u["label"] for u in units],
            "urls": [u["home"] for u in units],
            "series": [
                {"name": _("入学率"), "data": [_num(u["enrol"]["v"]) for u in units]},
                {"name": _("巩固率"), "data": [_num(u["retention"]["v"]) for u in units]},
            ],
            "targets": [{"name": _("入学率目标 100%"), "value": 100},
                        {"name": _("巩固率目标 99%"), "value": 99}],
        }
    elif data["level"] == "schools":
        charts["ranking"] = {
            "kind": "stack",
            "title": _("各校待办（由多到少）"),
            "labels": [u["label"] for u in units],
            "urls": [u["home"] or u["f"]["alerts_open"]["url"] for u in units],
            "series": [
                {"name": _("疑似辍学待核实"), "data": [u["f"]["alerts_open"]["v"] for u in units]},
                {"name": _("劝返中"), "data": [u["f"]["cases_open"]["v"] for u in units]},
                {"name": _("已上报属地政府"), "data": [u["f"]["cases_escalated"]["v"] for u in units]},
                {"name": _("反馈核查逾期"), "data": [u["f"]["feedback_overdue"]["v"] for u in units]},
            ],
        }
    trend = data["trend"]
    charts["trend"] = {
        "title": _("疑似辍学预警月度趋势"),
        "labels": [t["month"] for t in trend],
        "series": [
            {"name": _("新增预警"), "data": [t["raised"]["v"] for t in trend],
             "urls": [t["raised"]["url"] for t in trend]},
            {"name": _("办结预警"), "data": [t["closed"]["v"] for t in trend],
             "urls": [t["closed"]["url"] for t in trend]},
        ],
    }
    charts["funnel"] = {
        "title": _("预警→确认→立案→复学/上报"),
        "steps": [{"name": s["label"], "value": s["v"], "url": s["url"]} for s in data["funnel"]],
    }
    rules = data["rules"]
    charts["rules"] = {
        "title": _("各规则预警质量"),
        "labels": [r["label"] for r in rules],
        "series": [
            {"name": _("已确认"), "data": [r["confirmed"]["v"] for r in rules],
             "urls": [r["confirmed"]["url"] for r in rules]},
            {"name": _("已排除"), "data": [r["dismissed"]["v"] for r in rules],
             "urls": [r["dismissed"]["url"] for r in rules]},
            {"name": _("待核实"), "data": [r["open"]["v"] for r in rules],
             "urls": [r["open"]["url"] for r in rules]},
            {"name": _("已自动解除"), "data": [r["resolved"]["v"] for r in rules],
             "urls": [r["resolved"]["url"] for r in rules]},
        ],
    }
    for spec in charts.values():
        values = [v for series in spec.get("series", []) for v in series["data"] if v]
        values += [step["value"] for step in spec.get("steps", []) if step["value"]]
        if not values:
            spec["empty"] = True
            spec["emptyText"] = _("本期暂无数据")
    return charts
