from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KongchuoConfig(AppConfig):
    name = "kongchuo"
    verbose_name = _("控辍保学平台")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kongchuo import plugins
        from kongchuo.access.scoping import Role
        from kongchuo.imports import tasks  # noqa: F401 - registers the import task with Celery
        from kongchuo.imports.base import all_kinds
        from kongchuo.plugins import AuditValues, MenuItem

        def kind_label(slug) -> str:
            return next((str(k.label) for k in all_kinds() if k.slug == slug), str(slug))

        plugins.register("audit_values", AuditValues("role", dict(Role.choices)),
                         AuditValues("kind", kind_label))
        staff = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
        plugins.register(
            "menu_item",
            MenuItem("数据导入", _("导入数据"), "imports:index", staff, "bi-upload", 70),
            MenuItem("数据导入", _("导入记录"), "imports:history", staff, "bi-clock-history", 71),
            MenuItem("系统管理", _("校历调整"), "school_calendar", (Role.COUNTY,), "bi-calendar-x", 91),
        )
