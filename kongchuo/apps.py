from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KongchuoConfig(AppConfig):
    name = "kongchuo"
    verbose_name = "控辍保学平台"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kongchuo.access.audit_wording import register_audit_values
        from kongchuo.access.scoping import Role
        from kongchuo.imports import tasks  # noqa: F401 - registers the import task with Celery
        from kongchuo.imports.base import all_kinds
        from kongchuo.portal.menu import MenuItem, register

        register_audit_values("kind", lambda slug: next(
            (str(k.label) for k in all_kinds() if k.slug == slug), str(slug)))
        staff = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
        register(
            MenuItem("数据导入", _("导入数据"), "imports:index", staff, "bi-upload", 70),
            MenuItem("数据导入", _("导入记录"), "imports:history", staff, "bi-clock-history", 71),
            MenuItem("系统管理", _("校历调整"), "school_calendar", (Role.COUNTY,), "bi-calendar-x", 91),
        )
