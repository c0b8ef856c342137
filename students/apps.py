from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StudentsConfig(AppConfig):
    name = "students"
    verbose_name = "学生与学校"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kongchuo import plugins
        from kongchuo.access.scoping import Role
        from kongchuo.plugins import MenuItem
        from students.demo import seed_school_year_work
        from students.home import core_home
        from students.panels import student_year_panel

        everyone = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL, Role.TOWNSHIP_GOV)
        staff = (Role.COUNTY, Role.TOWNSHIP, Role.SCHOOL)
        plugins.register("home_card", core_home)
        plugins.register("student_panel", student_year_panel, order=5)
        plugins.register("seeder", seed_school_year_work, order=40)
        plugins.register(
            "menu_item",
            MenuItem("首页", _("工作首页"), "home", everyone, "bi-house", 0),
            MenuItem("学生学籍", _("学生名册"), "students:list", staff, "bi-people", 10),
            MenuItem("学生学籍", _("学校与责任人"), "students:schools", (Role.COUNTY, Role.TOWNSHIP),
                     "bi-building", 11),
            MenuItem("学生学籍", _("本校信息"), "students:my_school", (Role.SCHOOL,), "bi-building", 11),
            MenuItem("学生学籍", _("领导小组"), "students:county", (Role.COUNTY,), "bi-diagram-3", 12),
            MenuItem("学生学籍", _("新增学生"), "students:new", staff, "bi-person-plus", 13),
            MenuItem("学生学籍", _("转学"), "students:transfers", staff, "bi-arrow-left-right", 14),
            MenuItem("学生学籍", _("名册缺失"), "students:roster_gaps", staff, "bi-person-x", 15),
            MenuItem("系统管理", _("用户管理"), "students:users", (Role.COUNTY, Role.TOWNSHIP),
                     "bi-person-gear", 90),
            MenuItem("系统管理", _("动态口令"), "otp_setup", (Role.COUNTY,), "bi-shield-lock", 92),
            MenuItem("系统管理", _("修改密码"), "password_change", everyone, "bi-key", 95),
        )
        _register_imports()
        _register_audit_wording()


def _scope_name(code) -> str:
    """An export's scope code as its name: 全县, the township's or the school's name."""
    from students.models import School, Township

    code = str(code)
    if code == "county":
        return str(_("全县"))
    found = (Township.objects.filter(code=code).values_list("name", flat=True).first()
             or School.objects.filter(code=code).values_list("name", flat=True).first())
    return found or code


def _register_audit_wording() -> None:
    from kongchuo import plugins
    from kongchuo.plugins import AuditField, AuditValues
    from students.models import Student, TransferRequest

    plugins.register(
        "audit_values",
        AuditValues("scope", _scope_name),
        AuditValues("source", {"import": _("批量导入")}),
        AuditValues("direction", {"in": _("转入学校申请"), "out": _("原学校转出登记")}),
        AuditValues("arrival", {"enroll": _("新生入学"), "transfer_in": _("转入")}),
        AuditValues("fields", {f.name: f.verbose_name for f in Student._meta.concrete_fields}),
        AuditValues("state", dict(TransferRequest.State.choices)),
    )
    # The year-end rollover's counts (students/rollover.py, `RolloverResult.as_json`).
    plugins.register(
        "audit_field",
        AuditField("students", _("学生数")), AuditField("promoted", _("升级")),
        AuditField("graduated_primary", _("小学毕业")), AuditField("graduated_junior", _("初中毕业")),
        AuditField("held_back", _("不升级")), AuditField("repeated", _("留级")),
        AuditField("already_done", _("此前已结转")),
    )


def _register_imports() -> None:
    """Import kinds of the core app, one module each: students/imports/."""
    from kongchuo.imports.base import register_kind
    from students.imports.census import CensusImport
    from students.imports.roster import RosterImport
    from students.imports.schools import SchoolsImport
    from students.imports.support import SupportImport
    from students.imports.users import UsersImport

    for kind in (SchoolsImport, RosterImport, CensusImport, SupportImport, UsersImport):
        register_kind(kind())
