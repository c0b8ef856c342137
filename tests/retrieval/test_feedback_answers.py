"""Feedback round-trip: each row gets a verified answer; the batch goes back in its own layout."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from kongchuo.access.idnumbers import mask_id
from kongchuo.access.models import AuditEvent
from kongchuo.calendar.schoolyear import today
from retrieval import workflow
from retrieval.alerts import services as alert_services
from retrieval.feedback import services as feedback_services
from retrieval.models import FeedbackItem, RetrievalCase
from students import services as student_services
from tests.retrieval.casefactories import FeedbackBatchFactory, FeedbackItemFactory, pdf
from tests.xlsx_layout import assert_official, read_official

pytestmark = pytest.mark.django_db


def _sheet(content: bytes):
    return openpyxl.load_workbook(io.BytesIO(content)).active


def test_answer_needs_explanation_and_proof_for_some_results(county):
    item = FeedbackItemFactory(student=county.s_a)
    with pytest.raises(workflow.WorkflowError, match="核查说明"):
        feedback_services.feedback_answer(item=item, user=county.school_a, version=item.version, result="in_school",
                                 explanation=" ", verified_on=today())
    with pytest.raises(workflow.WorkflowError, match="证明材料"):
        feedback_services.feedback_answer(item=item, user=county.school_a, version=item.version,
                                 result="out_of_county", explanation="在合肥就读", verified_on=today())
    feedback_services.feedback_answer(item=item, user=county.school_a, version=item.version, result="out_of_county",
                             explanation="在合肥就读", verified_on=today(), files=[pdf("学籍证明.pdf")])
    item.refresh_from_db()
    assert item.result == "out_of_county" and item.verified_by == county.school_a
    assert item.verified_on == today() and item.evidence.count() == 1
    # Re-answering keeps the earlier answer in the audit trail.
    feedback_services.feedback_answer(item=item, user=county.township_a, version=item.version, result="in_school",
                             explanation="已转回本校", verified_on=today())
    events = AuditEvent.objects.filter(action="feedback_answer", object_id=str(item.pk)).order_by("at", "pk")
    assert [e.detail["result"] for e in events] == ["out_of_county", "in_school"]
    assert events.last().detail["before"]["result"] == "out_of_county"


def test_stale_answer_refused(county):
    item = FeedbackItemFactory(student=county.s_a)
    v = item.version
    feedback_services.feedback_answer(item=item, user=county.school_a, version=v, result="in_school",
                             explanation="在校", verified_on=today())
    with pytest.raises(student_services.StaleEdit):
        feedback_services.feedback_answer(item=item, user=county.township_a, version=v, result="dropout",
                                 explanation="辍学", verified_on=today())


def test_dropout_answer_opens_a_case(county):
    item = FeedbackItemFactory(student=county.s_a)
    feedback_services.feedback_answer(item=item, user=county.school_a, version=item.version, result="dropout",
                             explanation="已离校外出", verified_on=today())
    case = RetrievalCase.objects.get(student=county.s_a)
    assert case.source == "feedback" and case.school == county.a_primary
    county.s_a.refresh_from_db()
    assert county.s_a.status == "suspected"


def test_items_of_other_schools_cannot_be_answered(county):
    item = FeedbackItemFactory(student=county.s_b)
    with pytest.raises(PermissionDenied):
        feedback_services.feedback_answer(item=item, user=county.school_a, version=item.version, result="in_school",
                                 explanation="x", verified_on=today())


def test_export_in_issuer_layout_plus_answer_columns(county, client_as):
    batch = FeedbackBatchFactory(columns=["序号", "县区", "姓名", "身份证件号", "学校名称", "问题类型", "备注"])
    a = FeedbackItemFactory(batch=batch, student=county.s_a, row=4)
    a.original["备注"] = "=HYPERLINK(\"http://x\")"
    a.save()
    FeedbackItemFactory(batch=batch, student=county.s_b, row=5)
    feedback_services.feedback_answer(item=a, user=county.school_a, version=a.version, result="in_school",
                             explanation="每日到校", verified_on=today(), files=[pdf("考勤表.pdf")])
    response = client_as(county.county_user).post(reverse("retrieval:feedback_export", args=[batch.pk]))
    assert response.status_code == 200
    doc = read_official(response.content)
    assert_official(doc, numbered=False)  # the issuer's own 序号 column numbers the rows
    assert doc.title == f"{batch.title}（核查结果）" and doc.info.startswith("填报单位：县教育局")
    rows = [doc.header, *doc.rows]
    assert list(rows[0]) == ["序号", "县区", "姓名", "身份证件号", "学校名称", "问题类型", "备注",
                             "核查结果", "核查说明", "证明材料", "核查人", "核查日期"]
    first = rows[1]
    assert first[2] == county.s_a.name
    assert first[3] == mask_id(county.s_a.id_number)  # masked by default
    assert first[6] == "'=HYPERLINK(\"http://x\")"  # formula-escaped, not a live formula
    assert first[7:10] == ("在校就读", "每日到校", "考勤表.pdf")
    assert first[10] == county.school_a.username
    assert rows[2][3] == mask_id(county.s_b.id_number) and rows[2][7] is None
    assert AuditEvent.objects.filter(action="feedback_export", detail__full_ids=False).exists()

    full = client_as(county.county_user).post(
        reverse("retrieval:feedback_export", args=[batch.pk]), {"ids": "full"})
    assert _sheet(full.content)["D4"].value == county.s_a.id_number
    assert AuditEvent.objects.filter(action="feedback_export", detail__full_ids=True).exists()


def test_school_exports_only_its_rows(county, client_as):
    batch = FeedbackBatchFactory()
    FeedbackItemFactory(batch=batch, student=county.s_a)
    FeedbackItemFactory(batch=batch, student=county.s_b)
    ws = _sheet(client_as(county.school_a).post(
        reverse("retrieval:feedback_export", args=[batch.pk])).content)
    names = [r[2] for r in ws.iter_rows(min_row=4, values_only=True) if r[2]]
    assert names == [county.s_a.name]


def test_unmatched_rows_go_to_township_then_county(county):
    """Rows with no student: routed to the 户籍 township (or the county), who answer them."""
    batch = FeedbackBatchFactory()
    to_township = FeedbackItemFactory(batch=batch, township=county.ta, school=None)
    to_county = FeedbackItemFactory(batch=batch, township=None, school=None)
    assert set(FeedbackItem.objects.visible_to(county.township_a)) == {to_township}
    assert not FeedbackItem.objects.visible_to(county.school_a).exists()
    feedback_services.feedback_answer(item=to_county, user=county.county_user, version=1, result="data_error",
                             explanation="查无此人", verified_on=today())
    from retrieval.inbox import inbox_for

    keys = {s.key: s.count for s in inbox_for(county.township_a, today())}
    assert keys["feedback"] == 1
    keys = {s.key: s.count for s in inbox_for(county.county_user, today())}
    assert keys["feedback"] == 0


def _feedback_alert(item, **kw):
    from tests.retrieval.casefactories import AlertFactory

    return AlertFactory(rule="feedback_verification", period=f"fb{item.batch_id}", student=item.student,
                        subject=item.id_number, name=item.name, school=item.school,
                        township=item.township, detail={"batch": item.batch_id, "row": item.row,
                                                        "item": item.pk}, **kw)


def test_answer_settles_the_rows_verification_alert(county):
    from retrieval.models import Alert

    item = FeedbackItemFactory(student=county.s_a)
    alert = _feedback_alert(item)
    other = _feedback_alert(FeedbackItemFactory(student=county.s_a2))
    feedback_services.feedback_answer(item=item, user=county.school_a, version=item.version, result="in_school",
                             explanation="在校", verified_on=today())
    alert.refresh_from_db()
    other.refresh_from_db()
    assert alert.status == Alert.Status.RESOLVED and alert.closed_at is not None
    assert other.status == Alert.Status.OPEN


def test_dropout_answer_confirms_the_alert_into_the_case(county):
    item = FeedbackItemFactory(student=county.s_a)
    alert = _feedback_alert(item)
    feedback_services.feedback_answer(item=item, user=county.school_a, version=item.version, result="dropout",
                             explanation="已外出务工", verified_on=today())
    alert.refresh_from_db()
    case = RetrievalCase.objects.get()
    assert alert.status == "confirmed" and list(case.alerts.all()) == [alert]
    assert alert.decisions.get().case == case


def test_dropout_answer_for_a_child_with_no_student_opens_a_township_case(county):
    item = FeedbackItemFactory(student=None, school=None, township=county.ta, id_number="341522201301015678",
                               name="无学籍儿童")
    feedback_services.feedback_answer(item=item, user=county.township_a, version=item.version, result="dropout",
                             explanation="未入学", verified_on=today())
    case = RetrievalCase.objects.get()
    assert case.student is None and case.township == county.ta and case.name == "无学籍儿童"


def test_feedback_alert_is_answered_on_its_row_not_decided(county, client_as):
    from retrieval.alerts.selectors import can_decide_alert
    from retrieval.inbox import inbox_for

    item = FeedbackItemFactory(student=county.s_a)
    alert = _feedback_alert(item)
    assert not can_decide_alert(county.school_a, alert)
    with pytest.raises(PermissionDenied):
        alert_services.alert_dismiss(alert=alert, user=county.school_a, reason="in_school", note="x")
    body = client_as(county.school_a).get(reverse("retrieval:alert", args=[alert.pk])).content.decode()
    assert reverse("retrieval:feedback_item", args=[item.pk]) in body and 'id="dismiss-form"' not in body
    sections = {s.key: s.count for s in inbox_for(county.school_a, today())}
    assert sections["alerts"] == 0 and sections["feedback"] == 1  # counted once, where it is answered
