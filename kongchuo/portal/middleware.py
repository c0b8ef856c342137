"""Cross-cutting request handling: session lifetime and caching headers for personal data."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth import logout
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class SessionTimeoutMiddleware:
    """Absolute session cap (12 h) on top of Django's idle expiry (SESSION_COOKIE_AGE)."""

    KEY = "_kongchuo_login_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            started = request.session.get(self.KEY)
            now = int(time.time())
            if started is None:
                request.session[self.KEY] = now
            elif now - int(started) > settings.SESSION_ABSOLUTE_SECONDS:
                logout(request)
        return self.get_response(request)


class NoStoreMiddleware:
    """Pages behind a login carry children's personal data: never keep them in a cache."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith(
            settings.STATIC_URL
        ):
            response["Cache-Control"] = "no-store"
        return response


class PortalLocaleMiddleware(LocaleMiddleware):
    """Chinese unless the user chose English with the switch (a cookie).

    County PCs often run English Windows and send `Accept-Language: en-US`; that must not turn
    the portal English, so the browser's header is ignored.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        codes = {code for code, _ in settings.LANGUAGES}
        language = chosen if chosen in codes else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
