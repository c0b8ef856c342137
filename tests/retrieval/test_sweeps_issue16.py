"""The sweep rules of issue 16 §3, each on a hand-built county:

- 转出未接收: a 转出 to a school of the county not received after 10 school days (the county's
  school calendar, as the absence sweep counts) is a suspected dropout at the receiving
  school's township;
- 新学期名册缺失: a child missing from the term's first roster of their school is, from the
  term's return check, a suspected dropout unless a status change explains it;
- 帮扶对象未入学: a child on a support list found in no school is alerted as the census rule does;
- 转出县外缺接收证明: listed by the 11–12月 feedback verification until the letter is attached.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from kongchuo.calendar.models import CalendarDay
from kongchuo.imports.pipeline import import_run
from ledgers.models import Attachment, Deferral, ReturnReport
from retrieval.models import Alert
from students.models import RosterGap, StatusChange, Student, SupportMark, TransferRequest
from tests.factories import StudentFactory
from tests.imports.conftest import ROSTER_HEADER, roster_row, write_xlsx
from tests.retrieval.sweepkit import alerts, census, change, new_id, run, student

pytestmark = pytest.mark.django_db
D = dt.date


# --------------------------------------------------------------------------- 转出未接收


MONDAY = D(2026, 3, 2)


def _out(county, child, to_school, on=MONDAY, direction="out"):
    """A pending 转出 recorded on `on` (a Monday), as transfer_request_create leaves it."""
    Student.objects.filter(pk=child.pk).update(status="transferring")
    return TransferRequest.objects.create(
        student=child, from_school=child.school, to_school=to_school, direction=direction,
        status_before="enrolled", grade=child.grade, reason="随迁", requested_on=on,
        requested_by=county.county_user)


def test_a_transfer_not_received_after_10_school_days_is_alerted_at_the_receiving_township(county):
    t = _out(county, county.s_a, county.b_primary)  # 甲镇 → 乙镇
    # 2 March + 10 school days = 16 March (Monday): still within the time on the 16th.
    assert run("transfer_unreceived", D(2026, 3, 16)).created == 0
    r = run("transfer_unreceived", D(2026, 3, 17))
    assert r.created == 1
    a = alerts("transfer_unreceived")[county.s_a.id_number]
    assert (a.period, a.school, a.township, a.level, a.student) == (
        f"tr{t.pk}", None, county.tb, "township", county.s_a)
    assert a.detail["deadline"] == "2026-03-16" and a.detail["from_school"] == county.a_primary.name
    # The receiving township sees it, the sending school does not (it is not theirs to find).
    assert Alert.objects.visible_to(county.township_b).filter(pk=a.pk).exists()
    assert not Alert.objects.visible_to(county.school_a).filter(pk=a.pk).exists()


def test_the_school_calendar_moves_the_deadline(county):
    _out(county, county.s_a, county.b_primary)
    CalendarDay.objects.create(date=D(2026, 3, 9), school_day=False, note="停课")
    CalendarDay.objects.create(date=D(2026, 3, 14), school_day=True, note="调休")
    # 3–6, 10–13, 14 (make-up Saturday), 16: the 10th school day is still the 16th …
    assert run("transfer_unreceived", D(2026, 3, 16)).created == 0
    CalendarDay.objects.filter(date=D(2026, 3, 14)).delete()
    # … without the make-up day it is the 17th.
    assert run("transfer_unreceived", D(2026, 3, 17)).created == 0
    assert run("transfer_unreceived", D(2026, 3, 18)).created == 1


def test_receiving_the_child_resolves_the_alert(county):
    t = _out(county, county.s_a, county.b_primary)
    run("transfer_unreceived", D(2026, 3, 20))
    TransferRequest.objects.filter(pk=t.pk).update(state="confirmed")
    Student.objects.filter(pk=county.s_a.pk).update(school=county.b_primary, status="enrolled")
    r = run("transfer_unreceived", D(2026, 3, 23))
    assert r.resolved == 1
    assert Alert.objects.get(rule="transfer_unreceived").status == "resolved"


def test_a_county_direct_receiving_school_goes_to_the_county(county):
    _out(county, county.s_a, county.direct)
    run("transfer_unreceived", D(2026, 3, 20))
    a = Alert.objects.get(rule="transfer_unreceived")
    assert (a.township, a.level) == (None, "county")
    assert not Alert.objects.visible_to(county.township_a).filter(pk=a.pk).exists()


def test_a_request_of_the_receiving_school_or_a_child_reported_back_is_not_alerted(county):
    _out(county, county.s_a, county.b_primary, direction="in")
    _out(county, county.s_a2, county.b_center)
    ReturnReport.objects.create(student=county.s_a2, term="2026-spring", reported_on=D(2026, 3, 3))
    assert run("transfer_unreceived", D(2026, 3, 20)).created == 0


# --------------------------------------------------------------------------- 名册缺失


def _roster(tmp_path, name, school, children, term="2026-spring", user=None):
    rows = [roster_row(i, school, id_number=c.id_number, name=c.name, grade=f"{c.grade}")
            for i, c in enumerate(children, start=1)]
    path = write_xlsx(tmp_path / name, rows, header=ROSTER_HEADER)
    r = import_run(kind="roster", path=path, options={"term": term}, user=user)
    assert r.errors == [], r.errors
    return r


@pytest.fixture
def roll(county):
    """School A with four children: one on leave, one suspended, one transferring, one plain."""
    ns = type("Roll", (), {})()
    ns.kept = StudentFactory(school=county.a_primary, grade=4, name="在名册")
    ns.gone = StudentFactory(school=county.a_primary, grade=4, name="无名册")
    ns.leave = StudentFactory(school=county.a_primary, grade=4, name="请假生")
    ns.moving = StudentFactory(school=county.a_primary, grade=4, name="转学生")
    change(ns.leave, "leave", D(2026, 2, 25), end=D(2026, 3, 20))
    return ns


def test_a_child_missing_from_the_terms_roster_is_a_suspected_dropout_unless_explained(county, roll, tmp_path):
    r = _roster(tmp_path, "a.xlsx", county.a_primary, [roll.kept, county.s_a])
    assert r.extra["missing"] == 3  # gone, leave, moving (the import's own count)
    gaps = set(RosterGap.objects.filter(term="2026-spring").values_list("student_id", flat=True))
    assert gaps == {roll.gone.pk, roll.leave.pk, roll.moving.pk}
    _out(county, roll.moving, county.b_primary, on=D(2026, 2, 20))
    change(roll.moving, "transfer_request", D(2026, 2, 20), to_status="transferring")
    # The roster says the child is gone though the school ticked them back: its own alert.
    for child in (roll.gone, roll.leave, roll.moving, roll.kept, county.s_a):
        ReturnReport.objects.create(student=child, term="2026-spring", reported_on=D(2026, 2, 26))
    # Before the term's return check: nothing; from it: only the unexplained child.
    assert run("return_check", D(2026, 1, 20)).alerts.filter(rule="roster_missing").count() == 0
    run("return_check", D(2026, 3, 2))
    assert set(alerts("roster_missing")) == {roll.gone.id_number}
    a = alerts("roster_missing")[roll.gone.id_number]
    assert (a.school, a.period, a.level) == (county.a_primary, "2026-spring", "school")
    # A 休学 recorded later explains it: the next run resolves the alert.
    change(roll.gone, "suspend", D(2026, 3, 3), to_status="suspended", end=D(2026, 9, 1))
    Student.objects.filter(pk=roll.gone.pk).update(status="suspended")
    run("return_check", D(2026, 3, 4))
    assert Alert.objects.get(rule="roster_missing").status == "resolved"


def test_a_child_not_back_and_missing_from_the_roster_has_one_alert_with_both_reasons(county, roll, tmp_path):
    """One child, one alert per sweep (main's sibling merge): 返校核查 carries 名册缺失."""
    _roster(tmp_path, "a.xlsx", county.a_primary, [roll.kept, county.s_a])
    run("return_check", D(2026, 3, 2))
    carrier = Alert.objects.get(subject=roll.gone.id_number)
    assert carrier.rule == "return_check"
    assert [r["rule"] for r in carrier.detail["also"]] == ["roster_missing"]


def test_a_roster_in_parts_strikes_off_the_children_of_the_second_part(county, roll, tmp_path):
    _roster(tmp_path, "a1.xlsx", county.a_primary, [roll.kept])
    assert RosterGap.objects.filter(student=roll.gone).exists()
    _roster(tmp_path, "a2.xlsx", county.a_primary, [roll.gone, roll.leave, roll.moving, county.s_a])
    assert not RosterGap.objects.exists()
    # A later roster of the same term lists nobody new (the first one of the term did).
    _roster(tmp_path, "a3.xlsx", county.a_primary, [roll.kept])
    assert not RosterGap.objects.exists()
    # The next term's first roster does.
    _roster(tmp_path, "a4.xlsx", county.a_primary, [roll.kept], term="2026-autumn")
    assert RosterGap.objects.filter(term="2026-autumn").count() == 4


def test_the_roster_gap_worklist_and_its_export(county, roll, tmp_path, client_as):
    import openpyxl

    _roster(tmp_path, "a.xlsx", county.a_primary, [roll.kept, roll.leave, roll.moving, county.s_a])
    c = client_as(county.school_a)
    page = c.get(reverse("students:roster_gaps") + "?term=2026-spring")
    assert [g.student for g in page.context["page"].object_list] == [roll.gone]
    assert c.get(reverse("students:roster_gaps_export") + "?term=2026-spring").status_code == 405
    response = c.post(reverse("students:roster_gaps_export") + "?term=2026-spring")
    assert response.status_code == 200
    path = tmp_path / "gaps.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    ws = openpyxl.load_workbook(path).active
    cells = [str(c.value) for row in ws.iter_rows() for c in row if c.value]
    assert "2026年春季学期学籍名册缺失学生核查表" in cells[0]
    assert roll.gone.name in cells and roll.gone.id_number not in cells
    assert any(v.startswith(roll.gone.id_number[:6] + "*") for v in cells)
    assert client_as(county.school_b).get(reverse("students:roster_gaps") + "?term=2026-spring"
                                          ).context["page"].paginator.count == 0


# --------------------------------------------------------------------------- 帮扶对象未入学


def _mark(kind, born, **kw):
    return SupportMark.objects.create(kind=kind, id_number=kw.pop("id_number", None) or new_id(born),
                                      name=kw.pop("name", "帮扶儿童"), listed_on=D(2026, 1, 1), **kw)


def test_support_list_children_in_no_school_are_alerted_as_the_census_rule_does(county):
    lost = _mark("poor", D(2015, 5, 5), township=county.ta)
    _mark("dibao", D(2015, 5, 5), id_number=lost.id_number, township=county.ta)  # on two lists
    by_census = _mark("orphan", D(2014, 4, 4))
    census(county.tb, D(2014, 4, 4), year=2026, id_number=by_census.id_number)
    nowhere = _mark("unsupported", D(2013, 3, 3))
    _mark("tekun", D(2005, 1, 1), township=county.ta)  # 21 years old: not of school age
    at_school = _mark("hardship", D(2015, 5, 5), id_number=county.s_a.id_number, township=county.ta)
    deferred = _mark("disability", D(2019, 1, 1), township=county.ta)
    Deferral.objects.create(school=county.a_primary, id_number=deferred.id_number, name="延缓",
                            birth_date=D(2019, 1, 1), guardian_name="家长", reason="病", certificate="证明",
                            start_date=D(2026, 1, 1), end_date=D(2027, 8, 31), review="approved")
    run("census", D(2026, 7, 15))
    got = alerts("support_unenrolled")
    assert set(got) == {lost.id_number, nowhere.id_number}
    assert (got[lost.id_number].township, got[lost.id_number].level) == (county.ta, "township")
    assert (got[nowhere.id_number].township, got[nowhere.id_number].level) == (None, "county")
    # A census child on a list: one alert per child per sweep, the census one carries the reason.
    carrier = Alert.objects.get(subject=by_census.id_number)
    assert (carrier.rule, carrier.township) == ("census", county.tb)
    assert [r["rule"] for r in carrier.detail["also"]] == ["support_unenrolled"]
    assert at_school.id_number not in got
    # Enrolled since: resolved at the next run.
    StudentFactory(id_number=lost.id_number, school=county.a_primary)
    run("census", D(2026, 7, 22))
    assert Alert.objects.get(subject=lost.id_number).status == "resolved"


def test_the_support_worklist_per_township(county, client_as):
    a = _mark("poor", D(2015, 5, 5), township=county.ta, name="甲镇帮扶")
    b = _mark("poor", D(2015, 5, 5), township=county.tb, name="乙镇帮扶")
    page = client_as(county.township_a).get(reverse("retrieval:support_unenrolled"))
    assert [r["mark"].pk for r in page.context["rows"]] == [a.pk]
    assert a.id_number not in page.content.decode()
    page = client_as(county.county_user).get(reverse("retrieval:support_unenrolled") + f"?township={county.tb.pk}")
    assert [r["mark"].pk for r in page.context["rows"]] == [b.pk]
    assert client_as(county.school_a).get(reverse("retrieval:support_unenrolled")).status_code == 403


def test_the_support_list_import_reads_the_township_and_the_new_groups(county, tmp_path):
    orphan = new_id(D(2015, 6, 6))
    path = write_xlsx(tmp_path / "s.xlsx", [["孤儿甲", orphan, "甲镇"], [county.s_b.name, county.s_b.id_number, ""]],
                      header=["姓名", "身份证件号", "户籍乡镇"])
    r = import_run(kind="support", path=path, options={"list": "孤儿"})
    assert r.errors == [] and r.created == 2
    assert SupportMark.objects.get(id_number=orphan).township == county.ta
    county.s_b.refresh_from_db()
    assert county.s_b.is_orphan


# --------------------------------------------------------------------------- 转出县外缺接收证明


def test_out_of_county_transfers_without_a_letter_are_listed_in_november(county, client_as):
    gone = student(county.a_primary, status="out_of_county")
    letter = student(county.a_primary, status="out_of_county")
    c1 = StatusChange.objects.create(student=gone, kind="transfer_out", effective_date=D(2026, 9, 10),
                                     from_status="enrolled", to_status="out_of_county",
                                     to_county="合肥市蜀山区", to_school_name="琥珀小学")
    c2 = StatusChange.objects.create(student=letter, kind="transfer_out", effective_date=D(2026, 9, 10),
                                     from_status="enrolled", to_status="out_of_county",
                                     to_county="合肥市蜀山区", to_school_name="琥珀小学")
    Attachment.objects.create(content_type=ContentType.objects.get_for_model(StatusChange), object_id=c2.pk,
                              token="t1", file="x.pdf", original_name="接收证明.pdf", mime="application/pdf",
                              size=10, sha256="0" * 64, uploaded_by=county.school_a,
                              uploaded_at=dt.datetime(2026, 9, 11, tzinfo=dt.UTC))
    page = client_as(county.school_a).get(reverse("ledgers:transfers_missing_proof"))
    assert [c.pk for c in page.context["page"].object_list] == [c1.pk]
    assert run("feedback_verification", D(2026, 10, 20)).alerts.filter(rule="transfer_proof").count() == 0
    run("feedback_verification", D(2026, 11, 20))
    assert set(alerts("transfer_proof")) == {gone.id_number}
    assert alerts("transfer_proof")[gone.id_number].school == county.a_primary


# --------------------------------------------------------------------------- support filters


def test_alerts_cases_and_lists_filter_by_the_support_groups(county, client_as):
    from retrieval.models import RetrievalCase

    Student.objects.filter(pk=county.s_a.pk).update(is_hardship=True)
    listed = _mark("orphan", D(2014, 4, 4), township=county.ta)
    run("return_check", D(2026, 3, 2))
    run("census", D(2026, 7, 15))
    c = client_as(county.county_user)
    page = c.get(reverse("retrieval:alerts") + "?support=hardship")
    got = {a.subject for a in page.context["table"].data}
    assert got == {county.s_a.id_number}
    page = c.get(reverse("retrieval:alerts") + "?support=orphan")
    assert {a.subject for a in page.context["table"].data} == {listed.id_number}
    students = c.get(reverse("students:list") + "?flag=is_hardship")
    assert [s.pk for s in students.context["table"].data] == [county.s_a.pk]
    case = RetrievalCase.objects.create(student=county.s_a, id_number=county.s_a.id_number,
                                        name=county.s_a.name, school=county.a_primary,
                                        township=county.ta, reason="厌学", opened_by=county.county_user)
    page = c.get(reverse("retrieval:cases") + "?support=hardship")
    assert [x.pk for x in page.context["table"].data] == [case.pk]
    assert c.get(reverse("retrieval:cases") + "?support=orphan").context["table"].data.data.count() == 0
