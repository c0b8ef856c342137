"""What every model of the app shares: the level a row is handled at, the user model."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

USER = settings.AUTH_USER_MODEL


class Level(models.TextChoices):
    SCHOOL = "school", _("学校")
    TOWNSHIP = "township", _("乡镇中心学校")
    COUNTY = "county", _("县教育局")
    TOWNSHIP_GOV = "township_gov", _("属地政府")
