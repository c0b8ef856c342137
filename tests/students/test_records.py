"""学籍维护 in the browser's forms (issue 16 §3): 新增学生 checked by the roster import's own rules
and codes, an existing ID of another school turned into a transfer request, the edit with its
stale-edit refusal and history, the ID correction by the township or county only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kongchuo.access.audit import AuditEvent
from kongchuo.access.idnumbers import make_id
from students.models import StatusChange, Student, SupportMark, TransferRequest

pytestmark = pytest.mark.django_db

BORN = dt.date(2018, 3, 7)


def _new(county, **extra):
    data = {"arrival": "enroll", "school": county.a_primary.pk, "name": "王小明",
            "id_number": make_id("341522", BORN, 17), "grade": "1", "class_name": "2班",
            "hukou_address": "霍邱县甲镇新店村", "guardian_name": "王父", "guardian_phone": "13900001111"}
    data.update(extra)
    return data


def test_a_school_clerk_adds_a_new_entrant(county, client_as):
    c = client_as(county.school_a)
    assert c.get(reverse("students:new")).status_code == 200
    r = c.post(reverse("students:new"), _new(county))
    student = Student.objects.get(name="王小明")
    assert r.status_code == 302 and r.url == reverse("students:detail", args=[student.pk])
    assert (student.school, student.grade, student.class_name, student.status) == (
        county.a_primary, 1, "2班", "enrolled")
    # Sex and birth date come from the ID (the import's rule), the 户籍 township from the address.
    assert (student.birth_date, student.sex, student.hukou_township) == (BORN, "M", county.ta)
    assert student.name_initials == "wxm"
    change = StatusChange.objects.get(student=student)
    assert (change.kind, change.from_status, change.to_status, change.created_by) == (
        "enroll", "", "enrolled", county.school_a)
    assert student.history.count() == 1
    assert AuditEvent.objects.filter(action="student_create", object_id=str(student.pk)).exists()


@pytest.mark.parametrize(("extra", "field", "code"), [
    ({"id_number": make_id("341522", BORN, 17)[:17] + "0"}, "id_number", "id_checksum"),
    ({"birth_date": "2018-03-08"}, "birth_date", "birth_mismatch"),
    ({"sex": "女"}, "sex", "gender_mismatch"),
    ({"id_number": "34152220180307"}, "id_number", "id_format"),
])
def test_new_student_errors_are_the_imports(county, client_as, extra, field, code):
    r = client_as(county.school_a).post(reverse("students:new"), _new(county, **extra))
    assert r.status_code == 400
    errors = r.context["form"].errors[field]
    assert any(f"（{code}）" in e for e in errors), errors
    assert not Student.objects.filter(name="王小明").exists()


def test_a_school_cannot_add_a_child_to_another_school(county, client_as):
    r = client_as(county.school_a).post(reverse("students:new"), _new(county, school=county.b_primary.pk))
    assert r.status_code == 400 and not Student.objects.filter(name="王小明").exists()


def test_a_township_adds_to_its_schools_only(county, client_as):
    c = client_as(county.township_a)
    r = c.post(reverse("students:new"), _new(county, school=county.b_primary.pk))
    assert r.status_code == 400
    r = c.post(reverse("students:new"), _new(county, school=county.a_center.pk))
    assert r.status_code == 302 and Student.objects.get(name="王小明").school == county.a_center


def test_an_arrival_from_another_county_needs_where_from(county, client_as):
    c = client_as(county.school_a)
    r = c.post(reverse("students:new"), _new(county, arrival="transfer_in"))
    assert r.status_code == 400 and "from_place" in r.context["form"].errors
    r = c.post(reverse("students:new"), _new(county, arrival="transfer_in", from_place="寿县 城南小学"))
    change = StatusChange.objects.get(student__name="王小明")
    assert (change.kind, change.reason) == ("transfer_in", "县外转入：寿县 城南小学")


def test_an_id_of_another_school_becomes_a_transfer_request(county, client_as):
    child = county.s_b  # at 乙镇西湖小学
    r = client_as(county.school_a).post(reverse("students:new"), _new(
        county, name=child.name, id_number=child.id_number, grade="5"))
    t = TransferRequest.objects.get()
    assert r.status_code == 302 and r.url == reverse("students:transfer", args=[t.pk])
    assert (t.direction, t.from_school, t.to_school, t.grade, t.state) == (
        "in", county.b_primary, county.a_primary, 5, "pending")
    child.refresh_from_db()
    assert (child.school, child.status) == (county.b_primary, "transferring")
    assert Student.objects.filter(id_number=child.id_number).count() == 1


def test_an_id_of_another_school_with_another_name_is_refused(county, client_as):
    r = client_as(county.school_a).post(reverse("students:new"), _new(
        county, name="冒名", id_number=county.s_b.id_number))
    assert r.status_code == 400 and "姓名与学籍记录不一致" in str(r.context["form"].errors["id_number"])
    assert not TransferRequest.objects.exists()


def test_an_id_already_in_the_school(county, client_as):
    r = client_as(county.school_a).post(reverse("students:new"), _new(
        county, name=county.s_a.name, id_number=county.s_a.id_number))
    assert r.status_code == 400 and "已在本校" in str(r.context["form"].errors["id_number"])


def test_a_new_child_on_a_support_list_gets_its_flags(county, client_as):
    id_number = make_id("341522", BORN, 17)
    SupportMark.objects.create(kind="orphan", id_number=id_number, listed_on=dt.date(2026, 1, 1))
    client_as(county.school_a).post(reverse("students:new"), _new(county))
    student = Student.objects.get(name="王小明")
    assert student.is_orphan and SupportMark.objects.get().student == student


# --------------------------------------------------------------------------- edit


def _edit(student, **extra):
    data = {"name": student.name, "grade": str(student.grade), "class_name": student.class_name,
            "guardian_name": "新监护人", "guardian_phone": "13700002222", "address": "新地址",
            "version": student.version}
    data.update(extra)
    return data


def test_the_school_edits_contact_fields_with_history(county, client_as):
    s = county.s_a
    r = client_as(county.school_a).post(reverse("students:edit", args=[s.pk]), _edit(s, name="周甲冬"))
    assert r.status_code == 302
    s.refresh_from_db()
    assert (s.name, s.guardian_name, s.guardian_phone, s.version, s.name_initials) == (
        "周甲冬", "新监护人", "13700002222", 2, "zjd")
    assert s.history.first().history_user == county.school_a
    audit = AuditEvent.objects.get(action="student_update")
    assert "name" in audit.detail["fields"] and "13700002222" not in str(audit.detail)


def test_a_stale_edit_is_refused(county, client_as):
    s = county.s_a
    c = client_as(county.school_a)
    first = _edit(s, guardian_name="甲")
    second = _edit(s, guardian_name="乙")
    assert c.post(reverse("students:edit", args=[s.pk]), first).status_code == 302
    r = c.post(reverse("students:edit", args=[s.pk]), second)
    assert r.status_code == 409
    s.refresh_from_db()
    assert s.guardian_name == "甲"


def test_edit_checks_the_grade_like_the_import(county, client_as):
    s = county.s_a
    r = client_as(county.school_a).post(reverse("students:edit", args=[s.pk]), _edit(s, grade="10"))
    assert r.status_code == 400


@pytest.mark.parametrize(("who", "status"), [("school_b", 404), ("township_b", 404), ("gov_a", 403)])
def test_edit_out_of_scope(county, client_as, who, status):
    r = client_as(getattr(county, who)).get(reverse("students:edit", args=[county.s_a.pk]))
    assert r.status_code == status


# --------------------------------------------------------------------------- ID correction


def test_the_school_cannot_correct_an_id(county, client_as):
    r = client_as(county.school_a).get(reverse("students:correct_id", args=[county.s_a.pk]))
    assert r.status_code == 403


def test_the_township_corrects_an_id_with_a_reason(county, client_as):
    s = county.s_a
    new = make_id("341522", dt.date(2014, 8, 9), 22)
    c = client_as(county.township_a)
    r = c.post(reverse("students:correct_id", args=[s.pk]), {"id_number": new, "reason": "", "version": s.version})
    assert r.status_code == 400
    r = c.post(reverse("students:correct_id", args=[s.pk]),
               {"id_number": new, "reason": "户口簿核对", "version": s.version})
    assert r.status_code == 302
    s.refresh_from_db()
    assert (s.id_number, s.birth_date, s.sex) == (new, dt.date(2014, 8, 9), "F")
    audit = AuditEvent.objects.get(action="student_id_correct")
    assert audit.detail["reason"] == "户口簿核对" and new not in str(audit.detail)
    assert s.history.first().history_change_reason == "身份证件号更正：户口簿核对"


def test_an_id_correction_to_another_childs_id_is_refused(county, client_as):
    s = county.s_a
    r = client_as(county.county_user).post(reverse("students:correct_id", args=[s.pk]), {
        "id_number": county.s_b.id_number, "reason": "核对", "version": s.version})
    assert r.status_code == 400 and "另一名学生" in str(r.context["form"].errors)


def test_a_bad_id_correction_names_the_imports_code(county, client_as):
    s = county.s_a
    r = client_as(county.county_user).post(reverse("students:correct_id", args=[s.pk]), {
        "id_number": s.id_number[:17] + ("0" if s.id_number[17] != "0" else "1"), "reason": "核对",
        "version": s.version})
    assert r.status_code == 400 and "id_checksum" in str(r.context["form"].errors)
