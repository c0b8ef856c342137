"""The ledgers in a real browser (Playwright + Debian Chromium) against the live server.

A school clerk logs in through the login form, ticks 返校报到 for a class, records a 休学, logs
two 送教上门 visits and a home visit, exports the 送教上门 ledger and the test reads the rows
back from the downloaded file. A township user approves a 延缓入学 application. Another
school's clerk gets 404 on all of it. Screenshots land in docs/screenshots/ledgers_*.png.
"""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from django.urls import reverse

from kongchuo.calendar.schoolyear import term_of, today
from ledgers.models import Deferral, FamilyContact, HomeTeachingPlan, HomeTeachingVisit, ReturnReport
from students.models import Student
from tests.browser.pages import login, shot
from tests.factories import StudentFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]






def _shot(page, name: str) -> None:
    shot(page, f"ledgers_{name}")


def _iso(day: dt.date) -> str:
    return f"{day:%Y-%m-%d}"


@pytest.fixture
def scene(county):
    """School A's class 4年级1班 with three more children, one of them taught at home."""
    classmates = [StudentFactory(school=county.a_primary, hukou_township=county.ta, grade=4,
                                 class_name="1班", name=n) for n in ("赵一鸣", "钱二丫", "孙三宝")]
    home_child = StudentFactory(school=county.a_primary, hukou_township=county.ta, grade=3,
                                class_name="2班", name="李送教", disability_category="肢体残疾",
                                disability_grade="二级", status=Student.Status.HOME_TEACHING)
    plan = HomeTeachingPlan.objects.create(
        student=home_child, disability_category="肢体残疾", disability_grade="二级",
        teachers="王老师、刘老师", goals="生活自理与识字", start_date=today() - dt.timedelta(days=90),
        created_by=county.school_a)
    deferral = Deferral.objects.create(
        school=county.a_primary, id_number="341522201803070016", name="周延缓",
        birth_date=dt.date(2018, 3, 7), guardian_name="周父", guardian_phone="13900001111",
        reason="先天性心脏病术后康复", certificate="县人民医院诊断证明",
        start_date=today(), end_date=today() + dt.timedelta(days=300), created_by=county.school_a)
    ns = type("Scene", (), {})()
    ns.classmates, ns.home_child, ns.plan, ns.deferral = classmates, home_child, plan, deferral
    return ns


