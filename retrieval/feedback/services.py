"""Writes of the feedback lists: the verified answer to a row (which may open a 劝返 case and
settles the row's verification alert), and the export of a batch in its issuer's layout.

See `retrieval.workflow` for what every step shares (atomic, locked, re-scoped, signed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import IO

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kongchuo.access.audit import audit_record
from kongchuo.access.idnumbers import mask_ids_in_value
from kongchuo.calendar.schoolyear import today as local_today
from kongchuo.portal.xlsxout import write_official_table
from retrieval.cases.services import case_open_or_join
from retrieval.evidence.services import evidence_save
from retrieval.feedback.selectors import can_answer_feedback
from retrieval.models import Alert, AlertDecision, FeedbackBatch, FeedbackItem, RetrievalCase
from retrieval.workflow import WorkflowError, check_version, level_of, not_future, require_scope, row_lock
from students.models import User

FEEDBACK_NEEDS_EVIDENCE = frozenset({
    FeedbackItem.Result.TRANSFERRED, FeedbackItem.Result.OUT_OF_COUNTY,
    FeedbackItem.Result.VOCATIONAL, FeedbackItem.Result.DEFERRED,
})


@transaction.atomic
def feedback_answer(*, item: FeedbackItem, user: User, version: int, result: str,
                    explanation: str, verified_on: dt.date,
                    files: Sequence[UploadedFile] = ()) -> FeedbackItem:
    """The verified answer to one row of a province/city feedback list. A 确属辍学 answer
    opens (or joins) the child's 劝返 case."""
    item = row_lock(FeedbackItem, item.pk)
    require_scope(FeedbackItem.objects, user, item.pk)
    check_version(item, version)
    if not can_answer_feedback(user, item):
        raise PermissionDenied
    if result not in FeedbackItem.Result.values:
        raise WorkflowError(_("请选择核查结果"))
    if not explanation.strip():
        raise WorkflowError(_("请填写核查说明"))
    not_future(verified_on, _("核查日期"))
    if result in FEEDBACK_NEEDS_EVIDENCE and not files and not item.evidence.exists():
        raise WorkflowError(_("核查结果为“%(result)s”时须上传证明材料")
                            % {"result": FeedbackItem.Result(result).label})
    before = {"result": item.result, "explanation": item.explanation,
              "verified_by": item.verified_by_id, "verified_on": str(item.verified_on or "")}
    item.result = result
    item.explanation = explanation.strip()
    item.verified_by = user
    item.verified_on = verified_on
    item.version += 1
    item.save(update_fields=["result", "explanation", "verified_by", "verified_on", "version"])
    evidence_save(files, user=user, school=item.school, township=item.township, feedback_item=item)
    case = None
    if result == FeedbackItem.Result.DROPOUT and item.id_number:
        student = item.student
        school = student.school if student else item.school
        case = case_open_or_join(user=user, student=student, id_number=item.id_number,
                                  name=student.name if student else item.name, school=school,
                                  township=school.township if school else item.township,
                                  reason=RetrievalCase.Reason.OTHER, dropout_date=None,
                                  note=f"反馈名单核查：{item.batch.title}", source="feedback")
    _feedback_alerts_settle(item=item, user=user, case=case)
    audit_record(action="feedback_answer", user=user, obj=item,
                 detail={"before": before, "result": result})
    return item


def _feedback_alerts_settle(*, item: FeedbackItem, user: User, case: RetrievalCase | None) -> None:
    """The answer settles the row's open verification alert at once (the sweep would on its next
    run): confirmed and joined to the case for 确属辍学, resolved otherwise."""
    level = level_of(user)
    assert level is not None  # can_answer_feedback admits staff levels only
    alerts = list(Alert.objects.select_for_update().order_by("pk").filter(
        rule=Alert.Rule.FEEDBACK, status=Alert.Status.OPEN, detail__item=item.pk))
    now = timezone.now()
    for alert in alerts:
        alert.status = Alert.Status.CONFIRMED if case else Alert.Status.RESOLVED
        alert.closed_at = now
        alert.save(update_fields=["status", "closed_at"])
        if case:
            case.alerts.add(alert)
            AlertDecision.objects.create(alert=alert, kind=AlertDecision.Kind.CONFIRM, case=case,
                                         note=item.explanation, decided_by=user,
                                         decided_level=level)


ANSWER_COLUMNS = ("核查结果", "核查说明", "证明材料", "核查人", "核查日期")


def feedback_export(*, batch: FeedbackBatch, user: User, out: IO[bytes] | str,
                    items: Iterable[FeedbackItem], full_ids: bool = False) -> int:
    """Write the batch back in the issuer's own column layout plus the answer columns.

    `items` come scoped from the view. Every ID-shaped value (any cell, the explanation, the
    evidence names) is masked unless `full_ids` (county users returning the list to the
    province); either way the export is audited.
    """

    columns = list(batch.columns) or ["序号", "姓名", "身份证件号", "学校名称", "问题类型"]
    fallback = {"序号": "seq", "姓名": "name", "身份证件号": "id_number", "学校名称": "school_name",
                "问题类型": "problem"}
    n = 0

    def rows() -> Iterator[list[object]]:
        nonlocal n
        for item in items:
            n += 1
            values = []
            for col in columns:
                if col in item.original:
                    value = item.original[col]
                else:
                    value = getattr(item, fallback[col]) if col in fallback else ""
                values.append(value)
            values += [
                item.get_result_display() if item.result else "",
                item.explanation,
                "；".join(e.original_name for e in item.evidence.all()),
                (item.verified_by.get_full_name() or item.verified_by.username) if item.verified_by else "",
                item.verified_on,
            ]
            # By shape: the issuer's every cell, the answer and the evidence names (issue 15).
            yield values if full_ids else [mask_ids_in_value(v) for v in values]

    # The official layout; the issuer's own 序号 column, if it has one, numbers the rows.
    write_official_table(out, title=f"{batch.title}（核查结果）", unit=user.scope_label,
                         fill_date=local_today(), headers=[*columns, *ANSWER_COLUMNS], rows=rows(),
                         sheet_name="核查结果", text_columns=range(len(columns)),
                         number_rows="序号" not in columns)
    audit_record(action="feedback_export", user=user, obj=batch,
                 detail={"rows": n, "full_ids": full_ids})
    return n
