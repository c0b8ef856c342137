"""Second factor for county staff and the admin site (django-otp TOTP).

A user who must use a second factor (county role, or staff who can reach the admin) and has not
verified one in this session is sent to the TOTP page: set up a device if they have none, verify a
token otherwise. Switched by settings.KONGCHUO_REQUIRE_OTP (on in production, off in the debug quick
start so the demo logins work without an authenticator app).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django_otp import user_has_device

from kongchuo.access.scoping import Role

# Views (namespaced names) a user waiting for the second factor may still reach.
OTP_EXEMPT_VIEWS = {
    "otp_setup", "otp_verify", "logout", "login", "healthz", "set_language", "javascript-catalog",
}


def otp_required_for(user) -> bool:
    if not getattr(settings, "KONGCHUO_REQUIRE_OTP", False):
        return False
    if user is None or not user.is_authenticated:
        return False
    return getattr(user, "role", "") == Role.COUNTY or user.is_staff or user.is_superuser


def is_otp_verified(user) -> bool:
    verified = getattr(user, "is_verified", None)
    return bool(verified and verified())


class OTPRequiredMiddleware:
    """Must come after django_otp.middleware.OTPMiddleware (which sets user.is_verified)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if not otp_required_for(user) or is_otp_verified(user):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in OTP_EXEMPT_VIEWS:
            return None
        if match is not None and match.view_name == "password_change" and getattr(
                user, "must_change_password", False):
            return None  # the forced change comes first; the second factor right after it
        target = reverse("otp_verify" if user_has_device(user) else "otp_setup")
        target = f"{target}?{urlencode({'next': request.get_full_path()})}"
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)


# Views a user who must change a password someone else set may still reach.
PASSWORD_EXEMPT_VIEWS = {"password_change", "logout", "login", "healthz", "set_language",
                         "javascript-catalog"}


class PasswordChangeRequiredMiddleware:
    """A new account, or one whose password was reset, must choose its own password before
    anything else (the password was shown to whoever created or reset it). Must come after
    AuthenticationMiddleware and before OTPRequiredMiddleware: no second-factor secret is shown
    to someone who only knows the one-time password."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not getattr(user, "must_change_password", False):
            return None
        match = request.resolver_match
        if match is not None and match.view_name in PASSWORD_EXEMPT_VIEWS:
            return None
        target = reverse("password_change")
        if getattr(request, "htmx", False):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)


class SessionRefreshMiddleware:
    """Slide the 30-minute idle expiry at most once a minute instead of on every request.

    SESSION_SAVE_EVERY_REQUEST rewrote the session row on every page (an UPDATE and a COMMIT;
    docs/performance.md has its cost); refreshing when the last refresh is older than
    KONGCHUO_SESSION_REFRESH_SECONDS keeps the idle timeout within a minute of 30 minutes.
    """

    KEY = "_kongchuo_refreshed_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        if session is None or user is None or not user.is_authenticated:
            return response
        now = int(time.time())
        every = int(getattr(settings, "KONGCHUO_SESSION_REFRESH_SECONDS", 60))
        if now - int(session.get(self.KEY, 0)) >= every:
            session[self.KEY] = now  # marks the session modified: saved with a fresh expiry
        return response
