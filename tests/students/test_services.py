from __future__ import annotations

import datetime as dt

import pytest
from django.db import DataError, IntegrityError

from students.models import StatusChange, Student
from students.services import student_change_status
from tests.factories import StudentFactory

pytestmark = pytest.mark.django_db


def test_suspension_is_a_dated_history_row(county):
    s = county.s_a
    change = student_change_status(student=s, kind="suspend", effective_date=dt.date(2026, 3, 1),
                                   end_date=dt.date(2026, 7, 1), user=county.school_a, reason="因病")
    s.refresh_from_db()
    assert s.status == Student.Status.SUSPENDED
    assert change.from_status == "enrolled" and change.to_status == "suspended"
    assert change.created_by == county.school_a
    assert s.version == 2


def test_transfer_within_county_moves_the_child(county):
    s = county.s_a
    student_change_status(student=s, kind="transfer_out", effective_date=dt.date(2026, 3, 1),
                          to_school=county.b_primary, user=county.school_a)
    s.refresh_from_db()
    assert s.school == county.b_primary and s.status == Student.Status.ENROLLED


def test_transfer_out_of_county_is_out_of_county_study(county):
    s = county.s_a
    student_change_status(student=s, kind="transfer_out", effective_date=dt.date(2026, 3, 1),
                          to_county="合肥市蜀山区", to_school_name="蜀山小学", user=county.school_a)
    s.refresh_from_db()
    assert s.status == Student.Status.OUT_OF_COUNTY and s.school == county.a_primary


def test_leave_keeps_the_child_enrolled(county):
    student_change_status(student=county.s_a, kind="leave", effective_date=dt.date(2026, 3, 1),
                          end_date=dt.date(2026, 3, 5), user=None)
    county.s_a.refresh_from_db()
    assert county.s_a.status == Student.Status.ENROLLED
    assert StatusChange.objects.filter(student=county.s_a, kind="leave").count() == 1


def test_database_refuses_duplicate_ids_and_bad_grades(county):
    with pytest.raises(IntegrityError):
        StudentFactory(id_number=county.s_a.id_number, school=county.a_primary)


def test_student_indexes_carry_what_the_dashboards_read():
    """One unique index on id_number, no (id_number, status) twin; on PostgreSQL the census
    merge reads the status from it and the per-school figures read theirs from the (school,
    id) index (index-only scans), so the county's first roster builds one index less and
    sorts the other on two integers (migrations 0006, 0007)."""
    from django.db import connection

    with connection.cursor() as cur:
        found = connection.introspection.get_constraints(cur, "students_student")
        on_id = [c for c in found.values() if c["columns"][:1] == ["id_number"] and not c["check"]]
        assert len(on_id) == 1 and on_id[0]["unique"]
        if connection.vendor == "postgresql":
            cur.execute("SELECT pg_get_indexdef(indexrelid) FROM pg_index"
                        " WHERE indrelid = 'students_student'::regclass")
            defs = {d.split(" USING btree ", 1)[1] for (d,) in cur.fetchall()}
            assert "(id_number) INCLUDE (status)" in defs
            # Issue 16: every support group's flag the dashboards' aid figures read is carried too.
            assert ("(school_id, id) INCLUDE (status, grade, is_poor, is_monitored, is_dibao, is_tekun,"
                    " is_hardship, is_orphan, is_unsupported)") in defs


def test_database_refuses_grade_out_of_range(county):
    with pytest.raises(IntegrityError):
        StudentFactory(school=county.a_primary, grade=10)


@pytest.mark.parametrize("id_number", [
    "11010519491231002",  # 17 characters
    "1101051949123100211",  # 19 characters
    "11010519491231002x",  # lower-case x
    "1101051949123X0021",  # X before the end
    "11010519491231002 ",  # a space for the check digit
    "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits: 18 characters, none ASCII
    "١١٠١٠٥١٩٤٩١٢٣١٠٠٢١",  # Arabic-Indic digits: Python's str.isdigit says yes
    "",
])
def test_database_refuses_an_id_number_of_the_wrong_shape(county, id_number):
    """The check constraint says ^[0-9]{17}[0-9X]$ without a regular expression (migration
    0008): on PostgreSQL and on SQLite, whatever path writes the row. (PostgreSQL's varchar(18)
    refuses 19 characters before the check: DataError.)"""
    with pytest.raises((IntegrityError, DataError)):
        Student.objects.filter(pk=county.s_a.pk).update(id_number=id_number)


@pytest.mark.parametrize("id_number", ["11010519491231002X", "110105194912310021", "000000000000000000"])
def test_database_takes_an_id_number_of_the_right_shape(county, id_number):
    assert Student.objects.filter(pk=county.s_a.pk).update(id_number=id_number) == 1
    county.s_a.refresh_from_db()
    assert county.s_a.id_number == id_number


def test_end_before_start_is_refused(county):
    with pytest.raises(IntegrityError):
        StatusChange.objects.create(student=county.s_a, kind="leave",
                                    effective_date=dt.date(2026, 3, 5), end_date=dt.date(2026, 3, 1))
