from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Figures for the county, township and school home pages. Reads every other app."""

    name = "dashboards"
    verbose_name = "统计分析"
    default_auto_field = "django.db.models.BigAutoField"
