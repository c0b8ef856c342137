"""资助覆盖 (each term): poor-family students with no aid record this term.

Rule (issue 5, work plan §三(三)5): students flagged 建档立卡/脱贫, 防返贫监测, 低保, 特困供养,
家庭经济困难 (non-建档立卡 poor, incl. poor disabled children), 孤儿 or 事实无人抚养
(students.support), 在读 or 送教上门 on the as-of date, with no AidRecord for the term containing the as-of date.
Period = the term code. Goes to the county aid section (level county); the school stays on the
alert so it can be fixed where the record is kept.
"""

from __future__ import annotations

from django.db.models import Exists, F, OuterRef
from django.db.models.functions import JSONObject
from django.utils.translation import gettext_lazy as _

from kongchuo.calendar.schoolyear import term_of
from ledgers.models import AidRecord
from retrieval.models import Alert, Level
from retrieval.sweeps.base import (
    Context,
    Finding,
    Partition,
    Rows,
    Sweep,
    status_was,
    student_rows,
    text,
)
from students.models import Student
from students.support import aid_priority

DUE_DAYS = 15
POOR = aid_priority()  # 建档立卡/脱贫, 监测, 低保, 特困, 家庭经济困难, 孤儿, 事实无人抚养
COVERED = (Student.Status.ENROLLED, Student.Status.HOME_TEACHING)


def build(ctx: Context, partition: Partition) -> list[Rows]:
    term = term_of(ctx.as_of)
    qs = (Student.objects.filter(POOR).filter(partition.schools("school"))
          .filter(~Exists(AidRecord.objects.filter(student_id=OuterRef("pk"), term=term.code))))
    qs = status_was(qs, ctx.as_of, COVERED)
    detail = JSONObject(term=text(term.code), status=F("status"))
    return [student_rows(qs, ctx, level=Level.COUNTY, detail=detail, due_days=DUE_DAYS)]


SWEEP = Sweep(
    name="aid_coverage",
    label=_("资助覆盖核查"),
    window=_("每学期（3月、10月）"),
    period=lambda as_of: term_of(as_of).code,
    findings=(Finding(Alert.Rule.AID, build),),
)
