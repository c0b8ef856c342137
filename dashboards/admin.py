from django.contrib import admin
from import_export import fields, resources
from import_export.admin import ImportExportModelAdmin
from import_export.widgets import ForeignKeyWidget

from dashboards.models import CohortIntake
from students.models import School


class CohortIntakeResource(resources.ModelResource):
    """Support staff may load intake counts here too; rows key on (year, school code)."""

    school = fields.Field(attribute="school", column_name="school_code",
                          widget=ForeignKeyWidget(School, field="code"))

    class Meta:
        model = CohortIntake
        import_id_fields = ("year", "school")
        fields = ("year", "school", "grade1_count", "transfers_in", "transfers_out", "deaths",
                  "abroad", "note")
        skip_unchanged = True

    def before_save_instance(self, instance, row, **kwargs):
        instance.source = "admin"


@admin.register(CohortIntake)
class CohortIntakeAdmin(ImportExportModelAdmin):
    resource_classes = [CohortIntakeResource]
    list_display = ["year", "school", "grade1_count", "transfers_in", "transfers_out", "deaths",
                    "abroad", "source", "updated_at"]
    list_filter = ["year", "source"]
    search_fields = ["school__name", "school__code"]
    raw_id_fields = ["school", "created_by"]
