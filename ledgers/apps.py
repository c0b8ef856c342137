from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgersConfig(AppConfig):
    name = "ledgers"
    verbose_name = "工作台账"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kongchuo.access.scoping import Role
        from kongchuo.portal.menu import MenuItem, register
        from kongchuo.portal.panels import register_student_panel
        from kongchuo.seeding import register_seeder
        from ledgers.demo import seed_ledgers
        from ledgers.panels import student_ledger_panel
        from ledgers.registry import KINDS

        staff = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
        register(*[
            MenuItem("工作台账", kind.title, f"ledgers:{kind.slug}", staff, kind.icon, kind.order)
            for kind in KINDS.values() if kind.in_menu
        ])
        register_student_panel(student_ledger_panel, order=20)
        from kongchuo.access.audit_wording import register_audit_values
        from ledgers.models import Deferral

        register_audit_values("decision", dict(Deferral.Review.choices))
        register_audit_values("ledger", {slug: kind.title for slug, kind in KINDS.items()})
        register_audit_values("source", {"web": _("页面导出"), "web-job": _("后台导出"), "cli": _("命令行")})
        register_seeder(seed_ledgers, order=20)
        _register_imports()


def _register_imports() -> None:
    """Import kinds of the ledgers (returns, status_changes): ledgers/imports.py."""
    from ledgers.imports import register_ledger_imports

    register_ledger_imports()