def test_ledgers_flow(county, scene, live_server, browser, tmp_path):
    url = live_server.url
    term = term_of(today())
    page = login(browser, live_server, county.school_a.username)

    # 1. 返校报到: class 4年级1班, nobody pre-ticked; tick two children and save in one POST.
    page.goto(f"{url}{reverse('ledgers:returns_tick')}?class=4|1班")
    boxes = page.locator('input[name="student"]')
    assert boxes.count() == 4
    assert all(not boxes.nth(i).is_checked() for i in range(4))
    page.check(f"#tick-{scene.classmates[0].pk}")
    page.check(f"#tick-{scene.classmates[1].pk}")
    page.click("#tick-form button[type=submit]")
    page.wait_for_selector("text=已登记 2 人报到")
    assert set(ReturnReport.objects.filter(term=term.code).values_list("student_id", flat=True)) == {
        scene.classmates[0].pk, scene.classmates[1].pk}
    assert page.locator('input[name="student"]').count() == 2  # the reported ones lost their box
    _shot(page, "returns_tick")
    page.click("text=本学期未报到名单")
    page.wait_for_selector("text=未报到学生")
    assert page.locator(f"text={scene.classmates[2].name}").count() == 1
    assert page.locator(f"text={scene.classmates[0].name}").count() == 0
    _shot(page, "returns_missing")

    # 2. 学籍变动: record a 休学 for 孙三宝.
    page.goto(f"{url}{reverse('ledgers:new', args=['status_changes'])}")
    page.select_option("#id_student", str(scene.classmates[2].pk))
    page.select_option("#id_kind", "suspend")
    page.fill("#id_effective_date", _iso(today()))
    page.fill("#id_end_date", _iso(today() + dt.timedelta(days=180)))
    page.fill("#id_reason", "因病休学")
    page.fill("#id_approved_by", "王校长")
    _shot(page, "status_change_form")
    page.click("form.ledger-form button[type=submit]")
    page.wait_for_selector("text=学籍变动已登记")
    scene.classmates[2].refresh_from_db()
    assert scene.classmates[2].status == Student.Status.SUSPENDED
    _shot(page, "status_change_detail")

    # 3. 送教上门: two visits on the plan, then the plan page and the printable manual.
    for day, content in ((today().replace(day=1), "culture"), (today(), "rehab")):
        page.goto(f"{url}{reverse('ledgers:detail', args=['home_teaching', scene.plan.pk])}")
        page.click("text=记录一次送教")
        page.fill("#id_visit_date", _iso(day))
        page.fill("#id_periods", "2")
        page.check(f'input[name="content"][value="{content}"]')
        page.check('input[name="content"][value="self_care"]')
        page.check("#id_guardian_signed")
        page.click("form.ledger-form button[type=submit]")
        page.wait_for_selector("text=已保存")
    assert HomeTeachingVisit.objects.filter(plan=scene.plan).count() == 2
    assert page.locator(".visits-table tbody tr").count() == 2
    _shot(page, "home_teaching_detail")
    page.click("text=送教上门工作手册")
    page.wait_for_selector("text=三、送教记录")
    page.emulate_media(media="print")
    _shot(page, "home_teaching_manual_print")
    page.emulate_media(media="screen")

    # 4. 家校联系: a home visit to 赵一鸣.
    page.goto(f"{url}{reverse('ledgers:new', args=['family_contact'])}?student={scene.classmates[0].pk}")
    page.select_option("#id_kind", "home_visit")
    page.fill("#id_contact_date", _iso(today()))
    page.fill("#id_staff", "班主任陈老师")
    page.fill("#id_content", "了解孩子在家学习情况，宣传义务教育法")
    page.fill("#id_outcome", "家长承诺按时送孩子上学")
    page.click("form.ledger-form button[type=submit]")
    page.wait_for_selector("text=已保存")
    contact = FamilyContact.objects.get(student=scene.classmates[0])
    assert contact.created_by == county.school_a and contact.class_name == "4年级1班"

    # 5. Export the 送教上门 ledger from the list page and read the rows back.
    page.goto(f"{url}{reverse('ledgers:home_teaching')}")
    assert page.locator("text=李送教").count() >= 1
    _shot(page, "home_teaching_list")
    page.click("button:has-text('导出')")
    with page.expect_download() as info:
        page.click("text=导出 Excel")
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    assert "送教上门台账" in download.suggested_filename
    target = tmp_path / "home_teaching.xlsx"
    download.save_as(target)
    ws = openpyxl.load_workbook(target).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == f"霍邱县{county.a_primary.name}{term.label}送教上门台账"
    data = [r for r in rows if isinstance(r[0], int) and r[1] == "李送教"]
    assert len(data) == 2
    header = rows[3]
    dates = sorted(r[header.index("送教日期")].date() for r in data)
    assert dates == sorted([today().replace(day=1), today()])
    assert all(r[header.index("身份证件号")] == scene.home_child.id_masked for r in data)
    assert any("文化" in r[header.index("送教内容")] for r in data)

    # The other ledgers' lists, for the screenshots.
    for slug in ("returns", "status_changes", "family_contact", "aid", "absences", "deferrals"):
        page.goto(f"{url}{reverse(f'ledgers:{slug}')}")
        page.wait_for_selector("h1")
        _shot(page, f"{slug}_list")
    page.goto(f"{url}{reverse('students:detail', args=[scene.classmates[0].pk])}")
    page.wait_for_selector("text=工作台账")
    _shot(page, "student_panel")
    page.context.close()

    # 6. The township center school approves the 延缓入学 application.
    page = login(browser, live_server, county.township_a.username)
    page.goto(f"{url}{reverse('ledgers:deferrals')}")
    page.click("text=待我审核")
    page.click("text=周延缓")
    page.wait_for_selector("text=审核延缓入学申请")
    page.check('input[name="decision"][value="approve"]')
    page.fill("#id_review_note", "诊断证明齐全，同意延缓入学")
    _shot(page, "deferral_review")
    page.click("text=提交审核结果")
    page.wait_for_selector("text=审核结果已保存")
    scene.deferral.refresh_from_db()
    assert scene.deferral.review == Deferral.Review.APPROVED
    assert scene.deferral.reviewed_by == county.township_a
    assert page.locator("text=已批准").count() >= 1
    _shot(page, "deferral_approved")
    page.context.close()

    # 7. Another school's clerk sees none of it: 404 on every entry, nothing in the lists.
    page = login(browser, live_server, county.school_b.username)
    change = scene.classmates[2].status_changes.get(kind="suspend")
    for slug, pk in (("home_teaching", scene.plan.pk), ("status_changes", change.pk),
                     ("family_contact", contact.pk), ("deferrals", scene.deferral.pk),
                     ("returns", ReturnReport.objects.first().pk)):
        response = page.goto(f"{url}{reverse('ledgers:detail', args=[slug, pk])}")
        assert response.status == 404, slug
    assert page.goto(f"{url}{reverse('ledgers:manual', args=[scene.plan.pk])}").status == 404
    _shot(page, "other_school_404")
    for slug in ("home_teaching", "returns", "status_changes", "family_contact", "deferrals"):
        page.goto(f"{url}{reverse(f'ledgers:{slug}')}")
        body = page.content()
        assert "李送教" not in body and "赵一鸣" not in body and "周延缓" not in body
    page.context.close()
