"""What is waiting on a user: one definition per kind of pending work (我的待办).

Every "pending" number a page shows — the home cards, the inbox sections, the e-mail digest —
is the row count of one `Pending.rows(user, as_of)` queryset, and links to a page listing
exactly those rows (`/retrieval/inbox/<key>/`, or the approvals page for the approvals), so a
number always agrees with its list.

Suspected dropouts (疑似辍学) and work reminders (工作提醒: 资助未覆盖, 送教不足, expiries, overdue
cases) are kept apart (`Alert.SUSPECTED_RULES` / `Alert.REMINDER_RULES`): a reminder is work for
the clerk, not a child possibly out of school.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kongchuo.access.scoping import OVERSIGHT_COUNTY, OVERSIGHT_TOWNSHIP, Role, scope_of
from kongchuo.calendar.schoolyear import today
from ledgers.models import Deferral
from retrieval.cases.selectors import cases_needing_attempt
from retrieval.models import (
    Alert,
    AlertDecision,
    ClosureRequest,
    Escalation,
    FeedbackItem,
    Level,
    PersuasionAttempt,
    RectificationOrder,
    RetrievalCase,
)
from retrieval.wording import alert_label
from students.models import TransferRequest, User

STAFF = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
REVIEWERS = (Role.COUNTY, Role.TOWNSHIP)
INBOX_ITEMS = 8  # rows shown per section on the inbox and the home page
_MY_LEVEL = {Role.SCHOOL: Level.SCHOOL, Role.TOWNSHIP: Level.TOWNSHIP, Role.COUNTY: Level.COUNTY}


def _alerts_at_my_level(user) -> QuerySet:
    return (Alert.objects.visible_to(user).open()
            .filter(level=_MY_LEVEL[scope_of(user).role]).select_related("school"))


def _suspected(user, as_of):
    # Feedback alerts are answered on their feedback row: the "feedback" section lists those.
    return (_alerts_at_my_level(user).suspected().exclude(rule=Alert.Rule.FEEDBACK)
            .order_by("due_date", "raised_at", "pk"))


def _reminders(user, as_of):
    return _alerts_at_my_level(user).reminders().order_by("due_date", "raised_at", "pk")


def _reviews(user, as_of):
    level = scope_of(user).role
    return (AlertDecision.objects.visible_to(user)
            .filter(review_status=AlertDecision.Review.PENDING, review_level=level)
            .exclude(decided_by=user)  # nobody reviews their own dismissal
            .select_related("alert", "alert__school", "decided_by")
            .order_by("decided_at", "pk"))


def _closures(user, as_of):
    level = scope_of(user).role
    return (ClosureRequest.objects
            .filter(case__in=RetrievalCase.objects.visible_to(user),
                    status=ClosureRequest.Status.PENDING, approver_level=level)
            .exclude(requested_by=user)  # nobody approves their own request
            .select_related("case", "case__school", "requested_by")
            .order_by("requested_at", "pk"))


def deferrals_to_review(user) -> QuerySet:
    """延缓入学 applications this user reviews: the township center school for its township's
    schools, the county for the county-direct ones (as `ledgers.selectors.can_review_deferral`)."""
    scope = scope_of(user)
    qs = Deferral.objects.visible_to(user).filter(review=Deferral.Review.PENDING)
    if scope.role == Role.TOWNSHIP:
        qs = qs.filter(school__oversight=OVERSIGHT_TOWNSHIP)
    else:
        qs = qs.filter(school__oversight=OVERSIGHT_COUNTY)
    return qs.select_related("school").order_by("created_at", "pk")


def _deferrals(user, as_of):
    return deferrals_to_review(user)


def _to_escalate(user, as_of):
    """Failed persuasion, not yet reported to the township government: the center school's (or
    the county's) to do — and a county-direct school's own, which has no township above it
    (`selectors.can_escalate`)."""
    cases = RetrievalCase.objects.visible_to(user)
    if scope_of(user).role == Role.SCHOOL:
        cases = cases.filter(school__oversight=OVERSIGHT_COUNTY)
    return (cases.filter(status=RetrievalCase.Status.OPEN)
            .filter(Exists(PersuasionAttempt.objects.filter(
                case=OuterRef("pk"), outcome=PersuasionAttempt.Outcome.FAILED)))
            .select_related("school").order_by("opened_at", "pk"))


def _attempts(user, as_of):
    return (cases_needing_attempt(RetrievalCase.objects.visible_to(user), as_of)
            .select_related("school").order_by("last_attempt", "opened_at", "pk"))


def _late_escalations(user, as_of):
    return (Escalation.objects.filter(case__in=RetrievalCase.objects.visible_to(user),
                                      status=Escalation.Status.PENDING, deadline__lt=as_of)
            .select_related("case").order_by("deadline", "pk"))


def _gov_escalations(user, as_of):
    return (Escalation.objects.filter(township_id=user.township_id,
                                      status=Escalation.Status.PENDING)
            .select_related("case").order_by("deadline", "pk"))


def _gov_late(user, as_of):
    return _gov_escalations(user, as_of).filter(deadline__lt=as_of)


def _feedback(user, as_of):
    items = FeedbackItem.objects.visible_to(user).filter(result="")
    level = scope_of(user).role
    if level == Role.COUNTY:
        items = items.filter(school__isnull=True, township__isnull=True)
    elif level == Role.TOWNSHIP:
        items = items.filter(school__isnull=True)
    return items.order_by("due_date", "pk")


def _transfers(user, as_of):
    """转学 waiting for this school's answer (it did not ask): confirm or refuse. The school
    answers; its township and the county may, but it is not their to-do."""
    D = TransferRequest.Direction
    sid = user.school_id
    return (TransferRequest.objects.visible_to(user)
            .filter(state=TransferRequest.State.PENDING)
            .filter(Q(direction=D.IN, from_school_id=sid) | Q(direction=D.OUT, to_school_id=sid))
            .select_related("student", "from_school", "to_school").order_by("requested_on", "pk"))


def _rectifications(user, as_of):
    orders = RectificationOrder.objects.visible_to(user).select_related("finding")
    if scope_of(user).role == Role.COUNTY:
        return orders.filter(status=RectificationOrder.Status.REPORTED).order_by("deadline", "pk")
    return orders.filter(status=RectificationOrder.Status.OPEN).order_by("deadline", "pk")


@dataclass(frozen=True)
class Pending:
    """One kind of pending work: who has it, its rows, how a row is named and where it leads."""

    key: str
    title: object  # lazy translation
    roles: tuple[str, ...]
    rows: Callable
    label: Callable
    url: Callable
    due: Callable | None = None
    tone: str = "primary"
    #: Listed on the approvals page (待审批) rather than on its own inbox list page.
    approval: bool = False
    #: A work reminder (工作提醒), not a suspected dropout or a case.
    reminder: bool = False

    def list_url(self) -> str:
        if self.approval:
            return f"{reverse('retrieval:approvals')}#{self.key}"
        return reverse("retrieval:inbox_list", args=[self.key])


def _alert_url(a):
    return reverse("retrieval:alert", args=[a.pk])


def _case_url(c):
    return reverse("retrieval:case", args=[c.pk])


def _case_of_url(o):
    return reverse("retrieval:case", args=[o.case_id])


PENDING: tuple[Pending, ...] = (
    Pending("escalations", _("待处置的上报案件"), (Role.TOWNSHIP_GOV,), _gov_escalations,
            lambda e: e.case.name, _case_of_url, lambda e: e.deadline, "danger"),
    Pending("gov_late", _("逾期未处置的上报案件"), (Role.TOWNSHIP_GOV,), _gov_late,
            lambda e: e.case.name, _case_of_url, lambda e: e.deadline, "danger"),
    Pending("alerts", _("待核实的疑似辍学预警"), STAFF, _suspected,
            lambda a: f"{alert_label(a)} · {a.get_rule_display()}", _alert_url,
            lambda a: a.due_date, "warning"),
    Pending("reviews", _("待复核的排除申请"), REVIEWERS, _reviews,
            lambda d: f"{alert_label(d.alert)} · {d.get_reason_display()}",
            lambda d: reverse("retrieval:alert", args=[d.alert_id]), approval=True),
    Pending("closures", _("待审批的销号申请"), REVIEWERS, _closures,
            lambda c: f"{c.case.name} · {c.get_category_display()}", _case_of_url, approval=True),
    Pending("deferrals", _("待审核的延缓入学申请"), REVIEWERS, _deferrals,
            lambda d: f"{d.name} · {d.school.name}",
            lambda d: reverse("ledgers:detail", args=["deferrals", d.pk]), approval=True),
    Pending("to_escalate", _("劝返无效待上报属地政府"), STAFF, _to_escalate,
            lambda c: c.name, _case_url, tone="danger"),
    Pending("attempts", _("超过7天未劝返的案件"), STAFF, _attempts, lambda c: c.name,
            _case_url, lambda c: c.last_attempt, "danger"),
    Pending("late_escalations", _("属地政府逾期未处置"), REVIEWERS, _late_escalations,
            lambda e: e.case.name, _case_of_url, lambda e: e.deadline, "danger"),
    Pending("feedback", _("待核查的反馈名单"), STAFF, _feedback, lambda i: i.name,
            lambda i: reverse("retrieval:feedback_item", args=[i.pk]), lambda i: i.due_date),
    Pending("transfers", _("待确认的转学"), (Role.SCHOOL,), _transfers,
            lambda t: f"{t.student.name} · {t.from_school.name} → {t.to_school.name}",
            lambda t: reverse("students:transfer", args=[t.pk]), lambda t: t.requested_on),
    Pending("rectifications", _("待整改的督查问题"), STAFF, _rectifications,
            lambda o: o.finding.get_kind_display(),
            lambda o: reverse("retrieval:rectification", args=[o.pk]), lambda o: o.deadline),
    Pending("reminders", _("工作提醒"), STAFF, _reminders,
            lambda a: f"{alert_label(a)} · {a.get_rule_display()}", _alert_url,
            lambda a: a.due_date, "secondary", reminder=True),
)
BY_KEY = {p.key: p for p in PENDING}


def pending_for(user) -> list[Pending]:
    scope = scope_of(user)
    if scope is None:
        return []
    return [p for p in PENDING if scope.role in p.roles]


def pending_title(p: Pending, user) -> str:
    if p.key == "rectifications" and scope_of(user).role == Role.COUNTY:
        return str(_("待验收的整改"))
    return str(p.title)


@dataclass
class InboxSection:
    key: str
    title: str
    count: int
    url: str
    items: list[dict] = field(default_factory=list)
    tone: str = "primary"
    reminder: bool = False


def section_of(p: Pending, user, as_of: dt.date, *, items: int = INBOX_ITEMS) -> InboxSection:
    qs = p.rows(user, as_of)
    count = qs.count()
    rows = []
    if count and items:
        rows = [{"label": p.label(obj), "url": p.url(obj), "due": p.due(obj) if p.due else None}
                for obj in qs[:items]]
    return InboxSection(p.key, pending_title(p, user), count, p.list_url(), rows, p.tone,
                        p.reminder)


def inbox_for(user, as_of: dt.date, *, items: int = INBOX_ITEMS) -> list[InboxSection]:
    """What is due at the user's scope, most urgent first: one count query (and one page of
    rows when there are any) per kind of work."""
    return [section_of(p, user, as_of, items=items) for p in pending_for(user)]


def inbox_total(sections: list[InboxSection]) -> int:
    """The to-do total: reminders are listed but not counted as to-dos."""
    return sum(s.count for s in sections if not s.reminder)


def approvals_total(sections: list[InboxSection]) -> int:
    return sum(s.count for s in sections if BY_KEY[s.key].approval)


def inbox_digest_send(*, as_of: dt.date | None = None) -> int:
    """E-mail each active user with an address a summary of what is due at their scope
    (console backend by default). Returns the number of mails sent."""
    as_of = as_of or today()
    sent = 0
    users = User.objects.filter(is_active=True).exclude(email="").exclude(role="").select_related(
        "school", "township")
    for user in users:
        sections = [s for s in inbox_for(user, as_of, items=0) if s.count]
        if not sections:
            continue
        body = "\n".join(f"{s.title}：{s.count}" for s in sections)
        subject = _("%(county)s控辍保学平台待办（%(day)s）") % {
            "county": settings.KONGCHUO_COUNTY_NAME, "day": f"{as_of:%Y-%m-%d}"}
        send_mail(str(subject), body, None, [user.email])
        sent += 1
    return sent


__all__ = ["BY_KEY", "PENDING", "InboxSection", "Pending", "approvals_total",
           "deferrals_to_review", "inbox_digest_send", "inbox_for", "inbox_total",
           "pending_for", "section_of"]
