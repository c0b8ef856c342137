"""Issue 15 findings 1 and 2, plainly: a roster row naming another scope's child asks for the
child (转入申请) instead of moving and renaming it; the preview cannot tell it from an unknown
ID; primary graduates are taken in by a grade-7 roster (the September intake) and nobody else
is; a township's census row never moves another township's census entry."""

from __future__ import annotations

import pytest

from kongchuo.imports.pipeline import import_run
from students.models import CensusEntry, StatusChange, Student, TransferRequest
from students.transfers import transfer_confirm
from tests.factories import CensusEntryFactory, UserFactory
from tests.imports.conftest import new_id, roster_row

pytestmark = pytest.mark.django_db


def _counts(r):
    return (r.created, r.updated, r.unchanged, r.skipped, r.rejected, r.extra["moved"])


def test_school_roster_naming_another_townships_child_asks_and_moves_nothing(county, files):
    """Finding 1: school A's one-row roster with its own code and school B's child's ID."""
    s = county.s_b
    named = files.roster("named.xlsx", [roster_row(1, county.a_primary, id_number=s.id_number,
                                                   name="冒名", grade="四年级")])
    unknown = files.roster("unknown.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1),
                                                       name="冒名", grade="四年级")])
    preview = import_run(kind="roster", path=named, user=county.school_a, dry_run=True)
    blind = import_run(kind="roster", path=unknown, user=county.school_a, dry_run=True)
    assert _counts(preview) == _counts(blind) == (1, 0, 0, 0, 0, 0)  # 新增 1, no 更新/转入
    assert preview.warnings == blind.warnings == []

    done = import_run(kind="roster", path=named, user=county.school_a)
    assert done.written and (done.created, done.skipped, done.extra["transfers"]) == (0, 1, 1)
    s.refresh_from_db()
    assert (s.school_id, s.name, s.status) == (county.b_primary.pk, "吴乙西", "transferring")
    t = TransferRequest.objects.get(student=s)
    assert (t.direction, t.from_school, t.to_school, t.state, t.requested_by) == (
        "in", county.b_primary, county.a_primary, "pending", county.school_a)
    assert not StatusChange.objects.filter(student=s, kind="transfer_out").exists()

    # The sending school confirms: only then the child moves, under the name on record.
    transfer_confirm(user=county.school_b, transfer=t, expected_version=t.version)
    s.refresh_from_db()
    assert (s.school_id, s.name, s.status) == (county.a_primary.pk, "吴乙西", "enrolled")


def test_a_child_already_asked_for_is_only_skipped(county, files):
    s = county.s_b
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=s.id_number, grade="四年级")])
    import_run(kind="roster", path=path, user=county.school_a)
    again = files.roster("again.xlsx", [roster_row(1, county.a_primary, id_number=s.id_number,
                                                   grade="四年级", 班级="2班")])
    r = import_run(kind="roster", path=again, user=county.township_a)
    assert r.written and (r.created, r.skipped, r.extra["transfers"]) == (0, 1, 0)
    assert [w.code for w in r.warnings] == ["transfer_not_requested"]
    assert TransferRequest.objects.filter(student=s).count() == 1


def test_the_county_still_moves_children_between_any_schools(county, files):
    s = county.s_b
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=s.id_number, name=s.name,
                                              grade="四年级")])
    r = import_run(kind="roster", path=path, user=county.county_user)
    assert (r.updated, r.extra["moved"], r.extra["transfers"]) == (1, 1, 0)
    s.refresh_from_db()
    assert s.school == county.a_primary and not TransferRequest.objects.exists()


def test_a_township_moves_children_between_its_own_schools(county, files):
    s = county.s_a2  # at 甲镇中心学校
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=s.id_number, name=s.name,
                                              grade="四年级")])
    r = import_run(kind="roster", path=path, user=county.township_a)
    assert (r.updated, r.extra["moved"]) == (1, 1)
    s.refresh_from_db()
    assert s.school == county.a_primary


# --------------------------------------------------------------------------- graduates' intake


@pytest.fixture
def graduates(county):
    """After the rollover: B's primary grade-6 leaver is 毕业 at 乙镇西湖小学; a junior school's
    clerk of township A (甲镇中心学校 teaches grades 1–9)."""
    Student.objects.filter(pk=county.s_b.pk).update(status="graduated", grade=6)
    county.junior_clerk = UserFactory(username="u_school_a_center", role="school", school=county.a_center)
    return county


def _grade7(county, student, **over):
    over.setdefault("name", student.name)
    return roster_row(1, county.a_center, id_number=student.id_number, grade="七年级", **over)


