from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe
from django_tables2 import RequestConfig

from kongchuo.access.scoping import Role, access_object, covers_school, require_role, scope_of
from kongchuo.portal.panels import panels_for_student
from kongchuo.security.forms import RevealForm
from kongchuo.security.services import can_reveal_personal_data, personal_data_reveal
from students.counts import CachedCountPaginator, enrolled_by_school
from students.filters import SchoolFilter, StudentFilter
from students.forms import JuniorSchoolForm, LeadingGroupMemberForm, RepeatForm, ResponsibilityForm
from students.models import LeadingGroupMember, School, Student, Township
from students.selectors import can_edit_responsibility, school_list_for, township_summary
from students.services import (
    leading_group_member_add,
    leading_group_member_remove,
    school_junior_school_set,
    school_responsibility_update,
    student_repeat_record,
    student_repeat_withdraw,
)
from students.support import SUPPORT_GROUPS
from students.tables import SchoolTable, StudentTable


@login_required
@require_safe
def student_list(request):
    require_role(request.user, Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
    base = (Student.objects.visible_to(request.user).select_related("school").only(*StudentTable.FIELDS)
            .order_by(*Student._meta.ordering, "pk"))  # a total order: stable pages
    flt = StudentFilter(request.GET or None, queryset=base, user=request.user)
    qs = flt.qs if flt.is_bound and flt.is_valid() else base
    table = StudentTable(qs)
    RequestConfig(request, paginate={"per_page": 20, "paginator_class": CachedCountPaginator,
                                     "count_queryset": qs}).configure(table)
    return render(request, "students/student_list.html", {"filter": flt, "table": table})


@login_required
@require_safe
def student_detail(request, pk: int):
    student = access_object(Student.objects.select_related("school__township", "hukou_township"),
                            request.user, pk=pk)
    return _render_student(request, student)


def _render_student(request, student, *, revealed=None, reveal_form=None):
    changes = student.status_changes.select_related("from_school", "to_school", "created_by")
    can_reveal = can_reveal_personal_data(request.user)
    scope = scope_of(request.user)
    acts = covers_school(request.user, student.school)
    return render(request, "students/student_detail.html", {
        "student": student, "changes": changes,
        "can_edit": acts, "can_correct_id": acts and scope.role in (Role.COUNTY, Role.TOWNSHIP),
        "pending_transfer": student.transfers.filter(state="pending").first(),
        "support_labels": [g.label for g in SUPPORT_GROUPS
                           if g.flag and getattr(student, g.flag)],
        "sections": _student_sections(request, student),
        "can_reveal": can_reveal, "revealed": revealed or {},
        "reveal_form": reveal_form or (RevealForm() if can_reveal else None),
    })


@login_required
@require_http_methods(["POST"])
def student_reveal(request, pk: int):
    """Show one full value (ID number or guardian phone) once, with a reason, audited.

    Out of scope → 404 (like every object); in scope without the right → 403 (audited too).
    """
    student = access_object(Student.objects.select_related("school__township", "hukou_township"),
                            request.user, pk=pk)
    if not can_reveal_personal_data(request.user):
        raise PermissionDenied
    form = RevealForm(request.POST)
    if not form.is_valid():
        return _render_student(request, student, reveal_form=form)
    field = form.cleaned_data["field"]
    value = personal_data_reveal(request=request, obj=student, field=field,
                                 value=getattr(student, field), reason=form.cleaned_data["reason"])
    return _render_student(request, student, revealed={field: value})


def _student_sections(request, student):
    """Blocks the higher apps contribute to the student page (ledgers, alerts, cases)."""
    return panels_for_student(request, student)


@login_required
@require_safe
def school_list(request):
    """学校与责任人: filtered and paginated like the other lists (a county has ~300 schools)."""
    require_role(request.user, Role.COUNTY, Role.TOWNSHIP)
    base = School.objects.visible_to(request.user).select_related("township")
    flt = SchoolFilter(request.GET or None, queryset=base, user=request.user)
    qs = flt.qs if flt.is_bound and flt.is_valid() else base
    table = SchoolTable(qs, counts=enrolled_by_school())
    RequestConfig(request, paginate={"per_page": 30}).configure(table)
    return render(request, "students/school_list.html", {"filter": flt, "table": table})


@login_required
@require_safe
def my_school(request):
    scope = require_role(request.user, Role.SCHOOL)
    return school_detail(request, scope.school_id)


@login_required
@require_http_methods(["GET", "POST"])
def school_detail(request, pk: int):
    school = access_object(School.objects.select_related("township"), request.user, pk=pk)
    editable = can_edit_responsibility(request.user, school)
    form = ResponsibilityForm(request.POST or None, instance=school)
    if request.method == "POST":
        if not editable:
            raise PermissionDenied
        if form.is_valid():
            school_responsibility_update(school=school, user=request.user, request=request,
                                         **{name: form.cleaned_data[name] for name in form.Meta.fields})
            messages.success(request, _("责任人已保存"))
            return redirect("students:school", pk=school.pk)
    center = School.objects.filter(township=school.township, is_center=True).first()
    primary = school.kind in School.PRIMARY_ONLY
    return render(request, "students/school_detail.html", {
        "school": school, "form": form, "editable": editable, "center": center,
        "n_students": school.students.filter(status=Student.Status.ENROLLED).count(),
        "junior_form": JuniorSchoolForm(initial={"junior_school": school.junior_school_id})
        if primary and editable else None,
        "primary": primary,
    })


@login_required
@require_http_methods(["POST"])
def school_junior(request, pk: int):
    """Set the 对口初中 of a primary school or teaching point (whoever edits its responsibility)."""
    school = access_object(School.objects.select_related("township"), request.user, pk=pk)
    if not can_edit_responsibility(request.user, school) or school.kind not in School.PRIMARY_ONLY:
        raise PermissionDenied
    form = JuniorSchoolForm(request.POST)
    if form.is_valid():
        try:
            school_junior_school_set(school=school, junior=form.cleaned_data["junior_school"],
                                     user=request.user, request=request)
        except ValueError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("对口初中已保存"))
    else:
        messages.error(request, _("请选择开设七年级的学校"))
    return redirect("students:school", pk=school.pk)


