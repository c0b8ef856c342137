"""Each sweep's rule on a hand-built county, including the date boundaries the issue names."""

from __future__ import annotations

import datetime as dt

import pytest

from ledgers.models import (
    Absence,
    AidRecord,
    Deferral,
    HomeTeachingPlan,
    HomeTeachingVisit,
    ReturnReport,
)
from retrieval.models import Alert, FeedbackBatch, FeedbackItem
from students.models import StatusChange
from tests.retrieval.sweepkit import alerts, census, change, new_id, run, student

pytestmark = pytest.mark.django_db

D = dt.date
MARCH_2 = D(2026, 3, 2)  # in the 2026 spring term


# ----------------------------------------------------------------------------- return_check


class TestReturnCheck:
    def test_enrolled_without_report_is_alerted_at_its_school(self, county):
        r = run("return_check", MARCH_2)
        found = alerts(Alert.Rule.RETURN_CHECK)
        a = found[county.s_a.id_number]
        assert (a.period, a.student_id, a.school_id, a.township_id, a.level, a.status) == (
            "2026-spring", county.s_a.pk, county.a_primary.pk, county.ta.pk, "school", "open")
        assert a.name == county.s_a.name
        assert a.detail == {"term": "2026-spring", "last_status": "enrolled"}
        assert a.due_date == MARCH_2 + dt.timedelta(days=7)
        assert a.sweep_run_id == r.pk
        # the county-direct school's student too, at their school
        assert found[county.s_direct.id_number].school_id == county.direct.pk
        assert r.period == "2026-spring" and r.created == 4

    def test_a_return_report_for_the_term_clears_the_child(self, county):
        ReturnReport.objects.create(student=county.s_a, term="2026-spring", reported_on=D(2026, 2, 20))
        ReturnReport.objects.create(student=county.s_b, term="2025-autumn", reported_on=D(2025, 9, 2))
        run("return_check", MARCH_2)
        found = alerts(Alert.Rule.RETURN_CHECK)
        assert county.s_a.id_number not in found
        assert county.s_b.id_number in found  # last term's report does not count

    def test_term_follows_the_as_of_date(self, county):
        ReturnReport.objects.create(student=county.s_a, term="2026-spring", reported_on=D(2026, 2, 20))
        run("return_check", D(2026, 9, 10))
        a = alerts(Alert.Rule.RETURN_CHECK)[county.s_a.id_number]
        assert a.period == "2026-autumn"

    def test_transfer_out_dated_after_as_of_does_not_count(self, county):
        st = student(county.a_primary, status="out_of_county")  # the change is already recorded
        change(st, "transfer_out", D(2026, 3, 5), from_status="enrolled", to_status="out_of_county")
        run("return_check", MARCH_2)
        assert alerts(Alert.Rule.RETURN_CHECK)[st.id_number].detail["last_status"] == "enrolled"

    def test_transfer_out_dated_before_as_of_counts(self, county):
        st = student(county.a_primary, status="out_of_county")
        change(st, "transfer_out", D(2026, 2, 20), from_status="enrolled", to_status="out_of_county")
        run("return_check", MARCH_2)
        assert st.id_number not in alerts(Alert.Rule.RETURN_CHECK)

    def test_transfer_on_the_as_of_date_counts(self, county):
        st = student(county.a_primary, status="out_of_county")
        change(st, "transfer_out", MARCH_2, from_status="enrolled", to_status="out_of_county")
        run("return_check", MARCH_2)
        assert st.id_number not in alerts(Alert.Rule.RETURN_CHECK)

    def test_enrolment_dated_after_as_of_was_no_student_yet(self, county):
        st = student(county.a_primary)
        StatusChange.objects.create(student=st, kind="enroll", effective_date=D(2026, 3, 10),
                                    from_status="", to_status="enrolled", to_school=county.a_primary)
        run("return_check", MARCH_2)
        assert st.id_number not in alerts(Alert.Rule.RETURN_CHECK)

    @pytest.mark.parametrize(("start", "end", "alerted"), [
        (D(2026, 2, 25), D(2026, 3, 1), True),    # leave ending the day before as-of
        (D(2026, 2, 25), D(2026, 3, 2), False),   # leave ending on as-of covers it
        (D(2026, 3, 2), D(2026, 3, 6), False),    # leave starting on as-of covers it
        (D(2026, 3, 3), D(2026, 3, 6), True),     # leave starting the day after does not
        (D(2026, 2, 25), None, False),            # open-ended leave covers it
    ])
    def test_leave_covering_as_of(self, county, start, end, alerted):
        st = student(county.a_primary)
        change(st, "leave", start, end=end)
        run("return_check", MARCH_2)
        assert (st.id_number in alerts(Alert.Rule.RETURN_CHECK)) is alerted

    def test_open_ended_leave_ended_by_resumption(self, county):
        st = student(county.a_primary)
        change(st, "leave", D(2026, 2, 10))
        change(st, "resume", D(2026, 2, 20))
        run("return_check", MARCH_2)
        assert st.id_number in alerts(Alert.Rule.RETURN_CHECK)

    def test_suspension_covering_as_of(self, county):
        st = student(county.a_primary, status="suspended")
        change(st, "suspend", D(2026, 2, 10), to_status="suspended", end=D(2026, 7, 1))
        run("return_check", MARCH_2)
        assert st.id_number not in alerts(Alert.Rule.RETURN_CHECK)

    def test_suspension_ended_by_resumption_before_as_of(self, county):
        st = student(county.a_primary)
        change(st, "suspend", D(2025, 11, 10), to_status="suspended", end=D(2026, 7, 1))
        change(st, "resume", D(2026, 2, 25), from_status="suspended", to_status="enrolled")
        run("return_check", MARCH_2)
        assert st.id_number in alerts(Alert.Rule.RETURN_CHECK)

    def test_suspension_starting_after_as_of_does_not_cover(self, county):
        st = student(county.a_primary, status="suspended")
        change(st, "suspend", D(2026, 3, 9), from_status="enrolled", to_status="suspended")
        run("return_check", MARCH_2)
        assert st.id_number in alerts(Alert.Rule.RETURN_CHECK)

    @pytest.mark.parametrize("status", ["dropped_out", "graduated", "home_teaching", "deferred"])
    def test_only_enrolled_children_are_checked(self, county, status):
        st = student(county.a_primary, status=status)
        run("return_check", MARCH_2)
        assert st.id_number not in alerts(Alert.Rule.RETURN_CHECK)


