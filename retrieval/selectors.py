"""Multi-model reads of the 劝返 workflow: who may do what, inboxes, overdue cases, rule quality.

For the `overdue` sweep: call `overdue_cases(as_of)` (one dict per overdue case, with the level
the alert must go to) or `overdue_case_ids(as_of)` (just the ids, by kind). Both are set-based:
two queries whatever the county's size.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kongchuo.access.idnumbers import mask_id
from kongchuo.access.scoping import OVERSIGHT_TOWNSHIP, Role, scope_of
from retrieval.cases import (
    AlertDecision,
    ClosureRequest,
    Escalation,
    RectificationOrder,
    RetrievalCase,
    SupervisionFinding,
)
from retrieval.models import Alert, FeedbackItem, Level
from retrieval.wording import alert_period

ATTEMPT_INTERVAL_DAYS = 7  # an active case needs a persuasion attempt at least weekly
ESCALATION_DAYS = 15  # default deadline for the township government
STAFF_ROLES = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)

# Rules whose alerts are about a child possibly out of school: confirming one opens a case.
# The others (送教次数不足, 资助未覆盖, 劝返超期, school-level findings) are acknowledged only.
DROPOUT_RULES = frozenset({
    Alert.Rule.RETURN_CHECK, Alert.Rule.GRADE9, Alert.Rule.CENSUS, Alert.Rule.ENTRY,
    Alert.Rule.FEEDBACK, Alert.Rule.ABSENCE, Alert.Rule.EXPIRY,
})

# --------------------------------------------------------------------------- levels


def level_of(user) -> str | None:
    scope = scope_of(user)
    return scope.role if scope is not None else None


def level_above_school(school) -> str:
    """The level that reviews a school's decisions: its township center school, or the county
    for a county-direct school."""
    if school is not None and school.oversight == OVERSIGHT_TOWNSHIP:
        return Level.TOWNSHIP
    return Level.COUNTY


def level_above(level: str, school=None) -> str:
    if level == Level.SCHOOL:
        return level_above_school(school)
    return Level.COUNTY


def alert_opens_case(alert: Alert) -> bool:
    return alert.rule in DROPOUT_RULES and bool(alert.student_id or _looks_like_id(alert.subject))


def _looks_like_id(subject: str) -> bool:
    return len(subject) == 18 and subject[:17].isdigit()


def alert_label(alert: Alert) -> str:
    """What to call an alert on a page: the child's name, else its subject with any ID masked."""
    if alert.name:
        return alert.name
    return mask_id(alert.subject) if _looks_like_id(alert.subject) else alert.subject


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


def alert_id_masked(alert: Alert) -> str:
    """The ID-number column of an alert: masked, or a dash when the subject is not a child's
    ID (a school's grade-9 drop "school:CODE", a feedback row "row:N": alert_label names it)."""
    return mask_id(alert.subject) if _looks_like_id(alert.subject) else "—"


# --------------------------------------------------------------------------- permissions
# Each predicate assumes the object was fetched through `visible_to(user)` (scope already
# checked); it decides only whether this user's level may take the step now.


def feedback_item_id(alert: Alert) -> int | None:
    """A feedback_verification alert stands for one FeedbackItem: it is answered there (核查结果),
    not confirmed or dismissed here, so the two never disagree."""
    if alert.rule != Alert.Rule.FEEDBACK:
        return None
    item = (alert.detail or {}).get("item")
    return item if isinstance(item, int) else None


def can_decide_alert(user, alert: Alert) -> bool:
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


def can_review_decision(user, decision: AlertDecision) -> bool:
    return (decision.review_status == AlertDecision.Review.PENDING
            and level_of(user) == decision.review_level
            and decision.decided_by_id != user.pk)


def can_work_case(user, case: RetrievalCase) -> bool:
    """Edit the case, record attempts and placement: school, township and county staff."""
    return case.is_active and level_of(user) in STAFF_ROLES


