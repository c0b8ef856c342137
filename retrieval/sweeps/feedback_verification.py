"""反馈核查 (on import; reminders Nov–Dec): every row of a province/city feedback list.

Rule (issue 5): every FeedbackItem is a verification item routed to the student's school when
its 身份证件号 matches a student of the county; otherwise to the township of the 户籍 (from the
ID's latest census row); otherwise to the county. Due in 10 days from the run (or the item's own due date, if
sooner). The routing is written onto the items once per run (set-based UPDATEs, only items
not yet routed to a school), then each unanswered item is an alert of period ``fb<batch id>``;
an answered item (a 核查结果 recorded) resolves its alert.

Reminders: in November and December (the plan's year-end look-back), every open feedback alert
past its due date is reminded once per run day (`Alert.reminded_on`, `Alert.reminders`).

转出县外缺接收证明 (rule ``transfer_proof``, issue 16): in November and December the year-end
verification also lists every child recorded 转出 out of the county without an attached
接收证明 (ledgers.selectors.transfers_without_proof). Period = the year; routed to the child's
school; attaching the letter resolves it at the next run.
"""

from __future__ import annotations

from django.db.models import Case, CharField, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, Concat, JSONObject, Least, NullIf
from django.utils.translation import gettext_lazy as _

from ledgers.selectors import transfers_without_proof
from retrieval.models import Alert, FeedbackItem, Level
from retrieval.sweeps.base import (
    Context,
    Finding,
    Partition,
    Rows,
    Sweep,
    annotate_alert,
    due,
    student_rows,
    text,
)
from students.models import CensusEntry, School, StatusChange, Student

DUE_DAYS = 10
REMINDER_MONTHS = (11, 12)


def period_of(batch_id: int) -> str:
    return f"fb{batch_id}"


def prepare(ctx: Context) -> dict:
    """Route items not yet at a school: student → school (and its township); else the 户籍
    township from the ID's latest census row. Set-based; re-running changes nothing."""
    unrouted = FeedbackItem.objects.filter(school__isnull=True)
    matched = unrouted.filter(student__isnull=True).update(student=Subquery(
        Student.objects.filter(id_number=OuterRef("id_number")).values("pk")[:1]))
    schooled = unrouted.filter(student__isnull=False).update(school=Subquery(
        Student.objects.filter(pk=OuterRef("student_id")).values("school_id")[:1]))
    (FeedbackItem.objects.filter(school__isnull=False)
     .filter(Q(township__isnull=True) | ~Q(township_id=F("school__township_id")))
     .update(township=Subquery(School.objects.filter(pk=OuterRef("school_id"))
                               .values("township_id")[:1])))
    hukou = FeedbackItem.objects.filter(school__isnull=True, township__isnull=True).update(
        township=Subquery(CensusEntry.objects.filter(id_number=OuterRef("id_number"))
                          .order_by("-year").values("township_id")[:1]))
    return {"matched": matched, "to_school": schooled, "to_township": hukou}


def build(ctx: Context, partition: Partition) -> list[Rows]:
    qs = FeedbackItem.objects.filter(result="").filter(partition.routed())
    subject = Coalesce(NullIf(F("id_number"), Value("")),
                       Concat(Value("row:"), Cast("pk", CharField()), output_field=CharField()))
    level = Case(When(school__isnull=False, then=text(Level.SCHOOL)),
                 When(township__isnull=False, then=text(Level.TOWNSHIP)),
                 default=text(Level.COUNTY), output_field=CharField())
    return [Rows(query=annotate_alert(
        qs,
        period=Concat(Value("fb"), Cast("batch_id", CharField()), output_field=CharField()),
        subject=subject,
        student_id=F("student_id"),
        name=F("name"),
        school_id=F("school_id"),
        township_id=F("township_id"),
        level=level,
        detail=JSONObject(batch=F("batch_id"), row=F("row"), problem=F("problem"), item=F("pk")),
        due_date=Least(F("due_date"), due(ctx, DUE_DAYS)),
    ))]


def remind(ctx: Context, partition: Partition) -> dict:
    if ctx.as_of.month not in REMINDER_MONTHS:
        return {"reminded": 0}
    reminded = (Alert.objects.filter(rule=Alert.Rule.FEEDBACK, status=Alert.Status.OPEN,
                                     due_date__lt=ctx.as_of)
                .filter(partition.routed())
                .filter(Q(reminded_on__isnull=True) | Q(reminded_on__lt=ctx.as_of))
                .update(reminded_on=ctx.as_of, reminders=F("reminders") + 1))
    return {"reminded": reminded}


def build_proof(ctx: Context, partition: Partition) -> list[Rows]:
    if ctx.as_of.month not in REMINDER_MONTHS:
        return []
    qs = transfers_without_proof(StatusChange.objects.filter(partition.schools("student__school")))
    detail = JSONObject(change=F("pk"), to_county=F("to_county"), to_school=F("to_school_name"),
                        effective_date=Cast("effective_date", CharField()))
    return [student_rows(qs, ctx, level=Level.SCHOOL, detail=detail, due_days=DUE_DAYS,
                         prefix="student__")]


SWEEP = Sweep(
    name="feedback_verification",
    label=_("反馈名单核查"),
    window=_("导入时；11–12月每周催办"),
    period=lambda as_of: str(as_of.year),
    findings=(Finding(Alert.Rule.FEEDBACK, build, existing=lambda ctx: Q()),
              Finding(Alert.Rule.TRANSFER_PROOF, build_proof)),
    prepare=prepare,
    after=remind,
)

