"""Support-staff views of the workflow rows: read-mostly, never deletable (nothing is deleted)."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from kongchuo.security.admin import ChildRecordAdmin
from retrieval.models import (
    AlertDecision,
    ClosureRequest,
    Escalation,
    Evidence,
    PersuasionAttempt,
    RectificationOrder,
    RetrievalCase,
    SupervisionFinding,
    SupervisionVisit,
)


class NoDeleteAdmin(ChildRecordAdmin, admin.ModelAdmin):
    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RetrievalCase)
class RetrievalCaseAdmin(ChildRecordAdmin, SimpleHistoryAdmin):
    list_display = ["name", "school", "status", "reason", "placement", "closure_category", "opened_at"]
    list_filter = ["status", "reason", "closure_category"]
    search_fields = ["name"]
    raw_id_fields = ["student", "school", "township", "placement_school", "alerts", "opened_by",
                     "placed_by", "closed_by"]
    exclude = ["id_number"]  # support staff never see full IDs here

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AlertDecision)
class AlertDecisionAdmin(NoDeleteAdmin):
    list_display = ["alert", "kind", "reason", "decided_by", "decided_at", "review_status"]
    list_filter = ["kind", "review_status", "reason"]
    raw_id_fields = ["alert", "case", "decided_by", "reviewed_by"]


@admin.register(PersuasionAttempt)
class PersuasionAttemptAdmin(NoDeleteAdmin):
    list_display = ["case", "attempted_on", "method", "outcome", "recorded_by"]
    list_filter = ["method", "outcome"]
    raw_id_fields = ["case", "recorded_by"]


@admin.register(Escalation)
class EscalationAdmin(ChildRecordAdmin, SimpleHistoryAdmin):
    list_display = ["case", "township", "deadline", "status", "measure"]
    list_filter = ["status", "measure"]
    raw_id_fields = ["case", "escalated_by", "answered_by"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ClosureRequest)
class ClosureRequestAdmin(NoDeleteAdmin):
    list_display = ["case", "category", "status", "approver_level", "requested_at", "decided_at"]
    list_filter = ["status", "category", "approver_level"]
    raw_id_fields = ["case", "requested_by", "decided_by"]


@admin.register(Evidence)
class EvidenceAdmin(NoDeleteAdmin):
    list_display = ["original_name", "mime", "size", "uploaded_by", "uploaded_at"]
    list_filter = ["mime"]
    readonly_fields = ["token", "file", "sha256", "size", "mime"]
    raw_id_fields = ["school", "township", "decision", "case", "closure", "escalation",
                     "feedback_item", "rectification", "uploaded_by"]


@admin.register(SupervisionVisit)
class SupervisionVisitAdmin(NoDeleteAdmin):
    list_display = ["title", "section", "planned_on", "status"]
    list_filter = ["status", "section"]
    raw_id_fields = ["township", "school", "planned_by"]


@admin.register(SupervisionFinding)
class SupervisionFindingAdmin(NoDeleteAdmin):
    list_display = ["visit", "kind", "school", "teacher_name", "recorded_at"]
    list_filter = ["kind"]
    raw_id_fields = ["visit", "sample", "school", "township", "student", "recorded_by"]


@admin.register(RectificationOrder)
class RectificationOrderAdmin(ChildRecordAdmin, SimpleHistoryAdmin):
    list_display = ["finding", "school", "deadline", "status"]
    list_filter = ["status"]
    raw_id_fields = ["finding", "school", "township", "issued_by", "reported_by", "closed_by"]

    def has_delete_permission(self, request, obj=None):
        return False
