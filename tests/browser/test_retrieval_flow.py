"""The alert → case → escalation → 销号 flow in a real browser (Playwright + Debian Chromium).

School A confirms a suspected dropout and records a failed home visit; it also dismisses a second
alert with a proof file, which township A's center school overturns (the alert re-opens). Township
A reports the failed persuasion to the township government; the government (gov_a) sees only that
case, records the 限期复学通知书 and prints it. The child returns: school A records the placement
and asks for 销号 with evidence; the county approves it. Screenshots: docs/screenshots/retrieval_*.png.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from retrieval.models import Alert, AlertDecision, Escalation, RetrievalCase
from students.models import Student
from tests.browser.pages import login, shot
from tests.retrieval.casefactories import PDF, PNG, AlertFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]






def _shot(page, name: str) -> None:
    shot(page, f"retrieval_{name}")


def test_alert_to_closure_across_four_roles(county, live_server, browser, tmp_path):
    c = county
    url = live_server.url
    c.s_a.name, c.s_a.guardian_name, c.s_a.address = "陈小明", "陈大军", "甲镇东岗村三组"
    c.s_a.save()
    alert = AlertFactory(student=c.s_a, name="陈小明", detail={"上学期": "2025-autumn"})
    other = AlertFactory(student=c.s_a2, name="林小红", period="2026-spring")
    proof_pdf = tmp_path / "在读证明.pdf"
    proof_pdf.write_bytes(PDF)
    proof_png = tmp_path / "复学证明.png"
    proof_png.write_bytes(PNG)
    # A second school-A alert, for the dismissal that the township overturns.
    other.school, other.township = c.a_primary, c.ta
    other.save()

    # 1. School A: the home page lists the open alerts; confirm one → a case opens.
    school = login(browser, live_server, c.school_a.username)
    assert "待核实的疑似辍学预警" in school.content()
    school.goto(f"{url}{reverse('retrieval:alerts')}?status=open")
    assert "共 2 条" in school.content()
    _shot(school, "alerts")
    school.click(f"a[href='{reverse('retrieval:alert', args=[alert.pk])}']")
    school.select_option("#confirm_reason", "weary")
    school.fill("#confirm_note", "开学两周未到校，电话无人接听")
    _shot(school, "alert_detail")
    school.click("#confirm-form button[type=submit]")
    school.wait_for_selector("#case-status")
    case = RetrievalCase.objects.get()
    assert school.url == f"{url}{reverse('retrieval:case', args=[case.pk])}"
    assert Student.objects.get(pk=c.s_a.pk).status == Student.Status.SUSPECTED

    # The school records a failed home visit.
    school.select_option("#attempt_method", "home_visit")
    school.fill("#attempt_people", "班主任王老师、村干部张主任")
    school.fill("#attempt_result", "家长坚持让孩子外出打工，拒绝返校")
    school.select_option("#attempt_outcome", "failed")
    school.click("#attempt-form button[type=submit]")
    school.wait_for_selector("text=劝返记录已保存")
    # A primary school does not report to the government itself: no escalate form here.
    assert school.locator("#escalate-form").count() == 0

    # The school dismisses the other alert with a proof file.
    school.goto(f"{url}{reverse('retrieval:alert', args=[other.pk])}")
    school.click("#tab-dismiss-btn")
    school.select_option("#dismiss_reason", "out_of_county")
    school.fill("#dismiss_note", "随父母在合肥市就读")
    school.set_input_files("#dismiss_files", str(proof_pdf))
    school.click("#dismiss-form button[type=submit]")
    school.wait_for_selector("text=已排除，等待上级复核")
    assert Alert.objects.get(pk=other.pk).status == "dismissed"

    # 2. Township A: overturns the dismissal (the alert re-opens) and escalates the case.
    town = login(browser, live_server, c.township_a.username)
    town.goto(f"{url}{reverse('retrieval:approvals')}")
    assert "在读证明.pdf" in town.content()
    _shot(town, "approvals")
    row = town.locator("#reviews tbody tr").first
    row.locator("input[name=note]").fill("证明无学校公章，请重新核实")
    row.locator("button[value=overturn]").click()
    town.wait_for_selector("text=复核已提交")
    assert Alert.objects.get(pk=other.pk).status == "open"
    assert AlertDecision.objects.get(alert=other).review_status == "overturned"

    town.goto(f"{url}{reverse('retrieval:case', args=[case.pk])}")
    town.fill("#escalate_note", "经班主任、村干部三次家访劝返无效，家长拒绝送子女返校")
    town.click("#escalate-form button[type=submit]")
    town.wait_for_selector("text=已上报属地政府")
    assert RetrievalCase.objects.get().status == RetrievalCase.Status.ESCALATED

    # 3. The township government sees only this case, records the measure, prints the notice.
    gov = login(browser, live_server, c.gov_a.username)
    assert "待处置的上报案件" in gov.content()
    _shot(gov, "gov_home")
    gov.goto(f"{url}{reverse('retrieval:cases')}")
    assert "共 1 条" in gov.content() and "陈小明" in gov.content()
    gov.goto(f"{url}{reverse('retrieval:case', args=[case.pk])}")
    gov.select_option("#answer_measure", "notice")
    gov.fill("#answer_notice_number", "甲政控辍〔2026〕3号")
    gov.fill("#answer_note", "已向监护人送达责令限期复学通知书")
    gov.click("#answer-form button[type=submit]")
    gov.wait_for_selector("text=处置情况已登记")
    assert Escalation.objects.get().status == Escalation.Status.ANSWERED
    _shot(gov, "case_escalated")
    gov.goto(f"{url}{reverse('retrieval:case_notice', args=[case.pk])}")
    assert "责令限期复学通知书" in gov.content() and "陈大军" in gov.content()
    assert c.s_a.id_number not in gov.content()
    gov.emulate_media(media="print")
    _shot(gov, "notice")
    # Out of its reach: another township's case page and any alert.
    assert gov.goto(f"{url}{reverse('retrieval:alert', args=[alert.pk])}").status == 403

    # 4. The child returns: the school records the placement and asks for 销号 with evidence.
    school.goto(f"{url}{reverse('retrieval:case', args=[case.pk])}")
    school.select_option("#place_placement", "regular")
    school.click("#placement-form button[type=submit]")
    school.wait_for_selector("text=安置已登记")
    assert Student.objects.get(pk=c.s_a.pk).status == Student.Status.ENROLLED
    school.select_option("#closure_category", "returned")
    school.fill("#closure_note", "已于本周返校随班就读")
    school.click("#closure-form button[type=submit]")
    school.wait_for_selector("text=销号须上传证明材料")  # refused without evidence
    school.set_input_files("#closure_files", str(proof_png))
    school.fill("#closure_note", "已于本周返校随班就读")
    school.click("#closure-form button[type=submit]")
    school.wait_for_selector("text=销号申请已提交")
    assert RetrievalCase.objects.get().status == RetrievalCase.Status.CLOSURE_REQUESTED
    # An escalated case is approved by the county, not the township.
    town.goto(f"{url}{reverse('retrieval:case', args=[case.pk])}")
    assert town.locator("#decide-form").count() == 0

    # 5. The county approves the 销号 from its approvals page.
    county_page = login(browser, live_server, c.county_user.username)
    county_page.goto(f"{url}{reverse('retrieval:inbox')}")
    assert "待审批的销号申请" in county_page.content()
    _shot(county_page, "inbox_county")
    county_page.goto(f"{url}{reverse('retrieval:approvals')}")
    row = county_page.locator("#closures tbody tr").first
    assert "陈小明" in row.inner_text()
    row.locator("button[value=approve]").click()
    county_page.wait_for_selector("text=已销号")
    closed = RetrievalCase.objects.get()
    assert closed.status == RetrievalCase.Status.CLOSED and closed.closure_category == "returned"
    county_page.goto(f"{url}{reverse('retrieval:case', args=[case.pk])}")
    timeline = county_page.inner_text("#timeline")
    for step in ("确认疑似辍学", "劝返·家访", "上报属地政府", "属地政府处置", "安置", "申请销号", "销号审批·已批准"):
        assert step in timeline, step
    _shot(county_page, "case_closed")
    county_page.goto(f"{url}{reverse('retrieval:rule_quality')}")
    _shot(county_page, "rule_quality")
    school.goto(f"{url}{reverse('retrieval:inbox')}")
    assert "林小红" in school.content()  # the re-opened alert is back on the school's list
    _shot(school, "inbox_school")


def test_feedback_answer_and_supervision_in_browser(county, live_server, browser, tmp_path):
    """School A answers a province feedback row with proof; the county plans a supervision visit,
    draws the re-check sample, records a teacher-conduct finding with a rectification order,
    school A reports back and the county accepts it."""
    import datetime as dt

    from kongchuo.calendar.schoolyear import today
    from retrieval.alerts import services as alert_services
    from retrieval.models import RectificationOrder, SupervisionFinding
    from tests.factories import StudentFactory
    from tests.retrieval.casefactories import FeedbackBatchFactory, FeedbackItemFactory

    c = county
    url = live_server.url
    batch = FeedbackBatchFactory(title="2026年省反馈疑似辍学名单（第1批）")
    item = FeedbackItemFactory(batch=batch, student=c.s_a)
    FeedbackItemFactory(batch=batch, student=c.s_b)
    for i in range(4):
        child = StudentFactory(school=c.a_primary, is_poor=(i == 0), name=f"样本{i}")
        alert_services.alert_dismiss(alert=AlertFactory(student=child), user=c.county_user,
                               reason="in_school", note="在校就读")
    proof = tmp_path / "考勤记录.pdf"
    proof.write_bytes(PDF)

    school = login(browser, live_server, c.school_a.username)
    school.goto(f"{url}{reverse('retrieval:feedback_batch', args=[batch.pk])}")
    assert "共 1 条" in school.content() and c.s_b.name not in school.content()
    school.click(f"a[href='{reverse('retrieval:feedback_item', args=[item.pk])}']")
    school.select_option("#fb_result", "in_school")
    school.fill("#fb_explanation", "经班主任核实，该生每日正常到校")
    school.set_input_files("#fb_files", str(proof))
    _shot(school, "feedback_item")
    school.click("#feedback-form button[type=submit]")
    school.wait_for_selector("text=核查结果已保存")
    item.refresh_from_db()
    assert item.result == "in_school" and item.evidence.count() == 1

    county_page = login(browser, live_server, c.county_user.username)
    county_page.goto(f"{url}{reverse('retrieval:supervision')}")
    county_page.fill("#visit_title", "甲镇控辍保学专项督查")
    county_page.fill("#visit_section", "督导室")
    county_page.select_option("#visit_township", str(c.ta.pk))
    county_page.click("#visit-form button[type=submit]")
    county_page.wait_for_selector("text=督查计划已建立")
    county_page.fill("#sample_n_cases", "2")
    county_page.fill("#sample_n_alerts", "3")
    county_page.click("#sample-form button[type=submit]")
    county_page.wait_for_selector("text=已抽取复查对象")
    assert county_page.locator("#samples tbody tr").count() == 3
    county_page.select_option("#finding_kind", "teacher_conduct")
    county_page.select_option("#finding_school", str(c.a_primary.pk))
    county_page.fill("#finding_teacher_name", "某某")
    county_page.fill("#finding_description", "班主任以成绩差为由劝说学生转学")
    county_page.click("#finding-form button[type=submit]")
    county_page.wait_for_selector("text=问题已记录")
    finding = SupervisionFinding.objects.get()
    assert finding.is_teacher_conduct
    form = county_page.locator("#findings form").first
    form.locator("input[name=requirement]").fill("严肃处理涉事教师，全校通报并组织学习")
    form.locator("input[name=deadline]").fill(f"{today() + dt.timedelta(days=20):%Y-%m-%d}")
    form.locator("button[type=submit]").click()
    county_page.wait_for_selector("text=整改通知已下发")
    _shot(county_page, "supervision_visit")
    county_page.goto(f"{url}{reverse('retrieval:supervision')}")
    assert county_page.inner_text("#teacher-conduct-count") == "1"
    _shot(county_page, "supervision")

    order = RectificationOrder.objects.get()
    school.goto(f"{url}{reverse('retrieval:rectifications')}")
    school.click(f"a[href='{reverse('retrieval:rectification', args=[order.pk])}']")
    school.fill("#report_report", "已对涉事教师诫勉谈话并全校通报，学生已返校")
    school.click("#report-form button[type=submit]")
    school.wait_for_selector("text=整改情况已反馈")
    county_page.goto(f"{url}{reverse('retrieval:rectification', args=[order.pk])}")
    county_page.check("#accept_verdict_0")
    county_page.click("#close-form button[type=submit]")
    county_page.wait_for_selector("text=验收结论已保存")
    order.refresh_from_db()
    assert order.status == RectificationOrder.Status.CLOSED
    _shot(county_page, "rectification")