@login_required
@require_http_methods(["POST"])
def student_repeat(request, pk: int):
    """Put the child on this year's 留级 list, or take it off (action=withdraw)."""
    require_role(request.user, Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
    student = access_object(Student.objects.select_related("school"), request.user, pk=pk)
    try:
        if request.POST.get("action") == "withdraw":
            student_repeat_withdraw(student=student, user=request.user, request=request)
            messages.success(request, _("已移出本学年留级名单"))
        else:
            form = RepeatForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("请填写留级原因"))
                return redirect("students:detail", pk=student.pk)
            student_repeat_record(student=student, user=request.user,
                                  reason=form.cleaned_data["reason"], request=request)
            messages.success(request, _("已列入本学年留级名单：学年结转时不升级"))
    except ValueError as exc:
        messages.error(request, str(exc))
    return redirect("students:detail", pk=student.pk)


@login_required
@require_safe
def township_detail(request, pk: int):
    township = access_object(Township.objects, request.user, pk=pk)
    scope = scope_of(request.user)
    if scope.role == Role.SCHOOL:
        raise PermissionDenied
    schools = school_list_for(request.user, township=township)
    center = next((s for s in schools if s.is_center), None)
    return render(request, "students/township_detail.html", {
        "township": township, "schools": schools, "center": center,
        "summary": township_summary(township),
    })


@login_required
@require_http_methods(["GET", "POST"])
def county_detail(request):
    require_role(request.user, Role.COUNTY)
    form = LeadingGroupMemberForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        leading_group_member_add(user=request.user, request=request, **form.cleaned_data)
        messages.success(request, _("已添加领导小组成员"))
        return redirect("students:county")
    return render(request, "students/county_detail.html", {
        "members": LeadingGroupMember.objects.all(), "form": form,
        "townships": Township.objects.all(),
        "county_direct": School.objects.county_direct(),
    })


@login_required
@require_http_methods(["POST"])
def leading_group_remove(request, pk: int):
    require_role(request.user, Role.COUNTY)
    member = get_object_or_404(LeadingGroupMember, pk=pk)  # county-wide: no scoping below it
    leading_group_member_remove(user=request.user, request=request, member=member)
    messages.success(request, _("已移除"))
    return redirect("students:county")

