"""Ledger pages end to end through the Django test client: forms, errors, stale edits, history,
returns ticking, deferral review, lists, the student panel, hot-path query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kongchuo.calendar.schoolyear import term_of, today
from ledgers.models import (
    AidRecord,
    Deferral,
    FamilyContact,
    HomeTeachingPlan,
    HomeTeachingVisit,
    ReturnReport,
)
from ledgers.services import ledger_entry_update
from students.models import StatusChange, Student
from tests.factories import StudentFactory
from tests.ledgers.conftest import VALID_CHILD_ID

pytestmark = pytest.mark.django_db


def _d(day: dt.date) -> str:
    return f"{day:%Y-%m-%d}"


# --------------------------------------------------------------------------- forms


def test_new_absence_computes_school_days_and_shows_in_list(county, client_as):
    c = client_as(county.school_a)
    monday = today() - dt.timedelta(days=today().weekday() + 7)
    response = c.post(reverse("ledgers:new", args=["absences"]), {
        "student": county.s_a.pk, "start_date": _d(monday), "end_date": _d(monday + dt.timedelta(days=6)),
        "school_days": "", "reason_found": "", "follow_up": "电话联系家长"})
    assert response.status_code == 302
    entry = county.s_a.absences.get()
    assert entry.school_days == 5 and entry.created_by == county.school_a
    body = c.get(reverse("ledgers:absences")).content.decode()
    assert county.s_a.name in body and "辍学风险" in body and "共 1 条" in body


def test_form_errors_are_chinese_and_nothing_is_saved(county, client_as):
    c = client_as(county.school_a)
    response = c.post(reverse("ledgers:new", args=["deferrals"]), {
        "id_number": VALID_CHILD_ID[:-1] + "9", "name": "小明", "birth_date": "2018-03-07",
        "guardian_name": "张三", "reason": "病", "certificate": "证明",
        "start_date": _d(today()), "end_date": _d(today() + dt.timedelta(days=400))})
    assert response.status_code == 400
    body = response.content.decode()
    assert "身份证件号校验位错误" in body
    assert "延缓入学期限不能超过1年" in body
    assert not Deferral.objects.exists()


def test_required_fields_and_future_dates(county, client_as):
    response = client_as(county.school_a).post(reverse("ledgers:new", args=["family_contact"]), {
        "kind": "home_visit", "contact_date": _d(today() + dt.timedelta(days=3)), "staff": "", "content": ""})
    body = response.content.decode()
    assert response.status_code == 400
    assert "日期不能晚于今天" in body and "这个字段是必填项" in body


def test_date_inputs_are_native(county, client_as):
    body = client_as(county.school_a).get(reverse("ledgers:new", args=["aid"])).content.decode()
    assert 'type="date"' in body and 'name="granted_on"' in body


def test_student_choices_are_only_own_school(county, client_as):
    body = client_as(county.school_a).get(reverse("ledgers:new", args=["aid"])).content.decode()
    assert county.s_a.name in body and county.s_b.name not in body


def test_foreign_student_in_post_is_a_field_error(county, client_as):
    response = client_as(county.school_a).post(reverse("ledgers:new", args=["aid"]), {
        "student": county.s_b.pk, "term": term_of(today()).code, "kind": "living", "amount": "10",
        "granted_on": _d(today())})
    assert response.status_code == 400 and not AidRecord.objects.exists()


def test_status_change_form_records_suspension(county, client_as):
    c = client_as(county.school_a)
    response = c.post(reverse("ledgers:new", args=["status_changes"]), {
        "student": county.s_a.pk, "kind": "suspend", "effective_date": _d(today()),
        "end_date": _d(today() + dt.timedelta(days=200)), "reason": "因病休学", "approved_by": "王校长"})
    assert response.status_code == 302
    county.s_a.refresh_from_db()
    assert county.s_a.status == Student.Status.SUSPENDED
    assert StatusChange.objects.filter(student=county.s_a, kind="suspend").exists()
    detail = c.get(response["Location"]).content.decode()
    assert "因病休学" in detail and "王校长" in detail


def test_status_change_transfer_out_needs_a_destination(county, client_as):
    response = client_as(county.school_a).post(reverse("ledgers:new", args=["status_changes"]), {
        "student": county.s_a.pk, "kind": "transfer_out", "effective_date": _d(today()),
        "reason": "随父母务工", "approved_by": "王校长"})
    assert response.status_code == 400
    assert "转出须填写去向学校" in response.content.decode()
    assert not StatusChange.objects.exists()


def test_status_change_transfer_in_county_moves_the_child_once_received(county, client_as):
    """Issue 16: a 转出 to a school of the county is 转学中 until the receiving school confirms."""
    from students.models import TransferRequest

    response = client_as(county.school_a).post(reverse("ledgers:new", args=["status_changes"]), {
        "student": county.s_a.pk, "kind": "transfer_out", "effective_date": _d(today()),
        "to_school": county.b_primary.pk, "reason": "搬家", "approved_by": "王校长"})
    transfer = TransferRequest.objects.get(student=county.s_a)
    assert response.status_code == 302 and response.url == reverse("students:transfer", args=[transfer.pk])
    county.s_a.refresh_from_db()
    assert county.s_a.school == county.a_primary and county.s_a.status == "transferring"
    response = client_as(county.school_b).post(reverse("students:transfer_confirm", args=[transfer.pk]),
                                               {"version": transfer.version})
    assert response.status_code == 302
    county.s_a.refresh_from_db()
    assert county.s_a.school == county.b_primary and county.s_a.status == "enrolled"


# --------------------------------------------------------------------------- edits and history


def test_edit_then_history_shows_old_new_and_who(county, entries, client_as):
    c = client_as(county.school_a)
    entry = entries.a["vocational"]
    url = reverse("ledgers:edit", args=["vocational", entry.pk])
    form = c.get(url).content.decode()
    assert 'name="version"' in form and 'value="1"' in form
    response = c.post(url, {"student": county.s_a.pk, "school_name": "霍邱县职业高级中学",
                            "major": "计算机", "start_date": _d(entry.start_date), "version": 1})
    assert response.status_code == 302
    detail = c.get(reverse("ledgers:detail", args=["vocational", entry.pk])).content.decode()
    assert "修改记录" in detail and county.school_a.username in detail
    assert "职高" in detail and "霍邱县职业高级中学" in detail and "→" in detail


def test_stale_edit_is_refused_with_a_clear_message(county, entries, client_as):
    c = client_as(county.school_a)
    entry = entries.a["learning_support"]
    url = reverse("ledgers:edit", args=["learning_support", entry.pk])
    c.get(url)  # clerk 1 opens the form at version 1
    ledger_entry_update(entry=entry, user=county.school_a, expected_version=1,
                        values={"measures": "同事先保存的措施"})  # clerk 2 saves first
    response = c.post(url, {"student": county.s_a.pk, "teacher": "李老师", "measures": "我的措施",
                            "start_date": _d(entry.start_date), "active": "on", "version": 1})
    assert response.status_code == 409
    body = response.content.decode()
    assert "已被他人修改" in body and "同事先保存的措施" in body
    entry.refresh_from_db()
    assert entry.measures == "同事先保存的措施" and entry.version == 2


def test_edit_without_version_is_refused(county, entries, client_as):
    entry = entries.a["publicity"]
    response = client_as(county.school_a).post(reverse("ledgers:edit", args=["publicity", entry.pk]), {
        "activity_date": _d(entry.activity_date), "kind": "banner", "audience": "全体",
        "participants": 3})
    assert response.status_code == 409
    entry.refresh_from_db()
    assert entry.audience == "家长"


def test_detail_masks_ids_and_phones(county, entries, client_as):
    deferral = entries.a["deferrals"]
    deferral.guardian_phone = "13912345678"
    deferral.save()
    body = client_as(county.county_user).get(
        reverse("ledgers:detail", args=["deferrals", deferral.pk])).content.decode()
    assert VALID_CHILD_ID not in body and "341522********0016" in body
    assert "13912345678" not in body and "139****5678" in body


# --------------------------------------------------------------------------- 送教上门


def test_visits_logged_under_plan_and_counted_per_month(county, client_as):
    c = client_as(county.school_a)
    response = c.post(reverse("ledgers:new", args=["home_teaching"]), {
        "student": county.s_a.pk, "disability_category": "肢体残疾", "teachers": "王老师",
        "start_date": _d(today().replace(day=1) - dt.timedelta(days=40))})
    assert response.status_code == 302
    plan = HomeTeachingPlan.objects.get(student=county.s_a)
    county.s_a.refresh_from_db()
    assert county.s_a.status == Student.Status.HOME_TEACHING
    new_visit = reverse("ledgers:new", args=["home_teaching_visits"]) + f"?plan={plan.pk}"
    for day in (today().replace(day=1), today()):
        r = c.post(new_visit, {"plan": plan.pk, "visit_date": _d(day), "teachers": "王老师", "periods": 2,
                               "content": ["culture", "rehab"], "guardian_signed": "on"})
        assert r.status_code == 302 and r["Location"] == reverse("ledgers:detail", args=["home_teaching", plan.pk])
    assert HomeTeachingVisit.objects.filter(plan=plan).count() == 2
    assert HomeTeachingVisit.objects.first().content == "culture,rehab"
    listing = c.get(reverse("ledgers:home_teaching")).content.decode()
    assert "2 / 2" in listing
    manual = c.get(reverse("ledgers:manual", args=[plan.pk])).content.decode()
    assert "送教上门工作手册" in manual and "文化、康复" in manual and 'data-print="1"' in manual


def test_second_plan_for_same_child_is_refused(county, entries, client_as):
    response = client_as(county.school_a).post(reverse("ledgers:new", args=["home_teaching"]), {
        "student": county.s_a.pk, "disability_category": "肢体残疾", "teachers": "王老师",
        "start_date": _d(today())})
    assert response.status_code == 400
    assert "一人一案" in response.content.decode()


def test_home_teaching_flags_months_below_two(county, entries, client_as):
    body = client_as(county.school_a).get(reverse("ledgers:home_teaching") + "?below=1").content.decode()
    # The fixture plan has one visit this month: below the minimum of 2.
    assert county.s_a.name in body and "1 / 2" in body


# --------------------------------------------------------------------------- 返校报到


def test_tick_sheet_starts_unticked_and_saves_in_one_post(county, client_as, second_student):
    c = client_as(county.school_a)
    term = term_of(today())
    page = c.get(reverse("ledgers:returns_tick")).content.decode()
    assert 'name="student"' in page and "checked" not in page.split("<tbody>")[1]
    response = c.post(reverse("ledgers:returns_tick"), {
        "term": term.code, "class": "4|1班", "reported_on": _d(today()),
        "student": [county.s_a.pk, second_student.pk]})
    assert response.status_code == 302
    assert set(ReturnReport.objects.filter(term=term.code).values_list("student_id", flat=True)) == {
        county.s_a.pk, second_student.pk}
    again = c.post(reverse("ledgers:returns_tick"), {
        "term": term.code, "class": "4|1班", "reported_on": _d(today()), "student": [county.s_a.pk]})
    assert again.status_code == 302 and ReturnReport.objects.count() == 2


def test_tick_refuses_children_of_another_school(county, client_as):
    response = client_as(county.school_a).post(reverse("ledgers:returns_tick"), {
        "term": term_of(today()).code, "reported_on": _d(today()), "student": [county.s_b.pk]})
    assert response.status_code == 200 and not ReturnReport.objects.exists()


def test_missing_list_is_one_click_and_scoped(county, client_as, second_student):
    c = client_as(county.school_a)
    returns = c.get(reverse("ledgers:returns")).content.decode()
    assert reverse("ledgers:returns_missing") in returns
    ReturnReport.objects.create(student=second_student, term=term_of(today()).code, reported_on=today())
    body = c.get(reverse("ledgers:returns_missing")).content.decode()
    assert county.s_a.name in body and second_student.name not in body and county.s_b.name not in body


def test_child_on_leave_is_not_missing(county, client_as):
    StatusChange.objects.create(student=county.s_a, kind="leave", effective_date=term_of(today()).start,
                                end_date=today() + dt.timedelta(days=3))
    body = client_as(county.school_a).get(reverse("ledgers:returns_missing")).content.decode()
    assert county.s_a.name not in body


# --------------------------------------------------------------------------- 资助 / 延缓 lists


def test_poor_children_without_aid_are_visible_at_a_glance(county, client_as):
    Student.objects.filter(pk=county.s_a.pk).update(is_dibao=True)
    poor2 = StudentFactory(school=county.a_primary, is_poor=True)
    AidRecord.objects.create(student=poor2, term=term_of(today()).code, kind="living", amount=500,
                             granted_on=today())
    c = client_as(county.school_a)
    listing = c.get(reverse("ledgers:aid")).content.decode()
    assert "困难学生未资助" in listing and reverse("ledgers:aid_uncovered") in listing
    body = c.get(reverse("ledgers:aid_uncovered")).content.decode()
    assert county.s_a.name in body and poor2.name not in body


def test_township_reviews_deferral_through_the_page(county, entries, client_as):
    c = client_as(county.township_a)
    deferral = entries.a["deferrals"]
    detail = c.get(reverse("ledgers:detail", args=["deferrals", deferral.pk])).content.decode()
    assert "审核延缓入学申请" in detail
    bad = c.post(reverse("ledgers:deferral_review", args=[deferral.pk]),
                 {"decision": "reject", "review_note": "", "version": 1})
    assert bad.status_code == 400 and "驳回时必须填写理由" in bad.content.decode()
    ok = c.post(reverse("ledgers:deferral_review", args=[deferral.pk]),
                {"decision": "reject", "review_note": "证明不全", "version": 1})
    assert ok.status_code == 302
    deferral.refresh_from_db()
    assert deferral.review == "rejected" and deferral.review_note == "证明不全"
    school_view = client_as(county.school_a).get(
        reverse("ledgers:detail", args=["deferrals", deferral.pk])).content.decode()
    assert "已驳回" in school_view and "审核延缓入学申请" not in school_view


def test_expiring_deferral_is_flagged(county, entries, client_as):
    Deferral.objects.filter(pk=entries.a["deferrals"].pk).update(
        review="approved", end_date=today() + dt.timedelta(days=9))
    c = client_as(county.township_a)
    body = c.get(reverse("ledgers:deferrals") + "?expiring=soon").content.decode()
    assert "即将到期" in body and "共 1 条" in body
    Deferral.objects.filter(pk=entries.a["deferrals"].pk).update(end_date=today() + dt.timedelta(days=11))
    assert "共 0 条" in c.get(reverse("ledgers:deferrals") + "?expiring=soon").content.decode()


# --------------------------------------------------------------------------- lists, filters


def test_list_filters_and_reset(county, entries, client_as):
    c = client_as(county.county_user)
    everything = c.get(reverse("ledgers:aid")).content.decode()
    assert "共 2 条" in everything and "查询" in everything and "重置" in everything
    by_school = c.get(reverse("ledgers:aid") + f"?school={county.b_primary.pk}").content.decode()
    assert "共 1 条" in by_school and county.s_b.name in by_school
    by_id = c.get(reverse("ledgers:aid") + f"?q={county.s_a.id_number[-4:]}").content.decode()
    assert county.s_a.name in by_id


def test_list_is_sortable(county, entries, client_as):
    body = client_as(county.county_user).get(reverse("ledgers:aid") + "?sort=-amount").content.decode()
    assert "sort=amount" in body  # the header now offers the opposite order


def test_township_sees_only_its_township(county, entries, client_as):
    body = client_as(county.township_a).get(reverse("ledgers:family_contact")).content.decode()
    assert "共 1 条" in body and county.a_primary.name in body and county.b_primary.name not in body


def test_list_query_count_is_flat(county, client_as, django_assert_max_num_queries):
    c = client_as(county.school_a)
    kids = StudentFactory.create_batch(30, school=county.a_primary)
    AidRecord.objects.bulk_create([AidRecord(student=k, term=term_of(today()).code, kind="living",
                                             amount=500, granted_on=today()) for k in kids])
    c.get(reverse("ledgers:aid"))  # warm the session
    with django_assert_max_num_queries(12):
        assert c.get(reverse("ledgers:aid")).status_code == 200


def test_tick_sheet_query_count_is_flat(county, client_as, django_assert_max_num_queries):
    StudentFactory.create_batch(45, school=county.a_primary, class_name="1班")
    c = client_as(county.school_a)
    c.get(reverse("ledgers:returns_tick"))
    with django_assert_max_num_queries(10):
        page = c.get(reverse("ledgers:returns_tick"))
    assert page.content.decode().count('name="student"') == 46


def test_returns_list_shows_term_label(county, entries, client_as):
    body = client_as(county.school_a).get(reverse("ledgers:returns")).content.decode()
    assert term_of(today()).label in body


# --------------------------------------------------------------------------- student page


def test_student_page_lists_ledger_entries(county, entries, client_as):
    body = client_as(county.school_a).get(reverse("students:detail", args=[county.s_a.pk])).content.decode()
    assert "工作台账" in body and "登记台账" in body
    for slug in ("returns", "aid", "absences", "home_teaching", "family_contact"):
        assert reverse("ledgers:detail", args=[slug, entries.a[slug].pk]) in body


def test_student_panel_for_township_has_no_add_menu(county, entries, client_as):
    body = client_as(county.township_a).get(reverse("students:detail", args=[county.s_a.pk])).content.decode()
    assert "工作台账" in body and "登记台账" not in body


def test_family_contact_can_target_a_class(county, client_as):
    response = client_as(county.school_a).post(reverse("ledgers:new", args=["family_contact"]), {
        "kind": "meeting", "contact_date": _d(today()), "class_name": "4年级1班", "staff": "班主任",
        "content": "期中家长会"})
    assert response.status_code == 302
    contact = FamilyContact.objects.get()
    assert contact.student is None and contact.class_name == "4年级1班"
    assert contact.school == county.a_primary


def test_a_mistaken_tick_can_be_withdrawn(county, entries, client_as):
    from kongchuo.access.models import AuditEvent

    report = entries.a["returns"]
    c = client_as(county.school_a)
    url = reverse("ledgers:returns_withdraw", args=[report.pk])
    stale = c.post(url, {"version": 0})
    assert stale.status_code == 302 and ReturnReport.objects.filter(pk=report.pk).exists()
    response = c.post(url, {"version": report.version})
    assert response.status_code == 302 and "returns/tick" in response["Location"]
    assert not ReturnReport.objects.filter(pk=report.pk).exists()
    assert ReturnReport.history.filter(id=report.pk, history_type="-",
                                       history_user=county.school_a).exists()
    assert AuditEvent.objects.filter(action="return_report_withdraw").exists()
    missing = c.get(reverse("ledgers:returns_missing")).content.decode()
    assert county.s_a.name in missing


@pytest.mark.parametrize("who,expected", [
    ("township_a", 403), ("county_user", 403), ("school_b", 404), ("gov_a", 403),
])
def test_withdraw_only_by_owning_school(county, entries, client_as, who, expected):
    report = entries.a["returns"]
    response = client_as(getattr(county, who)).post(
        reverse("ledgers:returns_withdraw", args=[report.pk]), {"version": report.version})
    assert response.status_code == expected
    assert ReturnReport.objects.filter(pk=report.pk).exists()


def test_withdraw_anonymous(entries, client):
    response = client.post(reverse("ledgers:returns_withdraw", args=[entries.a["returns"].pk]))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("slug,has_import", [("returns", True), ("status_changes", True), ("aid", False)])
def test_import_button_where_the_engine_has_a_kind(county, client_as, slug, has_import):
    body = client_as(county.school_a).get(reverse(f"ledgers:{slug}")).content.decode()
    assert (f"/imports/kinds/{slug}/" in body) is has_import
    if has_import:
        assert client_as(county.school_a).get(f"/imports/kinds/{slug}/").status_code == 200


def test_student_panel_reads_only_the_ledgers_the_child_is_in(county, entries, django_assert_num_queries):
    from ledgers.selectors import student_entries

    with django_assert_num_queries(1):  # one UNION ALL finds nothing: no per-ledger queries
        assert student_entries(county.county_user, county.s_a2) == []
    with django_assert_num_queries(1 + 8):  # …and one query for each ledger that holds the child
        groups = student_entries(county.county_user, county.s_a)
    assert len(groups) == 8
    entries.a["vocational"].delete()
    entries.a["out_of_county"].delete()
    with django_assert_num_queries(1 + 6):
        assert len(student_entries(county.county_user, county.s_a)) == 6
