from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    """Logins, second factor, sessions, audit receivers, reliability helpers. Knows no app."""

    name = "kongchuo.security"
    label = "security"
    verbose_name = _("安全与审计")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kongchuo import plugins
        from kongchuo.access.scoping import Role
        from kongchuo.plugins import MenuItem
        from kongchuo.security import receivers  # noqa: F401 - connects the signal receivers

        plugins.register("menu_item",
                         MenuItem("系统管理", _("审计日志"), "audit_list", (Role.COUNTY,), "bi-journal-text", 95))
