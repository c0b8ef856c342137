from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# Every model a dashboard figure counts: a save or delete of any of them invalidates the cached
# dashboards (see dashboards.cache). Job and SweepRun stand for the bulk paths (imports,
# sweeps) whose row writes send no signals but which always finish by saving those rows.
COUNTED_MODELS = (
    "students.Township", "students.School", "students.Student", "students.StatusChange",
    "students.CensusEntry",
    "ledgers.ReturnReport", "ledgers.Deferral", "ledgers.HomeTeachingPlan",
    "ledgers.HomeTeachingVisit", "ledgers.AidRecord",
    "retrieval.Alert", "retrieval.SweepRun", "retrieval.FeedbackItem", "retrieval.FeedbackBatch",
    "retrieval.RetrievalCase", "retrieval.PersuasionAttempt", "retrieval.Escalation",
    "dashboards.CohortIntake", "dashboards.YearFigures", "kongchuo.Job", "kongchuo.SchoolYear",
)


class DashboardsConfig(AppConfig):
    """Figures for the county, township and school home pages. Reads every other app."""

    name = "dashboards"
    verbose_name = _("统计分析")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from dashboards.cache import data_changed
        from dashboards.demo import seed_cohort_intakes, seed_last_year
        from dashboards.home import dashboard_home
        from kongchuo import plugins
        from kongchuo.access.scoping import Role
        from kongchuo.plugins import AuditValues, MenuItem

        for label in COUNTED_MODELS:
            model = self.apps.get_model(label)
            post_save.connect(data_changed, sender=model, dispatch_uid=f"dashboards-save-{label}")
            post_delete.connect(data_changed, sender=model, dispatch_uid=f"dashboards-del-{label}")

        # The dashboard supersedes the core app's placeholder cards (students.home says the
        # dashboards issue replaces them): keeping both would run an uncached 200,000-row
        # aggregate on every home page view, beside the cached figures showing the same numbers.
        from students.home import core_home

        plugins.unregister("home_card", core_home)
        plugins.register("home_card", dashboard_home)
        plugins.register("seeder", seed_cohort_intakes, order=50)
        from dashboards.metrics import METRICS

        plugins.register("audit_values", AuditValues("metric", {key: m.label for key, m in METRICS.items()}))
        plugins.register("year_end_seeder", seed_last_year, order=50)
        from dashboards.imports import CohortIntakesImport
        from kongchuo.imports.base import register_kind

        register_kind(CohortIntakesImport())
        plugins.register(
            "menu_item",
            MenuItem("统计分析", _("入学队列人数"), "dashboards:cohorts",
                     (Role.COUNTY, Role.TOWNSHIP), "bi-people-fill", 80),
            MenuItem("统计分析", _("年度考核"), "dashboards:review", (Role.COUNTY, Role.TOWNSHIP),
                     "bi-clipboard-data", 81),
            MenuItem("系统管理", _("学年学期"), "dashboards:terms", (Role.COUNTY,), "bi-calendar3", 91),
            MenuItem("系统管理", _("学年结转"), "dashboards:rollover", (Role.COUNTY,),
                     "bi-arrow-right-circle", 92),
        )
