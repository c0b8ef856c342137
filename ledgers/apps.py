from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgersConfig(AppConfig):
    name = "ledgers"
    verbose_name = "工作台账"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kongchuo import plugins
        from kongchuo.access.scoping import Role
        from kongchuo.imports.base import register_kind
        from kongchuo.plugins import AuditValues, FileFolder, MenuItem
        from ledgers.demo import seed_ledgers
        from ledgers.imports import ReturnsImport, StatusChangesImport
        from ledgers.models import Attachment, Deferral
        from ledgers.panels import student_ledger_panel
        from ledgers.registry import KINDS

        staff = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
        plugins.register("menu_item", *[
            MenuItem("工作台账", kind.title, f"ledgers:{kind.slug}", staff, kind.icon, kind.order)
            for kind in KINDS.values() if kind.in_menu
        ])
        plugins.register("student_panel", student_ledger_panel, order=20)
        plugins.register(
            "audit_values",
            AuditValues("decision", dict(Deferral.Review.choices)),
            AuditValues("ledger", {slug: kind.title for slug, kind in KINDS.items()}),
            AuditValues("source", {"web": _("页面导出"), "web-job": _("后台导出"), "cli": _("命令行")}),
        )
        plugins.register("seeder", seed_ledgers, order=20)
        # Every file under it belongs to an Attachment row: the orphan-file purge walks it.
        plugins.register("file_folder", FileFolder(Attachment, "ledgers/attachments"))
        register_kind(ReturnsImport())
        register_kind(StatusChangesImport())
