"""The admin site behind the portal's own login and, when required, a verified second factor."""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin import AdminSite
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django_otp.admin import OTPAdminSite

from kongchuo.security.middleware import is_otp_verified


class KongchuoAdminSite(OTPAdminSite):
    """OTPAdminSite whose OTP demand follows KONGCHUO_REQUIRE_OTP.

    Logging in happens on the portal's login page (axes, audit, the TOTP step all live there), so
    the admin's own login view only redirects; a signed-in user who is not staff gets 403.
    """

    def has_permission(self, request):
        if not AdminSite.has_permission(self, request):
            return False
        return not settings.KONGCHUO_REQUIRE_OTP or is_otp_verified(request.user)

    def login(self, request, extra_context=None):
        if not request.user.is_authenticated:
            return redirect_to_login(request.GET.get("next", request.path), settings.LOGIN_URL)
        if self.has_permission(request):
            return super().login(request, extra_context)
        raise PermissionDenied
