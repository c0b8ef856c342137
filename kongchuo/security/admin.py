"""The admin site behind the portal's own login and, when required, a verified second factor."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.contrib.admin import AdminSite
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from django_otp.admin import OTPAdminSite
from simple_history.template_utils import HistoricalRecordContextHelper

from kongchuo.access.audit import audit_record
from kongchuo.access.idnumbers import mask_ids_in_text, mask_ids_in_value
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


class _MaskedHistoryHelper(HistoricalRecordContextHelper):
    """History diffs ("changes" column) show old and new values: an ID (or a 学籍号 holding
    one) is masked by shape there as everywhere else."""

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        return mask_ids_in_value(value)


class ChildRecordAdmin:
    """Mixin for the admin of children's records (issue 15 finding 4).

    Support staff see a child's record here, so every read is audited as a portal read is:
    the list (with its search, masked), a change page, the history list and an old version.
    ID numbers never appear in full: ModelAdmins exclude `id_number`, show a 学籍号 through
    `masked_student_number`, and history diffs are masked by shape.
    """

    def _audit_read(self, request, view: str, object_id=None) -> None:
        if request.method not in ("GET", "HEAD"):
            return
        detail = {"view": view}
        if request.GET.get("q"):
            detail["q"] = mask_ids_in_text(request.GET["q"])[:60]
        audit_record(action="admin_view", request=request, object_type=self.model._meta.label_lower,
                     object_id=str(object_id or ""), detail=detail)

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        if getattr(response, "status_code", None) == 200:
            self._audit_read(request, "list")
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if getattr(response, "status_code", None) == 200:
            self._audit_read(request, "change", object_id)
        return response

    def history_view(self, request, object_id, extra_context=None):
        response = super().history_view(request, object_id, extra_context)
        if getattr(response, "status_code", None) == 200:
            self._audit_read(request, "history", object_id)
        return response

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        response = super().history_form_view(request, object_id, version_id, extra_context)
        if getattr(response, "status_code", None) == 200:
            self._audit_read(request, "history_version", object_id)
        return response

    def get_historical_record_context_helper(self, request, historical_record):
        return _MaskedHistoryHelper(self.model, historical_record)

    @admin.display(description=_("全国学籍号"))
    def masked_student_number(self, obj) -> str:
        return mask_ids_in_text(getattr(obj, "student_number", "") or "") or "—"