# ----------------------------------------------------------------------------- census


JULY = D(2026, 7, 15)  # census year 2026: school age = born 2010-09-01 … 2020-08-31
SEPT = D(2026, 9, 10)  # the autumn term of 2026 has opened (default: 1 September)


class TestCensus:
    @pytest.mark.parametrize(("birth", "alerted"), [
        (D(2010, 9, 1), True),    # aged 15 on 31 August 2026
        (D(2010, 8, 31), False),  # aged 16 on 31 August: too old
        (D(2020, 8, 31), True),   # turns 6 on 31 August: school age
        (D(2020, 9, 1), False),   # turns 6 on 1 September: too young
    ])
    def test_31_august_cut_off_both_ways(self, county, birth, alerted):
        entry = census(county.ta, birth, year=2026)
        run("census", JULY)
        assert (entry.id_number in alerts(Alert.Rule.CENSUS)) is alerted

    def test_alert_routes_to_the_township_of_the_hukou(self, county):
        entry = census(county.tb, D(2014, 5, 1), year=2026, name="王小明")
        r = run("census", JULY)
        a = alerts(Alert.Rule.CENSUS)[entry.id_number]
        assert (a.school_id, a.township_id, a.level, a.period, a.name, a.student_id) == (
            None, county.tb.pk, "township", "2026", "王小明", None)
        assert a.detail["birth_date"] == "2014-05-01"
        assert r.period == "2026"

    def test_year_is_the_as_of_year(self, county):
        old = census(county.ta, D(2014, 5, 1), year=2025)
        run("census", JULY)
        assert old.id_number not in alerts(Alert.Rule.CENSUS)

    @pytest.mark.parametrize(("status", "alerted"), [
        ("enrolled", False), ("suspended", False), ("home_teaching", False), ("deferred", False),
        ("out_of_county", False), ("vocational", False), ("deceased", False), ("abroad", False),
        ("dropped_out", True), ("suspected", True), ("transferred", True),
    ])
    def test_students_by_status(self, county, status, alerted):
        st = student(county.a_primary, birth=D(2013, 4, 4), status=status)
        census(county.ta, st.birth_date, year=2026, id_number=st.id_number)
        run("census", JULY)
        found = alerts(Alert.Rule.CENSUS)
        assert (st.id_number in found) is alerted
        if alerted:
            assert found[st.id_number].student_id == st.pk
            assert found[st.id_number].detail["student_status"] == status

    def test_status_is_read_on_the_as_of_date(self, county):
        st = student(county.a_primary, birth=D(2013, 4, 4), status="dropped_out")
        change(st, "dropout", D(2026, 8, 1), from_status="enrolled", to_status="dropped_out")
        census(county.ta, st.birth_date, year=2026, id_number=st.id_number)
        run("census", JULY)  # on 15 July the child was still 在读
        assert st.id_number not in alerts(Alert.Rule.CENSUS)

    def test_approved_deferral_in_force_accounts_for_the_child(self, county):
        birth = D(2020, 3, 1)
        entry = census(county.ta, birth, year=2026)
        other = census(county.ta, birth, year=2026)
        for e, review in ((entry, "approved"), (other, "pending")):
            Deferral.objects.create(
                school=county.a_primary, id_number=e.id_number, name="延缓", birth_date=birth,
                guardian_name="家长", reason="疾病", certificate="医院证明",
                start_date=D(2026, 6, 1), end_date=D(2027, 8, 31), review=review)
        run("census", JULY)
        found = alerts(Alert.Rule.CENSUS)
        assert entry.id_number not in found and other.id_number in found

    def test_entry_age_child_not_enrolled_is_a_grade1_gap(self, county):
        six = census(county.ta, D(2020, 8, 31), year=2026)
        seven = census(county.ta, D(2019, 8, 31), year=2026)
        run("census", JULY)
        # One child, one alert per sweep: the census alert carries the 两一 reason too.
        assert alerts(Alert.Rule.ENTRY) == {}
        found = alerts(Alert.Rule.CENSUS)
        assert six.id_number in found and seven.id_number in found
        also = found[six.id_number].detail["also"]
        assert [(r["rule"], r["kind"]) for r in also] == [("entry", "grade1")]
        assert "also" not in found[seven.id_number].detail
        assert found[six.id_number].township_id == county.ta.pk
        assert Alert.objects.filter(subject=six.id_number).count() == 1

    def test_one_alert_per_child_stays_one_however_often_it_runs(self, county):
        six = census(county.ta, D(2020, 8, 31), year=2026)
        first = run("census", JULY)
        again = run("census", JULY)
        assert Alert.objects.filter(subject=six.id_number).count() == 1
        assert (first.created, again.created, again.already_open) == (1, 0, 1)
        assert again.per_township[county.ta.code]["merged"] == 1
        alert = Alert.objects.get(subject=six.id_number)
        assert len(alert.detail["also"]) == 1  # the reason is not added twice

    def test_a_live_entry_alert_carries_a_later_census_reason(self, county):
        """Whichever rule's alert is on file (and worked) first carries the child."""
        six = census(county.ta, D(2020, 8, 31), year=2026)
        entry = Alert.objects.create(rule=Alert.Rule.ENTRY, period="2026", subject=six.id_number,
                                     name=six.name, township=county.ta, level="township",
                                     status=Alert.Status.CONFIRMED, detail={"kind": "grade1"})
        run("census", JULY)
        assert list(Alert.objects.filter(subject=six.id_number)) == [entry]
        entry.refresh_from_db()
        assert [r["rule"] for r in entry.detail["also"]] == ["census"]

    def test_a_reason_that_stops_applying_leaves_its_carrier(self, county):
        six = census(county.ta, D(2020, 8, 31), year=2026)
        run("census", JULY)
        alert = Alert.objects.get(subject=six.id_number)
        assert alert.detail["also"]
        # The entry rule no longer holds (say the census row now puts the child at age 7):
        type(six).objects.filter(pk=six.pk).update(birth_date=D(2019, 8, 31))
        run("census", JULY)
        alert.refresh_from_db()
        assert "also" not in alert.detail and alert.status == Alert.Status.OPEN

    def test_primary_graduate_not_in_grade7_is_a_gap_routed_to_the_hukou(self, county):
        """With no 对口初中 known, the gap goes to the township of the 户籍; it is a gap only
        once the autumn term has opened (in July and August the child is on holiday)."""
        grad = student(county.a_primary, birth=D(2014, 3, 1), grade=6, status="graduated",
                       hukou=county.tb)
        change(grad, "graduate", D(2026, 7, 1), from_status="enrolled", to_status="graduated")
        moved_on = student(county.a_center, birth=D(2014, 3, 2), grade=7)
        not_yet = student(county.a_primary, birth=D(2014, 3, 3), grade=6, status="graduated")
        change(not_yet, "graduate", D(2026, 9, 20), from_status="enrolled", to_status="graduated")
        run("census", JULY)
        assert grad.id_number not in alerts(Alert.Rule.ENTRY)
        run("census", SEPT)
        entry = alerts(Alert.Rule.ENTRY)
        assert grad.id_number in entry
        a = entry[grad.id_number]
        assert (a.school_id, a.township_id, a.level, a.student_id, a.detail["kind"]) == (
            None, county.tb.pk, "township", grad.pk, "grade7")
        assert moved_on.id_number not in entry
        assert not_yet.id_number not in entry  # graduated after the as-of date