def can_escalate(user, case: RetrievalCase) -> bool:
    """The center school (or a county-direct school itself, or the county) reports a failed
    persuasion to the township government (work plan §三(三)1)."""
    if case.status != RetrievalCase.Status.OPEN or case.township_id is None:
        return False
    level = level_of(user)
    if level in (Role.COUNTY, Role.TOWNSHIP):
        return True
    return (level == Role.SCHOOL and case.school_id == user.school_id
            and level_above_school(case.school) == Level.COUNTY)


def can_answer_escalation(user, escalation: Escalation) -> bool:
    return (escalation.status == Escalation.Status.PENDING
            and level_of(user) == Role.TOWNSHIP_GOV
            and user.township_id == escalation.township_id)


def can_request_closure(user, case: RetrievalCase) -> bool:
    return case.status in (RetrievalCase.Status.OPEN, RetrievalCase.Status.ESCALATED) and (
        level_of(user) in STAFF_ROLES)


def closure_approver_level(case: RetrievalCase, requester_level: str) -> str:
    """School requests → township approves (county for county-direct schools); township or
    county requests, and every escalated case → county."""
    if case.escalations.exists():
        return Level.COUNTY
    if requester_level == Level.SCHOOL:
        return level_above_school(case.school)
    return Level.COUNTY


def can_decide_closure(user, closure: ClosureRequest) -> bool:
    return (closure.status == ClosureRequest.Status.PENDING
            and level_of(user) == closure.approver_level
            and closure.requested_by_id != user.pk)


def can_answer_feedback(user, item: FeedbackItem) -> bool:
    return level_of(user) in STAFF_ROLES


def can_report_rectification(user, order: RectificationOrder) -> bool:
    return order.status == RectificationOrder.Status.OPEN and level_of(user) in (
        Role.SCHOOL, Role.TOWNSHIP)


def case_next_step(case: RetrievalCase, *, has_failed_attempt: bool, pending_escalation=None,
                   pending_closure=None) -> dict | None:
    """What happens next on a case and who must act, in words for the case page
    ({"who": ..., "what": ...}); None once the case is closed."""
    S = RetrievalCase.Status
    school = case.school.name if case.school_id else _("户籍所在乡镇中心学校")
    above = (_("县教育局") if level_above_school(case.school) == Level.COUNTY
             else _("乡镇中心学校"))
    if case.status == S.CLOSED:
        return None
    if case.status == S.CLOSURE_REQUESTED and pending_closure is not None:
        who = _("县教育局") if pending_closure.approver_level == Level.COUNTY else _("乡镇中心学校")
        return {"who": who, "what": _("审批销号申请（同意销号或退回）；申请人本人不能审批。")}
    if case.status == S.ESCALATED and pending_escalation is not None:
        return {"who": _("属地政府（%(t)s）") % {"t": pending_escalation.township.name},
                "what": _("在 %(d)s 前依法采取措施（如下达限期复学通知书）并登记处置情况；"
                          "学校继续劝返，孩子复学后申请销号。")
                % {"d": f"{pending_escalation.deadline:%Y-%m-%d}"}}
    if case.status == S.ESCALATED:
        return {"who": school, "what": _("属地政府已处置：继续劝返，孩子复学或安置后登记安置并申请销号。")}
    if case.placement:
        return {"who": school, "what": _("已登记安置：上传复学（在读）证明，申请销号。")}
    if has_failed_attempt:
        return {"who": above, "what": _("劝返无效：须上报属地政府，由属地政府依法采取措施。")}
    return {"who": school, "what": _("每7天至少劝返一次并登记；劝返成功后登记安置并申请销号，"
                                     "劝返无效则登记“劝返无效”，由%(above)s上报属地政府。")
            % {"above": above}}


def alert_next_step(alert: Alert, pending_review=None) -> dict | None:
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


# --------------------------------------------------------------------------- overdue