def test_a_primary_graduate_is_taken_in_by_any_grade7_roster(graduates, files):
    c = graduates
    r = import_run(kind="roster", path=files.roster("r.xlsx", [_grade7(c, c.s_b)]), user=c.junior_clerk)
    assert r.written and (r.updated, r.extra["moved"], r.extra["transfers"]) == (1, 1, 0)
    c.s_b.refresh_from_db()
    assert (c.s_b.school_id, c.s_b.grade, c.s_b.status) == (c.a_center.pk, 7, "enrolled")
    move = StatusChange.objects.get(student=c.s_b, kind="transfer_out")
    assert (move.from_school_id, move.to_school_id, move.source) == (c.b_primary.pk, c.a_center.pk, "import")


@pytest.mark.parametrize("case", ["enrolled", "other_name", "grade_6_row", "junior_graduate",
                                  "primary_school_importer"])
def test_intake_cannot_take_anyone_else(graduates, files, case):
    """Not an intake: an enrolled child, a graduate under another name, a row that is not
    grade 7, a grade-9 graduate, or a school that does not teach grade 7. Each is asked for."""
    c = graduates
    user, student, row = c.junior_clerk, c.s_b, None
    if case == "enrolled":
        Student.objects.filter(pk=c.s_b.pk).update(status="enrolled")
    elif case == "other_name":
        row = _grade7(c, c.s_b, name="冒名")
    elif case == "grade_6_row":
        row = _grade7(c, c.s_b, 年级="六年级")
    elif case == "junior_graduate":
        Student.objects.filter(pk=c.s_b.pk).update(grade=9)
    else:  # 甲镇东岗小学 (primary) names the graduate in grade 7
        user = c.school_a
        row = roster_row(1, c.a_primary, id_number=c.s_b.id_number, name=c.s_b.name, grade="七年级")
    before = Student.objects.filter(pk=student.pk).values().get()
    row = row or _grade7(c, student)
    preview = import_run(kind="roster", path=files.roster("p.xlsx", [row]), user=user, dry_run=True)
    assert (preview.created, preview.updated, preview.extra["moved"]) == (1, 0, 0)
    r = import_run(kind="roster", path=files.roster("r.xlsx", [row]), user=user)
    assert r.extra["transfers"] == 1
    after = Student.objects.filter(pk=student.pk).values().get()
    assert {k for k in before if before[k] != after[k]} == {"status", "version", "updated_at"}
    assert after["status"] == "transferring" and after["school_id"] == c.b_primary.pk


# --------------------------------------------------------------------------- census


def test_township_census_row_never_moves_another_townships_entry(county, files):
    """Finding 2: 甲镇's census list naming a child on 乙镇's list of the year."""
    entry = CensusEntryFactory(year=2026, township=county.tb, name="户籍乙")
    header = ["姓名", "身份证件号", "户籍乡镇", "户籍地址"]
    named = files.xlsx("named.xlsx", [["冒名", entry.id_number, "甲镇", "甲镇某村"]], header=header)
    unknown = files.xlsx("unknown.xlsx", [["冒名", new_id(5, 2014), "甲镇", "甲镇某村"]], header=header)
    preview = import_run(kind="census", path=named, user=county.township_a, dry_run=True, options={"year": 2026})
    blind = import_run(kind="census", path=unknown, user=county.township_a, dry_run=True, options={"year": 2026})
    key = ("created", "updated", "unchanged", "skipped", "rejected", "unmatched", "elsewhere")
    assert [preview.as_json()[k] for k in key] == [blind.as_json()[k] for k in key] == [1, 0, 0, 0, 0, 1, 0]
    assert preview.warnings == blind.warnings == []

    r = import_run(kind="census", path=named, user=county.township_a, options={"year": 2026})
    assert r.written and (r.created, r.skipped, r.extra["elsewhere"]) == (0, 1, 1)
    entry.refresh_from_db()
    assert (entry.township_id, entry.name, entry.address) == (county.tb.pk, "户籍乙", "")
    assert CensusEntry.objects.filter(township=county.ta).count() == 0
    # The county's census import still decides where a child is registered.
    r = import_run(kind="census", path=named, user=county.county_user, options={"year": 2026})
    entry.refresh_from_db()
    assert (r.updated, entry.township_id) == (1, county.ta.pk)


def test_job_page_names_the_requests_once_written(county, files, client_as):
    """The preview page shows the kind's own figures by their labels (RosterImport.counts) but no
    转学申请 figure (counts_after_write: it would always be 0); the written job's shows it."""
    from django.urls import reverse

    from kongchuo.imports.runner import import_job_create, import_job_run

    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=county.s_b.id_number,
                                              grade="四年级")])
    job = import_job_create(kind="roster", user=county.school_a, source=path, filename="r.xlsx")
    import_job_run(job, write=False)
    client = client_as(county.school_a)
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "转学申请（待对方学校确认）" not in page and county.s_b.name not in page
    assert "转入（从本县其他学校）" in page and "名册中缺少" in page
    import_job_run(job, write=True)
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "转学申请（待对方学校确认）" in page and county.s_b.name not in page
