from django.contrib import admin

from kongchuo.access.models import AuditEvent
from kongchuo.calendar.models import CalendarDay
from kongchuo.models import Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "created_by", "created_at", "progress"]
    list_filter = ["kind", "status"]


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "username", "ip", "action", "object_type", "object_id", "outcome"]
    list_filter = ["action", "outcome"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ["date", "school_day", "note"]
    list_filter = ["school_day"]
    date_hierarchy = "date"