def _no_attempt_cases(as_of: dt.date):
    cutoff = as_of - dt.timedelta(days=ATTEMPT_INTERVAL_DAYS)
    return (
        RetrievalCase.objects.filter(status=RetrievalCase.Status.OPEN, opened_at__date__lte=as_of)
        .annotate(last_attempt=Max("attempts__attempted_on",
                                   filter=Q(attempts__attempted_on__lte=as_of)))
        .filter(Q(last_attempt__lte=cutoff)
                | Q(last_attempt__isnull=True, opened_at__date__lte=cutoff))
    )


def _unanswered_escalations(as_of: dt.date):
    return Escalation.objects.filter(
        status=Escalation.Status.PENDING, deadline__lt=as_of,
        case__status=RetrievalCase.Status.ESCALATED,
    )


def overdue_case_ids(as_of: dt.date) -> dict[str, list[int]]:
    """Open cases with no attempt for 7 days, and escalated cases whose escalation is still
    unanswered after its deadline (ids, sorted)."""
    return {
        "no_attempt": sorted(_no_attempt_cases(as_of).values_list("pk", flat=True)),
        "escalation_unanswered": sorted(set(
            _unanswered_escalations(as_of).values_list("case_id", flat=True))),
    }


def overdue_cases(as_of: dt.date) -> list[dict]:
    """One dict per overdue case for the `overdue` sweep: `kind` ("no_attempt" or
    "escalation_unanswered"), `case_id`, `id_number`, `name`, `student_id`, `school_id`,
    `township_id`, `since` (last attempt / opening date, or the missed deadline) and `level`,
    the level the alert goes to (one above whoever was late)."""
    out: list[dict] = []
    rows = _no_attempt_cases(as_of).values(
        "pk", "id_number", "name", "student_id", "school_id", "township_id", "last_attempt",
        "opened_at", "school__oversight")
    for r in rows:
        level = (Level.TOWNSHIP if r["school_id"] and r["school__oversight"] == OVERSIGHT_TOWNSHIP
                 else Level.COUNTY)
        since = r["last_attempt"] or r["opened_at"].date()
        out.append({"kind": "no_attempt", "case_id": r["pk"], "id_number": r["id_number"],
                    "name": r["name"], "student_id": r["student_id"], "school_id": r["school_id"],
                    "township_id": r["township_id"], "since": since, "level": level})
    seen: set[int] = set()
    for r in _unanswered_escalations(as_of).order_by("deadline").values(
            "case_id", "case__id_number", "case__name", "case__student_id", "case__school_id",
            "case__township_id", "deadline"):
        if r["case_id"] in seen:
            continue
        seen.add(r["case_id"])
        out.append({"kind": "escalation_unanswered", "case_id": r["case_id"],
                    "id_number": r["case__id_number"], "name": r["case__name"],
                    "student_id": r["case__student_id"], "school_id": r["case__school_id"],
                    "township_id": r["case__township_id"], "since": r["deadline"],
                    "level": Level.COUNTY})
    return out


def cases_needing_attempt(queryset, as_of: dt.date):
    """Active, non-escalated cases of `queryset` due a persuasion attempt by `as_of`."""
    cutoff = as_of - dt.timedelta(days=ATTEMPT_INTERVAL_DAYS)
    return (
        queryset.filter(status=RetrievalCase.Status.OPEN)
        .annotate(last_attempt=Max("attempts__attempted_on"))
        .filter(Q(last_attempt__lte=cutoff) | Q(last_attempt__isnull=True, opened_at__date__lte=cutoff))
    )


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
                    "tname": r["tname"] or "县直/未定位",
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


# --------------------------------------------------------------------------- supervision


def teacher_conduct_counts() -> list[dict]:
    """Findings that a teacher's conduct drove a child out, per township (规范办学行为)."""
    return list(
        SupervisionFinding.objects.filter(kind=SupervisionFinding.Kind.TEACHER_CONDUCT)
        .annotate(tname=Coalesce("school__township__name", "township__name"))
        .values("tname").annotate(n=Count("pk")).order_by("-n", "tname")
    )


# --------------------------------------------------------------------------- figures


