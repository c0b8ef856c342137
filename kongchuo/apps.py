from django.apps import AppConfig


class KongchuoConfig(AppConfig):
    name = "kongchuo"
    verbose_name = "控辍保学平台"
    default_auto_field = "django.db.models.BigAutoField"