# ----------------------------------------------------------------------------- grade 9


MAY = D(2026, 5, 20)


class TestGrade9:
    def test_grade9_leavers_since_march_go_to_the_county(self, county):
        left = student(county.a_center, grade=9, status="out_of_county")
        change(left, "transfer_out", D(2026, 3, 15), to_status="out_of_county")
        early = student(county.a_center, grade=9, status="out_of_county")
        change(early, "transfer_out", D(2026, 2, 27), to_status="out_of_county")
        grade8 = student(county.a_center, grade=8, status="suspended")
        change(grade8, "suspend", D(2026, 4, 1), to_status="suspended")
        run("grade9_screening", MAY)
        found = alerts(Alert.Rule.GRADE9)
        a = found[left.id_number]
        assert (a.level, a.school_id, a.period, a.detail["change"]) == (
            "county", county.a_center.pk, "2026", "transfer_out")
        assert early.id_number not in found and grade8.id_number not in found

    @pytest.mark.parametrize(("days", "explained", "start", "alerted"), [
        (3, False, D(2026, 4, 7), True),
        (2, False, D(2026, 4, 7), False),
        (3, True, D(2026, 4, 7), False),
        (3, False, D(2026, 2, 10), False),  # before 1 March
    ])
    def test_unexplained_absence_since_march(self, county, days, explained, start, alerted):
        st = student(county.a_center, grade=9)
        Absence.objects.create(student=st, start_date=start, end_date=start + dt.timedelta(days=days),
                               school_days=days, explained=explained)
        run("grade9_screening", MAY)
        assert (st.id_number in alerts(Alert.Rule.GRADE9)) is alerted

    def test_absences_add_up(self, county):
        st = student(county.a_center, grade=9)
        for start in (D(2026, 3, 9), D(2026, 4, 13)):
            Absence.objects.create(student=st, start_date=start, end_date=start, school_days=2)
        run("grade9_screening", MAY)
        assert alerts(Alert.Rule.GRADE9)[st.id_number].detail["absent_days"] == 4

    def test_school_whose_grade9_count_fell_more_than_2_percent(self, county):
        falling, steady = county.a_center, county.b_center
        kids = [student(falling, grade=9) for _ in range(10)]
        for _ in range(50):
            student(steady, grade=9)
        gone = kids[0]
        gone.school = county.b_center
        gone.save()
        change(gone, "transfer_out", D(2026, 3, 10), from_school=falling, to_school=steady)
        leaver = student(steady, grade=9, status="dropped_out")  # 1 of 50 = 2%: not more
        change(leaver, "dropout", D(2026, 4, 1), to_status="dropped_out")
        run("grade9_screening", MAY)
        found = alerts(Alert.Rule.GRADE9)
        a = found[f"school:{falling.code}"]
        assert (a.level, a.school_id, a.student_id) == ("county", falling.pk, None)
        assert (a.detail["autumn"], a.detail["now"]) == (10, 9)
        assert f"school:{steady.code}" not in found


