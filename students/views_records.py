"""学籍维护 pages: 新增学生, 编辑, 身份证件号更正. Parse, scope, call a service, render.

A new or edited record goes through the roster import's own rules (check_record), so the errors
and their codes are the import's. Objects are fetched with `access_object` (404 for missing and
out of scope alike); a write needs a user who acts for the child's school (403 otherwise).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from kongchuo.access.scoping import Role, access_object, covers_school, require_role, scope_of
from kongchuo.imports.base import current_lang
from kongchuo.imports.checks import check_record
from kongchuo.imports.parsers import norm_key
from students.forms import IdCorrectionForm, StudentEditForm, StudentNewForm
from students.models import StatusChange, Student, TransferRequest
from students.selectors import existing_student
from students.services import (
    EDITABLE_FIELDS,
    IdNumberTaken,
    StaleEdit,
    student_enrol,
    student_id_correct,
    student_update,
)
from students.transfers import transfer_request_create

STAFF = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
STALE = gettext_lazy("该学生信息在您打开后已被他人修改并保存，您的修改没有保存。请查看当前内容后重新填写。")
# Form field of each roster field a record check may name (the rest go above the form).
FORM_FIELD = {"school_code": "school", "school_name": "school"}


def _issue_text(issue) -> str:
    return _("%(problem)s（%(code)s）") % {"problem": issue.message(current_lang()), "code": issue.code}


def _apply_issues(form, check) -> None:
    """The record check's errors on the form's fields, with the import's codes."""
    for key, issue in check.by_field():
        name = FORM_FIELD.get(key, key)
        form.add_error(name if name in form.fields else None, _issue_text(issue))


def _student(request, pk: int) -> Student:
    return access_object(Student.objects.select_related("school__township", "hukou_township"),
                         request.user, pk=pk)


@login_required
@require_http_methods(["GET", "POST"])
def student_new(request):
    """新增学生: a new entrant or a child arriving from another county. An ID that is already a
    child of another school of the county is no new child: it becomes a transfer request."""
    require_role(request.user, *STAFF)
    form = StudentNewForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        check = check_record("roster", form.record_values(), user=request.user)
        if not check.ok:
            _apply_issues(form, check)
        else:
            done = _enrol_or_ask(request, form, check.row)
            if done is not None:
                return done
    return render(request, "students/student_new.html", {"form": form},
                  status=400 if form.errors else 200)


def _enrol_or_ask(request, form, row):
    d = form.cleaned_data
    school = d["school"]
    known = existing_student(row.id_number)
    if known is None:
        reason = d.get("from_place") or ""
        student = student_enrol(user=request.user, row=row, arrival=d["arrival"],
                                reason=(_("县外转入：%(place)s") % {"place": reason}) if reason else "")
        messages.success(request, _("已新增学生 %(name)s") % {"name": student.name})
        return redirect("students:detail", student.pk)
    if known.school_id == school.pk:
        form.add_error("id_number", _("该生已在本校学籍中，请在学生名册中查找（如需复学请登记学籍变动）"))
        return None
    if norm_key(known.name) != norm_key(row.name):
        # The ID is a child of the county: say so only to whoever also knows the name.
        form.add_error("id_number", _("该身份证件号已是本县在籍学生，但姓名与学籍记录不一致，请核对证件"))
        return None
    try:
        transfer = transfer_request_create(
            user=request.user, student=known, to_school=school, direction=TransferRequest.Direction.IN,
            grade=row.grade, class_name=row.class_name or "",
            reason=d.get("from_place") or _("新增学生时发现该生学籍在本县其他学校"))
    except ValidationError as exc:
        form.add_error("id_number", exc)
        return None
    messages.info(request, _("该生学籍在本县%(school)s，不是新生：已向该校发出转学申请，待对方确认后转入本校。")
                  % {"school": known.school.name})
    return redirect("students:transfer", transfer.pk)


def _may_edit(user, student: Student) -> bool:
    return covers_school(user, student.school)


@login_required
@require_http_methods(["GET", "POST"])
def student_edit(request, pk: int):
    """编辑: identity and contact fields; optimistic (the version the form was opened at)."""
    require_role(request.user, *STAFF)
    student = _student(request, pk)
    if not _may_edit(request.user, student):
        raise PermissionDenied
    form = StudentEditForm(request.POST or None, student=student)
    status, current = 200, None
    if request.method == "POST":
        status = 400
        if form.is_valid():
            values = _current_values(student)
            values.update(form.record_values())
            check = check_record("roster", values, user=request.user)
            if not check.ok:
                _apply_issues(form, check)
            else:
                try:
                    student_update(user=request.user, student=student, row=check.row,
                                   fields=list(EDITABLE_FIELDS),
                                   expected_version=form.cleaned_data["version"])
                except StaleEdit:
                    form.add_error(None, STALE)
                    current = _student(request, pk)
                    status = 409
                else:
                    messages.success(request, _("修改已保存"))
                    return redirect("students:detail", student.pk)
    return render(request, "students/student_edit.html", {
        "student": student, "form": form, "current": current,
        "can_correct_id": _may_correct_id(request.user, student)}, status=status)


def _current_values(student: Student) -> dict:
    """The stored identity of the child as roster cells (the fields the edit form lacks)."""
    return {"school_code": student.school.code, "id_number": student.id_number,
            "sex": student.get_sex_display(), "birth_date": f"{student.birth_date:%Y-%m-%d}"}


def _may_correct_id(user, student: Student) -> bool:
    scope = scope_of(user)
    return (scope is not None and scope.role in (Role.COUNTY, Role.TOWNSHIP)
            and covers_school(user, student.school))


@login_required
@require_http_methods(["GET", "POST"])
def student_correct_id(request, pk: int):
    """身份证件号更正: township or county only, with a reason; audited."""
    require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    student = _student(request, pk)
    if not _may_correct_id(request.user, student):
        raise PermissionDenied
    form = IdCorrectionForm(request.POST or None, initial={"version": student.version})
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            try:
                student_id_correct(user=request.user, student=student, id_number=d["id_number"],
                                   reason=d["reason"], expected_version=d["version"])
            except StaleEdit:
                form.add_error(None, STALE)
                status = 409
            except IdNumberTaken:
                form.add_error("id_number", _("该身份证件号已属于本县另一名学生，请核对；如为重复学籍请联系县教育局"))
            except ValidationError as exc:
                form.add_error("id_number" if exc.code != "reason" else "reason", exc)
            else:
                messages.success(request, _("身份证件号已更正，性别和出生日期已按新证件号更新"))
                return redirect("students:detail", student.pk)
    changes = student.history.filter(history_change_reason__startswith="身份证件号更正").order_by("-history_date")
    return render(request, "students/student_correct_id.html", {
        "student": student, "form": form, "corrections": changes[:10],
        "kinds": StatusChange.Kind}, status=status)
