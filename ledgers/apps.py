from django.apps import AppConfig


class LedgersConfig(AppConfig):
    name = "ledgers"
    default_auto_field = "django.db.models.BigAutoField"
