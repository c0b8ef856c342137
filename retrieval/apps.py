from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetrievalConfig(AppConfig):
    name = "retrieval"
    verbose_name = "排查预警与劝返"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        _register_audit_wording()
        _register_workflow()
        _register_sweeps()
        _register_imports()


def _register_audit_wording() -> None:
    """The codes this app writes into audit details, in words (kongchuo/portal/audit_wording.py)."""
    from kongchuo import plugins
    from kongchuo.plugins import AuditValues
    from retrieval.models import DismissReason, Escalation, FeedbackItem, RetrievalCase
    from retrieval.sweeps import all_sweeps

    plugins.register(
        "audit_values",
        AuditValues("sweep", {s.name: s.label for s in all_sweeps()}),
        AuditValues("placement", dict(RetrievalCase.Placement.choices)),
        AuditValues("measure", dict(Escalation.Measure.choices)),
        AuditValues("category", dict(RetrievalCase.Closure.choices)),
        AuditValues("reason", {**dict(RetrievalCase.Reason.choices), **dict(DismissReason.choices)}),
        AuditValues("result", dict(FeedbackItem.Result.choices)),
        AuditValues("before", dict(FeedbackItem.Result.choices)),
    )


def _register_workflow() -> None:
    """Menu, home cards, the student-page panel and the evidence folder of the 劝返 workflow."""
    from kongchuo import plugins
    from kongchuo.access.scoping import Role
    from kongchuo.plugins import FileFolder, MenuItem
    from retrieval.home import retrieval_home, student_panel
    from retrieval.models import Evidence

    staff = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
    everyone = (*staff, Role.TOWNSHIP_GOV)
    plugins.register(
        "menu_item",
        MenuItem("首页", _("我的待办"), "retrieval:inbox", everyone, "bi-inbox", 1),
        MenuItem("排查预警", _("疑似辍学预警"), "retrieval:alerts", staff, "bi-exclamation-triangle", 40),
        MenuItem("排查预警", _("反馈名单核查"), "retrieval:feedback", staff, "bi-list-check", 42),
        MenuItem("排查预警", _("帮扶对象未入学"), "retrieval:support_unenrolled", (Role.COUNTY, Role.TOWNSHIP),
                 "bi-heart", 43),
        MenuItem("排查预警", _("规则质量"), "retrieval:rule_quality", (Role.COUNTY,), "bi-speedometer2", 44),
        MenuItem("劝返销号", _("劝返案件"), "retrieval:cases", everyone, "bi-person-walking", 50),
        MenuItem("劝返销号", _("待审批"), "retrieval:approvals", (Role.COUNTY, Role.TOWNSHIP),
                 "bi-check2-square", 51),
        MenuItem("劝返销号", _("督查"), "retrieval:supervision", (Role.COUNTY,), "bi-clipboard-check", 55),
        MenuItem("劝返销号", _("整改通知"), "retrieval:rectifications", staff, "bi-wrench-adjustable", 56),
    )
    plugins.register("home_card", retrieval_home)
    plugins.register("student_panel", student_panel, order=50)
    # Every file under it belongs to an Evidence row: the orphan-file purge walks it.
    plugins.register("file_folder", FileFolder(Evidence, "retrieval/evidence"))


def _register_sweeps() -> None:
    """Menu entry and demo seeder of the sweeps (retrieval/sweeps/), and their check in the
    jobs watchdog (a silent partition is sent again)."""
    from kongchuo.jobs import watchdog_register
    from retrieval.sweeps.runner import sweep_watch
    from retrieval.sweeps.ui import register_sweeps_ui

    register_sweeps_ui()
    watchdog_register("sweeps", sweep_watch)


def _register_imports() -> None:
    from kongchuo.imports.base import register_kind
    from retrieval.imports import FeedbackImport

    register_kind(FeedbackImport())
