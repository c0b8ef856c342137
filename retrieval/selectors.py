"""Multi-model reads of the 劝返 workflow: who may do what, inboxes, overdue cases, rule quality.

For the `overdue` sweep: call `overdue_cases(as_of)` (one dict per overdue case, with the level
the alert must go to) or `overdue_case_ids(as_of)` (just the ids, by kind). Both are set-based:
two queries whatever the county's size.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Exists, Max, OuterRef, Q
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kongchuo.idnumbers import mask_id
from kongchuo.scoping import OVERSIGHT_TOWNSHIP, Role, scope_of
from retrieval.cases import (
    AlertDecision,
    ClosureRequest,
    Escalation,
    PersuasionAttempt,
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


# --------------------------------------------------------------------------- inbox


@dataclass
class InboxSection:
    key: str
    title: str
    count: int
    url: str
    items: list[dict] = field(default_factory=list)
    tone: str = "primary"


INBOX_ITEMS = 8


def _section(key, title, qs, url, label, due=None, tone="primary") -> InboxSection:
    count = qs.count()
    items = []
    if count:
        for obj in qs[:INBOX_ITEMS]:
            items.append({"label": label(obj), "url": _item_url(key, obj),
                          "due": due(obj) if due else None})
    return InboxSection(key, str(title), count, url, items, tone)


def _item_url(key: str, obj) -> str:
    if isinstance(obj, Alert):
        return reverse("retrieval:alert", args=[obj.pk])
    if isinstance(obj, AlertDecision):
        return reverse("retrieval:alert", args=[obj.alert_id])
    if isinstance(obj, RetrievalCase):
        return reverse("retrieval:case", args=[obj.pk])
    if isinstance(obj, ClosureRequest | Escalation):
        return reverse("retrieval:case", args=[obj.case_id])
    if isinstance(obj, FeedbackItem):
        return reverse("retrieval:feedback_item", args=[obj.pk])
    if isinstance(obj, RectificationOrder):
        return reverse("retrieval:rectification", args=[obj.pk])
    return "#"


def inbox_for(user, as_of: dt.date) -> list[InboxSection]:
    """What is due at the user's scope, most urgent first. A handful of count queries."""
    level = level_of(user)
    if level is None:
        return []
    sections: list[InboxSection] = []
    alert_url = reverse("retrieval:alerts")
    case_url = reverse("retrieval:cases")
    if level == Role.TOWNSHIP_GOV:
        esc = (Escalation.objects.filter(township_id=user.township_id,
                                         status=Escalation.Status.PENDING)
               .select_related("case").order_by("deadline"))
        sections.append(_section("escalations", _("待处置的上报案件"), esc,
                                 f"{case_url}?status=escalated",
                                 lambda e: e.case.name, lambda e: e.deadline, "danger"))
        return sections

    alerts = Alert.objects.visible_to(user).open().select_related("school")
    my_levels = {Role.SCHOOL: [Level.SCHOOL], Role.TOWNSHIP: [Level.TOWNSHIP],
                 Role.COUNTY: [Level.COUNTY]}[level]
    sections.append(_section(
        "alerts", _("待核实的疑似辍学预警"),
        # Feedback alerts are answered on their feedback row: the "feedback" section lists those.
        alerts.filter(level__in=my_levels).exclude(rule=Alert.Rule.FEEDBACK).order_by("due_date", "raised_at"),
        f"{alert_url}?status=open",
        lambda a: f"{alert_label(a)} · {a.get_rule_display()}", lambda a: a.due_date, "warning"))

    if level in (Role.TOWNSHIP, Role.COUNTY):
        reviews = (AlertDecision.objects.visible_to(user)
                   .filter(review_status=AlertDecision.Review.PENDING, review_level=level)
                   .select_related("alert").order_by("decided_at"))
        sections.append(_section("reviews", _("待复核的排除申请"), reviews,
                                 reverse("retrieval:approvals"),
                                 lambda d: f"{alert_label(d.alert)} · {d.get_reason_display()}"))
        closures = (ClosureRequest.objects
                    .filter(case__in=RetrievalCase.objects.visible_to(user),
                            status=ClosureRequest.Status.PENDING, approver_level=level)
                    .select_related("case").order_by("requested_at"))
        sections.append(_section("closures", _("待审批的销号申请"), closures,
                                 reverse("retrieval:approvals"),
                                 lambda c: f"{c.case.name} · {c.get_category_display()}"))
        to_escalate = (RetrievalCase.objects.visible_to(user)
                       .filter(status=RetrievalCase.Status.OPEN)
                       .filter(Exists(PersuasionAttempt.objects.filter(
                           case=OuterRef("pk"), outcome=PersuasionAttempt.Outcome.FAILED))))
        sections.append(_section("to_escalate", _("劝返无效待上报属地政府"), to_escalate,
                                 f"{case_url}?status=open", lambda c: c.name, tone="danger"))

    cases = RetrievalCase.objects.visible_to(user)
    sections.append(_section("attempts", _("超过7天未劝返的案件"),
                             cases_needing_attempt(cases, as_of).order_by("last_attempt", "opened_at"),
                             f"{case_url}?status=open", lambda c: c.name,
                             lambda c: c.last_attempt, "danger"))
    if level in (Role.TOWNSHIP, Role.COUNTY):
        late = (Escalation.objects.filter(case__in=cases, status=Escalation.Status.PENDING,
                                          deadline__lt=as_of)
                .select_related("case").order_by("deadline"))
        sections.append(_section("escalations", _("属地政府逾期未处置"), late,
                                 f"{case_url}?status=escalated", lambda e: e.case.name,
                                 lambda e: e.deadline, "danger"))

    items = FeedbackItem.objects.visible_to(user).filter(result="")
    if level == Role.COUNTY:
        items = items.filter(school__isnull=True, township__isnull=True)
    elif level == Role.TOWNSHIP:
        items = items.filter(school__isnull=True)
    sections.append(_section("feedback", _("待核查的反馈名单"), items.order_by("due_date", "pk"),
                             reverse("retrieval:feedback"), lambda i: i.name, lambda i: i.due_date))

    orders = RectificationOrder.objects.visible_to(user)
    if level == Role.COUNTY:
        orders = orders.filter(status=RectificationOrder.Status.REPORTED)
        title = _("待验收的整改")
    else:
        orders = orders.filter(status=RectificationOrder.Status.OPEN)
        title = _("待整改的督查问题")
    sections.append(_section("rectifications", title, orders.select_related("finding"),
                             reverse("retrieval:rectifications"),
                             lambda o: o.finding.get_kind_display(), lambda o: o.deadline))
    return sections


def inbox_total(sections: list[InboxSection]) -> int:
    return sum(s.count for s in sections)


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


def pending_approvals(user):
    """(decisions awaiting review, closures awaiting approval) at the user's level."""
    level = level_of(user)
    if level not in (Role.TOWNSHIP, Role.COUNTY):
        return AlertDecision.objects.none(), ClosureRequest.objects.none()
    decisions = (AlertDecision.objects.visible_to(user)
                 .filter(review_status=AlertDecision.Review.PENDING, review_level=level)
                 .select_related("alert", "alert__school", "decided_by")
                 .prefetch_related("evidence").order_by("decided_at"))
    closures = (ClosureRequest.objects
                .filter(case__in=RetrievalCase.objects.visible_to(user),
                        status=ClosureRequest.Status.PENDING, approver_level=level)
                .select_related("case", "case__school", "requested_by")
                .prefetch_related("evidence").order_by("requested_at"))
    return decisions, closures


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
    "case_counts", "case_timeline", "closure_approver_level", "inbox_for", "overdue_case_ids",
    "overdue_cases", "pending_approvals", "rule_quality",
]
