from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from kongchuo.security.admin import ChildRecordAdmin
from students.models import CensusEntry, LeadingGroupMember, School, StatusChange, Student, Township, User


@admin.register(Township)
class TownshipAdmin(ImportExportModelAdmin):
    list_display = ["code", "name", "kind"]
    search_fields = ["code", "name"]


@admin.register(School)
class SchoolAdmin(ImportExportModelAdmin):
    list_display = ["code", "name", "kind", "township", "is_center", "oversight"]
    list_filter = ["kind", "oversight", "is_center"]
    search_fields = ["code", "name"]


@admin.register(Student)
class StudentAdmin(ChildRecordAdmin, SimpleHistoryAdmin):
    list_display = ["name", "school", "grade", "class_name", "status"]
    list_filter = ["status", "grade"]
    search_fields = ["name", "student_number"]
    raw_id_fields = ["school", "hukou_township"]
    # Support staff never see full IDs here; a 全国学籍号 is "G" + the ID, so it is shown masked
    # and changed in the portal (学籍维护), not here.
    exclude = ["id_number", "student_number"]
    readonly_fields = ["masked_student_number"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(StatusChange)
class StatusChangeAdmin(ChildRecordAdmin, admin.ModelAdmin):
    list_display = ["student", "kind", "effective_date", "end_date", "source"]
    list_filter = ["kind", "source"]
    raw_id_fields = ["student", "from_school", "to_school", "created_by"]


@admin.register(CensusEntry)
class CensusEntryAdmin(ChildRecordAdmin, admin.ModelAdmin):
    list_display = ["year", "name", "township"]
    list_filter = ["year"]
    exclude = ["id_number"]


admin.site.register(LeadingGroupMember)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    fieldsets = (*UserAdmin.fieldsets, ("控辍保学", {"fields": ("role", "township", "school", "section", "phone")}))
    list_display = ["username", "first_name", "role", "township", "school", "is_active"]
    list_filter = ["role", "is_active"]

    def save_model(self, request, obj, form, change):
        # A password support staff typed (a new account) is the owner's to replace at first
        # login, before any second-factor secret is shown (issue 15).
        if not change:
            obj.must_change_password = True
        super().save_model(request, obj, form, change)

    def user_change_password(self, request, id, form_url=""):
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and getattr(response, "status_code", None) == 302 and str(id) != str(request.user.pk):
            User.objects.filter(pk=id).update(must_change_password=True)  # someone else's: a reset
        return response
