from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from kongchuo.access.idnumbers import birth_date_of, sex_of, validate_id
from kongchuo.calendar.schoolyear import school_year_of, today
from students.models import CensusEntry, School, Student, Township, User

pytestmark = pytest.mark.django_db


def _seed(n=800, seed=7):
    out = io.StringIO()
    call_command("seed_demo", students=n, seed=seed, stdout=out)
    return out.getvalue()


def test_seed_demo_builds_a_county_and_demo_users():
    output = _seed()
    assert Township.objects.count() == 31
    assert Township.objects.filter(kind="zone").count() == 1
    assert School.objects.filter(is_center=True).count() == 31
    assert School.objects.filter(oversight="county", kind="complete").exists()
    assert School.objects.filter(kind="special").exists()
    # seeded as last school year, rolled over (graduates leave), this year's newcomers enrolled
    assert 700 <= Student.objects.exclude(status="graduated").count() <= 900
    assert CensusEntry.objects.count() >= 800
    for username in ("demo_county", "demo_township", "demo_school", "demo_gov"):
        assert username in output
        assert User.objects.get(username=username).check_password("kongchuo-demo")
    township_user = User.objects.get(username="demo_township")
    school_user = User.objects.get(username="demo_school")
    assert township_user.township == Township.objects.order_by("code").first()
    assert school_user.school.township == township_user.township
    assert User.objects.get(username="demo_gov").township == township_user.township


def test_seed_demo_has_a_completed_rollover():
    from dashboards.models import YearFigures
    from kongchuo.calendar.models import SchoolYear

    output = _seed()
    last = school_year_of(today()) - 1
    record = SchoolYear.objects.get(year=last)
    assert record.closed_at is not None and record.close_result["promoted"] > 500
    assert "上学年结转" in output
    county = YearFigures.objects.get(year=last, unit="county").figures
    assert county["alerts_raised"] > 0 and county["left_graduated_junior"] > 0
    assert county["enrol_rate"] is not None and county["retention_rate"] is not None
    assert Student.objects.filter(grade=1, status="enrolled").exists()  # this year's newcomers
    assert Student.objects.filter(grade=7, status_changes__kind="transfer_out",
                                  status_changes__reason="小学毕业升入对口初中").exists()
    assert School.objects.filter(kind="primary", junior_school__isnull=False).exists()


def test_seed_demo_shows_the_school_years_work(client):
    """The school-year pages are not empty in the demo: a 转学 the demo school must answer and
    one it waits on, this term's 名册缺失 at the demo school, support-list children found in no
    school in the demo township (and the alerts the demo sweeps raised on them)."""
    from retrieval.models import Alert
    from students.models import RosterGap, SupportMark, TransferRequest
    from students.selectors import roster_unexplained
    from students.transfers import answering_school

    _seed()
    school_user = User.objects.get(username="demo_school")
    township_user = User.objects.get(username="demo_township")
    pending = TransferRequest.objects.filter(state="pending")
    assert any(answering_school(t) == school_user.school for t in pending)
    assert any(answering_school(t) != school_user.school and school_user.school in (t.from_school, t.to_school)
               for t in pending)
    assert all(t.student.status == "transferring" for t in pending)
    gaps = roster_unexplained(RosterGap.objects.visible_to(school_user), today())
    assert gaps.count() >= 2
    client.force_login(school_user)
    page = client.get(reverse("students:roster_gaps")).content.decode()
    assert gaps.first().student.name in page
    marks = SupportMark.objects.filter(township=township_user.township, student__isnull=True)
    assert marks.count() >= 3
    assert Alert.objects.filter(rule=Alert.Rule.SUPPORT_UNENROLLED, subject__in=marks.values("id_number")).exists()
    client.force_login(township_user)
    page = client.get(reverse("retrieval:support_unenrolled")).content.decode()
    assert marks.first().name in page


def test_seeded_students_are_consistent():
    _seed()
    year = school_year_of(today())
    at_school = Student.objects.filter(status="enrolled").exclude(status_changes__kind="repeat")
    for s in at_school[:300]:
        assert validate_id(s.id_number) == s.id_number
        assert birth_date_of(s.id_number) == s.birth_date
        assert sex_of(s.id_number) == s.sex
        age = year - s.birth_date.year - (1 if (s.birth_date.month, s.birth_date.day) > (8, 31) else 0)
        assert 5 + s.grade <= age <= 6 + s.grade
    non_enrolled = Student.objects.exclude(status="enrolled")
    assert all(s.status_changes.exists() for s in non_enrolled)


def _wipe_demo():
    """Every row seed_demo wrote. The apps' seeders add ledgers, alerts, cohorts… that protect
    the students they name, so rows go without the ORM's cascade checks (foreign keys are
    deferred and the test's transaction is rolled back). The audit log stays: append-only."""
    from django.apps import apps
    from django.db import connection

    for model in apps.get_models():
        if (model._meta.app_label in ("students", "ledgers", "retrieval", "dashboards")
                and not model._meta.proxy):
            model.objects.all()._raw_delete(connection.alias)
    from kongchuo.calendar.models import SchoolYear

    SchoolYear.objects.all()._raw_delete(connection.alias)


def test_seed_is_deterministic():
    _seed(300, seed=11)
    first = list(Student.objects.order_by("id_number").values_list("id_number", "name", "grade"))
    _wipe_demo()
    _seed(300, seed=11)
    assert list(Student.objects.order_by("id_number").values_list("id_number", "name", "grade")) == first


def test_seed_refuses_a_non_empty_database_unless_if_empty():
    _seed(50)
    with pytest.raises(CommandError):
        _seed(50)
    out = io.StringIO()
    call_command("seed_demo", students=50, if_empty=True, stdout=out)
    assert "跳过演示数据" in out.getvalue()


def test_add_user_roles(county, monkeypatch):
    call_command("add_user", "clerk1", role="school", school=county.a_primary.code, stdout=io.StringIO())
    assert User.objects.get(username="clerk1").school == county.a_primary
    monkeypatch.setattr("sys.stdin", io.StringIO("a-Long-passphrase-42\n"))
    call_command("add_user", "gov1", "--role", "township_gov", "--township", county.ta.code,
                 "--password-stdin", stdout=io.StringIO())
    assert User.objects.get(username="gov1").check_password("a-Long-passphrase-42")


@pytest.mark.parametrize("args", [
    ["x1", "--role", "school"],
    ["x2", "--role", "township"],
    ["x3", "--role", "county", "--school", "3415200001"],
    ["x4", "--role", "school", "--school", "0000000000"],
    ["x5", "--role", "township", "--township", "999999999"],
])
def test_add_user_refuses_bad_scopes(county, args):
    with pytest.raises(CommandError):
        call_command("add_user", *args, stdout=io.StringIO())


def test_add_user_refuses_weak_password(county, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("123\n"))
    with pytest.raises(CommandError):
        call_command("add_user", "weak", "--role", "county", "--password-stdin", stdout=io.StringIO())