def case_counts(user) -> dict[str, int]:
    return RetrievalCase.objects.visible_to(user).aggregate(
        open=Count("pk", filter=Q(status=RetrievalCase.Status.OPEN)),
        escalated=Count("pk", filter=Q(status=RetrievalCase.Status.ESCALATED)),
        closure_requested=Count("pk", filter=Q(status=RetrievalCase.Status.CLOSURE_REQUESTED)),
        closed=Count("pk", filter=Q(status=RetrievalCase.Status.CLOSED)),
        returned=Count("pk", filter=Q(status=RetrievalCase.Status.CLOSED,
                                      closure_category=RetrievalCase.Closure.RETURNED)),
    )


def case_timeline(case: RetrievalCase, user) -> list[dict]:
    """Every dated, signed step of a case that `user` may see, in the order it was recorded.
    `at` is when the step was signed; `date` (if any) is the day it happened, which may be
    earlier (a visit logged the next morning). A confirmation of an alert the user may not see
    (a grade-9 screening alert, below the county) shows as the plain opening of the case."""
    events: list[dict] = []
    decisions = list(AlertDecision.objects.visible_to(user).filter(case=case)
                     .select_related("decided_by", "alert"))
    for d in decisions:
        events.append({"at": d.decided_at, "who": d.decided_by, "kind": _("确认疑似辍学"),
                       "text": f"{d.alert.get_rule_display()} {alert_period(d.alert)} · "
                               f"{case.get_reason_display()} {d.note}".strip()})
    if not decisions:
        events.append({"at": case.opened_at, "who": case.opened_by, "kind": _("立案"),
                       "text": f"{case.get_reason_display()} {case.reason_note}".strip()})
    for a in case.attempts.select_related("recorded_by"):
        events.append({"at": a.recorded_at, "date": a.attempted_on, "who": a.recorded_by,
                       "kind": f"{_('劝返')}·{a.get_method_display()}",
                       "text": f"{a.people}：{a.result}（{a.get_outcome_display()}）"})
    for e in case.escalations.select_related("escalated_by", "answered_by", "township"):
        events.append({"at": e.escalated_at, "who": e.escalated_by, "kind": _("上报属地政府"),
                       "text": f"{e.township.name} · {_('期限')} {e.deadline:%Y-%m-%d} · {e.note}"})
        if e.answered_at:
            events.append({"at": e.answered_at, "date": e.measure_date, "who": e.answered_by,
                           "kind": _("属地政府处置"),
                           "text": f"{e.get_measure_display()} {e.notice_number} {e.measure_note}"})
    if case.placement:
        placed = (case.history.filter(placement=case.placement).order_by("history_date")
                  .values_list("history_date", flat=True).first())
        events.append({"at": placed or case.updated_at, "date": case.placement_date,
                       "who": case.placed_by, "kind": _("安置"),
                       "text": f"{case.get_placement_display()} {case.placement_note}".strip()})
    for c in case.closures.select_related("requested_by", "decided_by"):
        events.append({"at": c.requested_at, "who": c.requested_by, "kind": _("申请销号"),
                       "text": f"{c.get_category_display()} · {c.note}"})
        if c.decided_at:
            events.append({"at": c.decided_at, "who": c.decided_by,
                           "kind": _("销号审批") + "·" + c.get_status_display(),
                           "text": c.decision_note})
    events.sort(key=lambda e: e["at"])
    for e in events:  # show the day it happened only where it differs from the signing day
        if e.get("date") == timezone.localtime(e["at"]).date():
            e["date"] = None
    return events


__all__ = [
    "ATTEMPT_INTERVAL_DAYS", "DROPOUT_RULES", "ESCALATION_DAYS", "alert_opens_case",
    "can_answer_escalation", "can_answer_feedback", "can_decide_alert", "can_decide_closure",
    "can_escalate", "can_request_closure", "can_review_decision", "can_work_case",
    "case_counts", "case_next_step", "case_timeline", "closure_approver_level", "overdue_case_ids",
    "overdue_cases", "rule_quality",
]