# ----------------------------------------------------------------------------- feedback


class TestFeedback:
    def _batch(self, county, *ids):
        batch = FeedbackBatch.objects.create(title="省反馈名单", issuer="省教育厅",
                                             received_on=D(2026, 11, 2), due_date=D(2026, 11, 30))
        for row, id_number in enumerate(ids, start=2):
            FeedbackItem.objects.create(batch=batch, row=row, name=f"孩子{row}", id_number=id_number,
                                        problem="疑似辍学", due_date=D(2026, 11, 30))
        return batch

    def test_items_are_routed_school_then_hukou_then_county(self, county):
        unknown_child = census(county.tb, D(2013, 1, 1), year=2026)
        nobody = new_id(D(2013, 1, 2))
        batch = self._batch(county, county.s_a.id_number, unknown_child.id_number, nobody)
        r = run("feedback_verification", D(2026, 11, 3))
        items = {i.id_number: i for i in FeedbackItem.objects.all()}
        assert (items[county.s_a.id_number].school_id, items[county.s_a.id_number].township_id,
                items[county.s_a.id_number].student_id) == (county.a_primary.pk, county.ta.pk,
                                                            county.s_a.pk)
        assert (items[unknown_child.id_number].school_id,
                items[unknown_child.id_number].township_id) == (None, county.tb.pk)
        assert (items[nobody].school_id, items[nobody].township_id) == (None, None)
        found = alerts(Alert.Rule.FEEDBACK)
        assert {k: (a.level, a.period) for k, a in found.items()} == {
            county.s_a.id_number: ("school", f"fb{batch.pk}"),
            unknown_child.id_number: ("township", f"fb{batch.pk}"),
            nobody: ("county", f"fb{batch.pk}"),
        }
        assert found[nobody].due_date == D(2026, 11, 13)  # due in 10 days
        assert r.created == 3

    def test_an_answered_item_resolves_its_alert(self, county):
        self._batch(county, county.s_a.id_number)
        run("feedback_verification", D(2026, 11, 3))
        FeedbackItem.objects.update(result="in_school", explanation="在校就读", verified_on=D(2026, 11, 5))
        r = run("feedback_verification", D(2026, 11, 6))
        assert r.resolved == 1
        assert alerts(Alert.Rule.FEEDBACK)[county.s_a.id_number].status == "resolved"

    def test_reminders_in_november_and_december_once_a_day(self, county):
        self._batch(county, county.s_a.id_number)
        run("feedback_verification", D(2026, 11, 3))
        run("feedback_verification", D(2026, 11, 10))  # before the due date (13 Nov)
        assert Alert.objects.get().reminders == 0
        run("feedback_verification", D(2026, 11, 24))
        run("feedback_verification", D(2026, 11, 24))
        a = Alert.objects.get()
        assert (a.reminders, a.reminded_on) == (1, D(2026, 11, 24))
        run("feedback_verification", D(2026, 12, 1))
        assert Alert.objects.get().reminders == 2

    def test_no_reminders_outside_the_window(self, county):
        self._batch(county, county.s_a.id_number)
        run("feedback_verification", D(2027, 1, 20))
        assert Alert.objects.get().reminders == 0


