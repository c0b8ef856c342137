"""Second-factor pages and the error handlers (403 is audited; no handler leaks a trace)."""

from __future__ import annotations

from base64 import b32encode

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import user_has_device

from kongchuo.access.audit import audit_record
from kongchuo.security.forms import TokenForm
from kongchuo.security.middleware import is_otp_verified
from kongchuo.security.services import otp_device_pending, otp_device_verify


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return "/"


@login_required
@require_http_methods(["GET", "POST"])
def otp_setup(request):
    if getattr(request.user, "must_change_password", False):
        # Whoever holds a one-time password (its creator too) must not see the secret: the
        # owner sees it only after choosing their own password.
        return redirect("password_change")
    if user_has_device(request.user):
        if is_otp_verified(request.user):
            return render(request, "registration/otp_status.html")
        return redirect(_with_next("otp_verify", request))
    device = otp_device_pending(user=request.user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if otp_device_verify(request=request, user=request.user, token=form.cleaned_data["token"],
                             setup=True):
            return redirect(_next_url(request))
        form.add_error("token", _("验证码错误或已过期，请重试"))
    return render(request, "registration/otp_setup.html", {
        "form": form, "next": _next_url(request), "config_url": device.config_url,
        "secret": _base32(device),
    })


@login_required
@require_http_methods(["GET", "POST"])
def otp_verify(request):
    if not user_has_device(request.user):
        return redirect(_with_next("otp_setup", request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if otp_device_verify(request=request, user=request.user, token=form.cleaned_data["token"]):
            return redirect(_next_url(request))
        form.add_error("token", _("验证码错误或已过期，请重试"))
    return render(request, "registration/otp_verify.html", {"form": form, "next": _next_url(request)})


def _with_next(name: str, request) -> str:
    return f"{reverse(name)}?{urlencode({'next': _next_url(request)})}"


def _base32(device) -> str:
    raw = b32encode(device.bin_key).decode()
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def permission_denied(request, exception=None):
    """handler403: every refusal leaves an audit row (who, where, what)."""
    audit_record(action="forbidden", request=request, outcome="denied",
                 detail={"path": request.path[:200], "method": request.method})
    return render(request, "403.html", status=403)


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: audited like any other refusal, rendered with the same page."""
    audit_record(action="csrf_failure", request=request, outcome="denied",
                 detail={"path": request.path[:200], "method": request.method})
    return render(request, "403.html", {"csrf": True}, status=403)
