"""Reads of the 劝返 case: who may take which step, what happens next, overdue cases, counts
and the case's timeline.

For the `overdue` sweep: call `overdue_cases(as_of)` (one dict per overdue case, with the level
the alert must go to) or `overdue_case_ids(as_of)` (just the ids, by kind). Both are set-based:
two queries whatever the county's size.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, TypedDict

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kongchuo.access.scoping import OVERSIGHT_TOWNSHIP, Role
from retrieval.models import AlertDecision, ClosureRequest, Escalation, Level, RetrievalCase
from retrieval.wording import alert_period
from retrieval.workflow import STAFF_ROLES, level_above_school, level_of
from students.models import User

if TYPE_CHECKING:  # a typing-only helper of django-stubs (a dev dependency)
    from django_stubs_ext import WithAnnotations

ATTEMPT_INTERVAL_DAYS = 7  # an active case needs a persuasion attempt at least weekly
ESCALATION_DAYS = 15  # default deadline for the township government


class LastAttempt(TypedDict):
    """The annotation the attempt-overdue querysets carry (the latest attempt's day)."""

    last_attempt: dt.date | None

# --------------------------------------------------------------------------- permissions
# Each predicate assumes the object was fetched through `visible_to(user)` (scope already
# checked); it decides only whether this user's level may take the step now.


def can_work_case(user: User, case: RetrievalCase) -> bool:
    """Edit the case, record attempts and placement: school, township and county staff."""
    return case.is_active and level_of(user) in STAFF_ROLES


def can_escalate(user: User, case: RetrievalCase) -> bool:
    """The center school (or a county-direct school itself, or the county) reports a failed
    persuasion to the township government (work plan §三(三)1)."""
    if case.status != RetrievalCase.Status.OPEN or case.township_id is None:
        return False
    level = level_of(user)
    if level in (Role.COUNTY, Role.TOWNSHIP):
        return True
    return (level == Role.SCHOOL and case.school_id == user.school_id
            and level_above_school(case.school) == Level.COUNTY)


def can_answer_escalation(user: User, escalation: Escalation) -> bool:
    return (escalation.status == Escalation.Status.PENDING
            and level_of(user) == Role.TOWNSHIP_GOV
            and user.township_id == escalation.township_id)


def can_request_closure(user: User, case: RetrievalCase) -> bool:
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


def can_decide_closure(user: User, closure: ClosureRequest) -> bool:
    return (closure.status == ClosureRequest.Status.PENDING
            and level_of(user) == closure.approver_level
            and closure.requested_by_id != user.pk)


def closure_approvers_hint(closure: ClosureRequest) -> str:
    """Who may approve a pending 销号 request, in words for the case page."""
    if closure.approver_level == Level.COUNTY:
        return str(_("县教育局其他账号（申请人本人不能审批）"))
    return str(_("乡镇中心学校（申请人本人不能审批）"))


def case_next_step(case: RetrievalCase, *, has_failed_attempt: bool,
                   pending_escalation: Escalation | None = None,
                   pending_closure: ClosureRequest | None = None) -> dict | None:
    """What happens next on a case and who must act, in words for the case page
    ({"who": ..., "what": ...}); None once the case is closed."""
    S = RetrievalCase.Status
    school = case.school.name if case.school is not None else _("户籍所在乡镇中心学校")
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


# --------------------------------------------------------------------------- overdue


def _no_attempt_cases(as_of: dt.date) -> QuerySet[WithAnnotations[RetrievalCase, LastAttempt]]:
    cutoff = as_of - dt.timedelta(days=ATTEMPT_INTERVAL_DAYS)
    return (
        RetrievalCase.objects.filter(status=RetrievalCase.Status.OPEN, opened_at__date__lte=as_of)
        .annotate(last_attempt=Max("attempts__attempted_on",
                                   filter=Q(attempts__attempted_on__lte=as_of)))
        .filter(Q(last_attempt__lte=cutoff)
                | Q(last_attempt__isnull=True, opened_at__date__lte=cutoff))
    )


def _unanswered_escalations(as_of: dt.date) -> QuerySet[Escalation]:
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
    for e in _unanswered_escalations(as_of).order_by("deadline").values(
            "case_id", "case__id_number", "case__name", "case__student_id", "case__school_id",
            "case__township_id", "deadline"):
        if e["case_id"] in seen:
            continue
        seen.add(e["case_id"])
        out.append({"kind": "escalation_unanswered", "case_id": e["case_id"],
                    "id_number": e["case__id_number"], "name": e["case__name"],
                    "student_id": e["case__student_id"], "school_id": e["case__school_id"],
                    "township_id": e["case__township_id"], "since": e["deadline"],
                    "level": Level.COUNTY})
    return out


def cases_needing_attempt(queryset: QuerySet[RetrievalCase], as_of: dt.date,
                          ) -> QuerySet[WithAnnotations[RetrievalCase, LastAttempt]]:
    """Active, non-escalated cases of `queryset` due a persuasion attempt by `as_of`."""
    cutoff = as_of - dt.timedelta(days=ATTEMPT_INTERVAL_DAYS)
    return (
        queryset.filter(status=RetrievalCase.Status.OPEN)
        .annotate(last_attempt=Max("attempts__attempted_on"))
        .filter(Q(last_attempt__lte=cutoff) | Q(last_attempt__isnull=True, opened_at__date__lte=cutoff))
    )


# --------------------------------------------------------------------------- figures


def case_counts(user: User) -> dict[str, int]:
    return RetrievalCase.objects.visible_to(user).aggregate(
        open=Count("pk", filter=Q(status=RetrievalCase.Status.OPEN)),
        escalated=Count("pk", filter=Q(status=RetrievalCase.Status.ESCALATED)),
        closure_requested=Count("pk", filter=Q(status=RetrievalCase.Status.CLOSURE_REQUESTED)),
        closed=Count("pk", filter=Q(status=RetrievalCase.Status.CLOSED)),
        returned=Count("pk", filter=Q(status=RetrievalCase.Status.CLOSED,
                                      closure_category=RetrievalCase.Closure.RETURNED)),
    )


def case_timeline(case: RetrievalCase, user: User) -> list[dict]:
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
    for event in events:  # show the day it happened only where it differs from the signing day
        if event.get("date") == timezone.localtime(event["at"]).date():
            event["date"] = None
    return events