# ----------------------------------------------------------------------------- home teaching


class TestHomeTeaching:
    def _child(self, county, visits):
        st = student(county.direct, status="home_teaching")
        change(st, "home_teaching", D(2025, 9, 1), to_status="home_teaching")
        plan = HomeTeachingPlan.objects.create(student=st, disability_category="肢体残疾",
                                               teachers="李老师", start_date=D(2025, 9, 1))
        for day in visits:
            HomeTeachingVisit.objects.create(plan=plan, visit_date=day, teachers="李老师",
                                             content="culture")
        return st

    def test_fewer_than_two_visits_in_the_past_month(self, county):
        one = self._child(county, [D(2026, 3, 5), D(2026, 4, 1), D(2026, 2, 27)])
        two = self._child(county, [D(2026, 3, 5), D(2026, 3, 31)])
        r = run("home_teaching", D(2026, 4, 3))
        found = alerts(Alert.Rule.HOME_TEACHING)
        assert one.id_number in found and two.id_number not in found
        assert found[one.id_number].detail == {"month": "2026-03", "visits": 1}
        assert found[one.id_number].school_id == county.direct.pk
        assert r.period == "2026-03"

    def test_child_without_a_plan_has_no_visits(self, county):
        st = student(county.a_primary, status="home_teaching")
        run("home_teaching", D(2026, 4, 3))
        assert alerts(Alert.Rule.HOME_TEACHING)[st.id_number].detail["visits"] == 0

    def test_child_taught_at_home_only_from_this_month(self, county):
        st = student(county.a_primary, status="home_teaching")
        change(st, "home_teaching", D(2026, 4, 1), to_status="home_teaching")
        run("home_teaching", D(2026, 4, 3))
        assert st.id_number not in alerts(Alert.Rule.HOME_TEACHING)

    def test_january_looks_at_december(self, county):
        st = student(county.a_primary, status="home_teaching")
        r = run("home_teaching", D(2027, 1, 3))
        assert r.period == "2026-12" and st.id_number in alerts(Alert.Rule.HOME_TEACHING)


