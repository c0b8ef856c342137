"""The county's school years and its exceptions to the Monday–Friday school week."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class CalendarDay(models.Model):
    """An exception to the Monday–Friday school week: a holiday on a weekday (国庆, 春节…) or a
    make-up working Saturday/Sunday (调休). Kept by the county in the admin; read by the sweeps
    that count school days (consecutive absences)."""

    date = models.DateField(_("日期"), unique=True)
    school_day = models.BooleanField(_("是否上课"), default=False)
    note = models.CharField(_("说明"), max_length=60, blank=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("校历调整")
        verbose_name_plural = _("校历调整")

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {'上课' if self.school_day else '放假'} {self.note}".strip()


class SchoolYear(models.Model):
    """A school year (1 September Y – 31 August Y+1, code Y) as the county keeps it: the opening
    days of its two terms (`Y-autumn`, `Y+1-spring`) and whether it has been closed by the
    year-end rollover (学年结转). A year without a row opens on the default days
    (`kongchuo.calendar.schoolyear.Term.start`) and is open. Read through `kongchuo.calendar.schoolyear`."""

    year = models.PositiveSmallIntegerField(_("学年"), unique=True)
    autumn_opens = models.DateField(_("秋季学期开学日期"), null=True, blank=True)
    spring_opens = models.DateField(_("春季学期开学日期"), null=True, blank=True)
    closed_at = models.DateTimeField(_("结转时间"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.PROTECT, related_name="+",
                                  verbose_name=_("结转人"))
    # The rollover's counts (the `rollover --json` keys), kept with the year it closed.
    close_result = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-year"]
        verbose_name = _("学年")
        verbose_name_plural = _("学年")
        constraints = [
            models.CheckConstraint(condition=models.Q(year__gte=2000) & models.Q(year__lte=2100),
                                   name="school_year_2000_2100"),
        ]

    def __str__(self) -> str:
        return f"{self.year}–{self.year + 1}"
