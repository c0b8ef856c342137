"""用户管理 in the browser (issue 18 §4): the county manages every account, a township center
school the accounts of its schools. A new or reset password is shown once; TOTP reset and
unlock are the county's. Views parse → scope (`accounts_visible_to`: 404 out of scope) → call a
service (audited) → redirect.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import PasswordChangeView
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from kongchuo.access.scoping import Role, require_role
from students import services
from students.forms import AccountForm
from students.models import User
from students.selectors import (
    account_has_otp,
    account_locked,
    accounts_visible_to,
    locked_usernames,
)

MANAGERS = (Role.COUNTY, Role.TOWNSHIP)
ONE_TIME_KEY = "kc_one_time_password"  # session key of a password waiting to be shown once


def _account(request, pk: int) -> User:
    """An account the user manages; 404 whether it is missing or not theirs."""
    try:
        return accounts_visible_to(request.user).get(pk=pk)
    except (User.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def _show_once(request, user, password: str) -> None:
    request.session[ONE_TIME_KEY] = {"user": user.pk, "password": password}


@login_required
@require_safe
def user_list(request):
    scope = require_role(request.user, *MANAGERS)
    qs = accounts_visible_to(request.user).order_by("role", "township__code", "school__code",
                                                     "username")
    q = request.GET.get("q", "").strip()
    role = request.GET.get("role", "")
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(first_name__icontains=q)
                       | Q(school__name__icontains=q) | Q(township__name__icontains=q))
    if role in Role.values:
        qs = qs.filter(role=role)
    state = request.GET.get("state", "")
    if state == "inactive":
        qs = qs.filter(is_active=False)
    elif state == "first_login":
        qs = qs.filter(must_change_password=True)
    elif state == "locked":
        qs = qs.filter(username__in=locked_usernames())
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    locked = set(locked_usernames().filter(username__in=[u.username for u in page])
                 .values_list("username", flat=True))
    for u in page:
        u.is_locked = u.username in locked
    return render(request, "students/user_list.html", {
        "page": page, "q": q, "role": role, "state": state, "is_county": scope.is_county,
        "roles": Role.choices if scope.is_county else [(Role.SCHOOL.value, Role.SCHOOL.label)],
    })


@login_required
@require_http_methods(["GET", "POST"])
def user_new(request):
    require_role(request.user, *MANAGERS)
    form = AccountForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        user, password = services.account_create(
            actor=request.user, request=request, username=form.cleaned_data["username"],
            **form.values())
        _show_once(request, user, password)
        return redirect("students:user_password")
    return render(request, "students/user_form.html", {"form": form, "account": None})


@login_required
@require_http_methods(["GET", "POST"])
def user_detail(request, pk: int):
    scope = require_role(request.user, *MANAGERS)
    account = _account(request, pk)
    initial = {"first_name": account.first_name, "phone": account.phone, "role": account.role,
               "township": account.township_id, "school": account.school_id,
               "section": account.section}
    form = AccountForm(request.POST or None, actor=request.user, account=account, initial=initial)
    if request.method == "POST" and form.is_valid():
        changed = services.account_update(actor=request.user, request=request, user=account,
                                          **form.values())
        messages.success(request, _("已保存") if changed else _("没有改动"))
        return redirect("students:user", pk=account.pk)
    return render(request, "students/user_form.html", {
        "form": form, "account": account, "is_county": scope.is_county,
        "locked": account_locked(account), "has_otp": account_has_otp(account),
        "is_self": account.pk == request.user.pk,
    })


@login_required
@require_POST
def user_active(request, pk: int):
    require_role(request.user, *MANAGERS)
    account = _account(request, pk)
    active = request.POST.get("active") == "1"
    try:
        services.account_set_active(actor=request.user, request=request, user=account, active=active)
    except ValueError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("账号已启用") if active else _("账号已停用，已退出其所有登录"))
    return redirect("students:user", pk=account.pk)


@login_required
@require_POST
def user_password_reset(request, pk: int):
    require_role(request.user, *MANAGERS)
    account = _account(request, pk)
    password = services.account_password_reset(actor=request.user, request=request, user=account)
    _show_once(request, account, password)
    return redirect("students:user_password")


@login_required
@require_POST
def user_otp_reset(request, pk: int):
    require_role(request.user, Role.COUNTY)
    account = _account(request, pk)
    n = services.account_otp_reset(actor=request.user, request=request, user=account)
    messages.success(request, _("已解除动态验证码绑定（%(n)s 个），该账号下次登录时重新绑定") % {"n": n})
    return redirect("students:user", pk=account.pk)


@login_required
@require_POST
def user_unlock(request, pk: int):
    require_role(request.user, Role.COUNTY)
    account = _account(request, pk)
    n = services.account_unlock(actor=request.user, request=request, user=account)
    messages.success(request, _("已解除登录锁定（清除 %(n)s 条失败记录）") % {"n": n})
    return redirect("students:user", pk=account.pk)


@login_required
@require_safe
def user_password(request):
    """The password just set, shown once: the session entry is removed as it is read."""
    require_role(request.user, *MANAGERS)
    shown = request.session.pop(ONE_TIME_KEY, None)
    if not shown:
        return render(request, "students/user_password.html", {"gone": True})
    account = _account(request, shown["user"])
    return render(request, "students/user_password.html",
                  {"account": account, "password": shown["password"]})


class PasswordChange(PasswordChangeView):
    """Change one's own password; ends a forced change (new account, reset) and is audited."""

    template_name = "registration/password_change.html"
    success_url = "/"

    def form_valid(self, form):
        response = super().form_valid(form)
        services.account_password_changed(user=self.request.user, request=self.request)
        messages.success(self.request, _("密码已修改"))
        return response

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["forced"] = getattr(self.request.user, "must_change_password", False)
        return ctx