# ----------------------------------------------------------------------------- aid


class TestAidCoverage:
    @pytest.mark.parametrize("flag", ["is_poor", "is_monitored", "is_dibao", "is_tekun"])
    def test_poor_family_student_without_aid_this_term(self, county, flag):
        st = student(county.a_primary, **{flag: True})
        run("aid_coverage", D(2026, 10, 20))
        a = alerts(Alert.Rule.AID)[st.id_number]
        assert (a.level, a.period, a.school_id) == ("county", "2026-autumn", county.a_primary.pk)

    def test_aid_this_term_covers_last_term_does_not(self, county):
        covered = student(county.a_primary, is_poor=True)
        stale = student(county.a_primary, is_poor=True)
        AidRecord.objects.create(student=covered, term="2026-autumn", kind="living", granted_on=D(2026, 10, 1))
        AidRecord.objects.create(student=stale, term="2026-spring", kind="living", granted_on=D(2026, 4, 1))
        run("aid_coverage", D(2026, 10, 20))
        found = alerts(Alert.Rule.AID)
        assert covered.id_number not in found and stale.id_number in found

    def test_not_poor_or_not_in_school(self, county):
        student(county.a_primary)
        student(county.a_primary, is_poor=True, status="out_of_county")
        run("aid_coverage", D(2026, 10, 20))
        assert alerts(Alert.Rule.AID) == {}


