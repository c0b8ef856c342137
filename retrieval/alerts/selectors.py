"""Reads of the alerts: which alerts open a case, who may decide or review one, what happens
next, and how good each rule is (false-alarm rates)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from kongchuo.access.scoping import Role
from retrieval.models import Alert, AlertDecision, Level
from retrieval.wording import looks_like_id
from retrieval.workflow import level_of
from students.models import User

# Rules whose alerts are about a child possibly out of school: confirming one opens a case.
# The others (送教次数不足, 资助未覆盖, 劝返超期, school-level findings) are acknowledged only.


# Rules whose alerts are about a child possibly out of school: confirming one opens a case.
# The others (送教次数不足, 资助未覆盖, 劝返超期, school-level findings) are acknowledged only.
DROPOUT_RULES = frozenset({
    Alert.Rule.RETURN_CHECK, Alert.Rule.GRADE9, Alert.Rule.CENSUS, Alert.Rule.ENTRY,
    Alert.Rule.FEEDBACK, Alert.Rule.ABSENCE, Alert.Rule.EXPIRY,
})


def alert_opens_case(alert: Alert) -> bool:
    return alert.rule in DROPOUT_RULES and bool(alert.student_id or looks_like_id(alert.subject))


def alert_also_reasons(alert: Alert) -> list[str]:
    """The other rules of the same sweep that hold for this child (one alert per child per
    sweep carries every reason: retrieval.sweeps.runner.merge_into_siblings), as labels."""
    labels = dict(Alert.Rule.choices)
    out = []
    for reason in (alert.detail or {}).get("also", []):
        label = str(labels.get(reason.get("rule"), reason.get("rule", "")))
        kind = {"grade1": _("适龄未入一年级"), "grade7": _("小学毕业未入初一")}.get(reason.get("kind"))
        out.append(f"{label}（{kind}）" if kind else label)
    return out


def feedback_item_id(alert: Alert) -> int | None:
    """A feedback_verification alert stands for one FeedbackItem: it is answered there (核查结果),
    not confirmed or dismissed here, so the two never disagree."""
    if alert.rule != Alert.Rule.FEEDBACK:
        return None
    item = (alert.detail or {}).get("item")
    return item if isinstance(item, int) else None


def can_decide_alert(user: User, alert: Alert) -> bool:
    if alert.status != Alert.Status.OPEN or feedback_item_id(alert) is not None:
        return False
    level = level_of(user)
    if level == Role.COUNTY:
        return True
    if level == Role.TOWNSHIP:
        # The center school may act for a school with no account of its own (教学点).
        return alert.level in (Level.SCHOOL, Level.TOWNSHIP)
    if level == Role.SCHOOL:
        return alert.level == Level.SCHOOL and alert.school_id == user.school_id
    return False


def can_review_decision(user: User, decision: AlertDecision) -> bool:
    return (decision.review_status == AlertDecision.Review.PENDING
            and level_of(user) == decision.review_level
            and decision.decided_by_id != user.pk)


def alert_next_step(alert: Alert, pending_review: AlertDecision | None = None) -> dict | None:
    """What happens next on an alert and who must act ({"who", "what"}); None when done."""
    if pending_review is not None:
        return {"who": Level(pending_review.review_level).label,
                "what": _("复核学校的排除申请：同意排除，或驳回重新核实。")}
    if alert.status != Alert.Status.OPEN:
        return None
    if feedback_item_id(alert) is not None:
        return {"who": Level(alert.level).label, "what": _("在反馈名单核查页填写核查结果并上传证明。")}
    if alert.rule in Alert.REMINDER_RULES:
        return {"who": Level(alert.level).label,
                "what": _("工作提醒：按提醒补登台账或办理；办结后下次排查自动解除。")}
    return {"who": Level(alert.level).label,
            "what": _("核实孩子是否在校：确属辍学的确认并立案劝返；不属辍学的填写原因、上传证明后排除，"
                      "由上一级复核。")}


# --------------------------------------------------------------------------- rule quality


def rule_quality(*, since: dt.date | None = None) -> list[dict]:
    """Per rule and township: alerts raised, confirmed, dismissed (upheld or pending review)
    and still open, with the false-alarm rate = dismissed ÷ (confirmed + dismissed)."""
    qs = Alert.objects.all()
    if since:
        qs = qs.filter(raised_at__date__gte=since)
    rows = (
        qs.annotate(tid=Coalesce("school__township_id", "township_id"),
                    tname=Coalesce("school__township__name", "township__name"))
        .values("rule", "tid", "tname")
        .annotate(total=Count("pk"),
                  confirmed=Count("pk", filter=Q(status=Alert.Status.CONFIRMED)),
                  dismissed=Count("pk", filter=Q(status=Alert.Status.DISMISSED)),
                  open=Count("pk", filter=Q(status=Alert.Status.OPEN)),
                  resolved=Count("pk", filter=Q(status=Alert.Status.RESOLVED)))
        .order_by("rule", "tname")
    )
    labels = dict(Alert.Rule.choices)
    out = []
    for r in rows:
        decided = r["confirmed"] + r["dismissed"]
        out.append({**r, "rule_label": labels.get(r["rule"], r["rule"]),
                    "tname": r["tname"] or str(_("县直/未定位")),
                    "false_rate": (r["dismissed"] / decided) if decided else None})
    return out


def overturned_counts() -> dict[str, int]:
    """Per rule: dismissals a reviewer overturned (a school's wrong 'not a dropout')."""
    rows = (AlertDecision.objects.filter(review_status=AlertDecision.Review.OVERTURNED)
            .values("alert__rule").annotate(n=Count("pk")))
    return {r["alert__rule"]: r["n"] for r in rows}


def rule_totals(rows: list[dict]) -> list[dict]:
    """Collapse `rule_quality` rows to one per rule."""
    totals: dict[str, dict] = {}
    for r in rows:
        t = totals.setdefault(r["rule"], {"rule": r["rule"], "rule_label": r["rule_label"],
                                          "total": 0, "confirmed": 0, "dismissed": 0, "open": 0,
                                          "resolved": 0})
        for k in ("total", "confirmed", "dismissed", "open", "resolved"):
            t[k] += r[k]
    for t in totals.values():
        decided = t["confirmed"] + t["dismissed"]
        t["false_rate"] = t["dismissed"] / decided if decided else None
    return list(totals.values())