# ----------------------------------------------------------------------------- absence


class TestAbsence:
    def test_three_unexplained_school_days(self, county):
        st = student(county.a_primary)
        ab = Absence.objects.create(student=st, start_date=D(2026, 3, 9), end_date=D(2026, 3, 11),
                                    school_days=3)
        Absence.objects.create(student=county.s_b, start_date=D(2026, 3, 9), end_date=D(2026, 3, 10),
                               school_days=2)
        Absence.objects.create(student=county.s_a, start_date=D(2026, 3, 9), end_date=D(2026, 3, 11),
                               school_days=3, explained=True)
        r = run("absence", D(2026, 3, 12))
        found = alerts(Alert.Rule.ABSENCE)
        assert set(found) == {st.id_number}
        a = found[st.id_number]
        assert (a.period, a.school_id, a.detail["absence"], a.detail["school_days"]) == (
            "2026-03-09", county.a_primary.pk, ab.pk, 3)
        assert r.period == "2026-spring"

    def test_explaining_resolves_and_a_new_episode_is_a_new_alert(self, county):
        st = student(county.a_primary)
        ab = Absence.objects.create(student=st, start_date=D(2026, 3, 9), end_date=D(2026, 3, 11),
                                    school_days=3)
        run("absence", D(2026, 3, 12))
        ab.explained = True
        ab.save()
        Absence.objects.create(student=st, start_date=D(2026, 4, 7), end_date=D(2026, 4, 10),
                               school_days=4)
        r = run("absence", D(2026, 4, 10))
        assert (r.created, r.resolved) == (1, 1)
        statuses = dict(Alert.objects.filter(rule="absence").values_list("period", "status"))
        assert statuses == {"2026-03-09": "resolved", "2026-04-07": "open"}

    def test_previous_term_and_future_absences_are_ignored(self, county):
        st = student(county.a_primary)
        Absence.objects.create(student=st, start_date=D(2025, 12, 1), end_date=D(2025, 12, 3), school_days=3)
        Absence.objects.create(student=st, start_date=D(2026, 3, 20), end_date=D(2026, 3, 23), school_days=3)
        run("absence", D(2026, 3, 12))
        assert alerts(Alert.Rule.ABSENCE) == {}


# ----------------------------------------------------------------------------- expiries


class TestExpiries:
    def _deferral(self, county, end, review="approved", id_number=None):
        birth = D(2020, 3, 1)
        return Deferral.objects.create(
            school=county.a_primary, id_number=id_number or new_id(birth), name="延缓儿童",
            birth_date=birth, guardian_name="家长", reason="疾病", certificate="医院证明",
            start_date=D(2025, 9, 1), end_date=end, review=review)

    def test_deferrals_ending_within_ten_days_or_ended(self, county):
        as_of = D(2026, 8, 20)
        ending = self._deferral(county, D(2026, 8, 30))
        too_far = self._deferral(county, D(2026, 8, 31))
        ended = self._deferral(county, D(2026, 6, 30))
        pending = self._deferral(county, D(2026, 8, 25), review="pending")
        run("expiries", as_of)
        found = alerts(Alert.Rule.EXPIRY)
        assert set(found) == {ending.id_number, ended.id_number}
        assert found[ending.id_number].detail["state"] == "ending"
        assert found[ended.id_number].detail["state"] == "ended"
        assert found[ended.id_number].period == "2026-06-30"
        assert found[ended.id_number].school_id == county.a_primary.pk
        assert too_far.id_number not in found and pending.id_number not in found

    def test_enrolled_child_or_extended_deferral_is_not_alerted(self, county):
        st = student(county.a_primary, birth=D(2020, 3, 1), grade=1)
        self._deferral(county, D(2026, 6, 30), id_number=st.id_number)
        extended = self._deferral(county, D(2026, 6, 30))
        self._deferral(county, D(2027, 6, 30), id_number=extended.id_number)
        run("expiries", D(2026, 8, 20))
        assert alerts(Alert.Rule.EXPIRY) == {}

    def test_suspension_ending_or_ended_without_resumption(self, county):
        as_of = D(2026, 3, 2)
        ending = student(county.a_primary, status="suspended")
        change(ending, "suspend", D(2025, 9, 1), to_status="suspended", end=D(2026, 3, 12))
        later = student(county.a_primary, status="suspended")
        change(later, "suspend", D(2025, 9, 1), to_status="suspended", end=D(2026, 3, 13))
        ended = student(county.a_primary, status="suspended")
        change(ended, "suspend", D(2025, 9, 1), to_status="suspended", end=D(2026, 2, 1))
        resumed = student(county.a_primary)
        change(resumed, "suspend", D(2025, 9, 1), to_status="suspended", end=D(2026, 2, 1))
        change(resumed, "resume", D(2026, 2, 2), from_status="suspended", to_status="enrolled")
        open_ended = student(county.a_primary, status="suspended")
        change(open_ended, "suspend", D(2025, 9, 1), to_status="suspended")
        run("expiries", as_of)
        found = alerts(Alert.Rule.EXPIRY)
        assert set(found) == {ending.id_number, ended.id_number}
        assert found[ending.id_number].detail["kind"] == "suspension"
        assert found[ended.id_number].detail["state"] == "ended"

    def test_resumption_resolves(self, county):
        st = student(county.a_primary, status="suspended")
        change(st, "suspend", D(2025, 9, 1), to_status="suspended", end=D(2026, 3, 5))
        run("expiries", D(2026, 3, 2))
        change(st, "resume", D(2026, 3, 5), from_status="suspended", to_status="enrolled")
        r = run("expiries", D(2026, 3, 6))
        assert r.resolved == 1 and Alert.objects.get(rule="expiries").status == "resolved"


# ----------------------------------------------------------------------------- overdue


class TestOverdue:
    def test_overdue_cases_from_the_workflow_are_raised_a_level(self, county, monkeypatch):
        from retrieval.cases import selectors as case_selectors

        rows = [
            {"kind": "no_attempt", "case_id": 7, "id_number": county.s_a.id_number, "name": "甲",
             "student_id": county.s_a.pk, "school_id": county.a_primary.pk,
             "township_id": county.ta.pk, "since": D(2026, 3, 1), "level": "township"},
            {"kind": "escalation_unanswered", "case_id": 8, "id_number": county.s_direct.id_number,
             "name": "直", "student_id": county.s_direct.pk, "school_id": county.direct.pk,
             "township_id": county.ta.pk, "since": D(2026, 3, 5), "level": "county"},
        ]
        monkeypatch.setattr(case_selectors, "overdue_cases", lambda as_of: rows)
        r = run("overdue", D(2026, 3, 12))
        found = {a.period: a for a in Alert.objects.filter(rule="overdue")}
        assert set(found) == {"case7-na", "case8-esc"}
        assert (found["case7-na"].level, found["case7-na"].school_id) == ("township", county.a_primary.pk)
        assert found["case8-esc"].level == "county"
        assert found["case7-na"].detail == {"kind": "no_attempt", "case": 7, "since": "2026-03-01"}
        assert r.per_township["direct"]["created"] == 1
        monkeypatch.setattr(case_selectors, "overdue_cases", lambda as_of: rows[1:])
        r = run("overdue", D(2026, 3, 13))
        assert r.resolved == 1
        assert Alert.objects.get(period="case7-na").status == "resolved"

    def test_real_workflow_interface_runs(self, county):
        r = run("overdue", D(2026, 3, 12))
        assert r.created == 0
