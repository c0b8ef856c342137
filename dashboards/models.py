"""Models of the dashboards app: cohort intake counts for the nine-year 巩固率 (DESIGN.md §5), and
the figures of each closed school year, frozen at its rollover."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from dashboards.querysets import CohortIntakeQuerySet, YearFiguresQuerySet


class CohortIntake(models.Model):
    """Grade-1 enrolment of one school in the autumn of `year`: the base of that cohort's 巩固率.

    Nine years later the cohort graduates from grade 9. Counts older than the portal come from
    the paper 学籍 books, so the adjustments recorded before the portal existed (transfers in
    and out of the county, deaths, moves abroad) are imported with the count; adjustments after
    that are read from the status history (`students.StatusChange`) child by child.
    """

    year = models.PositiveSmallIntegerField(
        _("入学年份"), validators=[MinValueValidator(2000), MaxValueValidator(2100)])
    school = models.ForeignKey("students.School", on_delete=models.PROTECT,
                               related_name="cohort_intakes", verbose_name=_("学校"))
    grade1_count = models.PositiveIntegerField(_("一年级入学人数"))
    # Adjustments recorded outside the portal (before it was in use), itemised per kind.
    transfers_in = models.PositiveIntegerField(_("系统外转入"), default=0)
    transfers_out = models.PositiveIntegerField(_("系统外转出"), default=0)
    deaths = models.PositiveIntegerField(_("系统外死亡"), default=0)
    abroad = models.PositiveIntegerField(_("系统外出国"), default=0)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    source = models.CharField(max_length=12, default="manual")  # manual / import / admin / seed
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    objects = CohortIntakeQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "school__code"]
        verbose_name = _("入学队列人数")
        verbose_name_plural = _("入学队列人数")
        constraints = [
            models.UniqueConstraint(fields=["year", "school"], name="one_cohort_intake_per_school_year"),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.school_id} {self.grade1_count}"


class YearFigures(models.Model):
    """The figures of one unit (the county, a township, the county-direct schools, a school) for
    a closed school year, frozen when the year-end rollover closed it (dashboards.yearfigures):
    what the year-end review (回头看 / 年度考核) and next year's dashboards compare against.
    `figures` holds the keys of `dashboards.yearfigures.FIGURES`; `unit` is "county", "direct",
    "t<township id>" or "s<school id>"."""

    class Level(models.TextChoices):
        COUNTY = "county", _("全县")
        TOWNSHIP = "township", _("乡镇")
        DIRECT = "direct", _("县直学校")
        SCHOOL = "school", _("学校")

    year = models.PositiveSmallIntegerField(_("学年"))
    unit = models.CharField(max_length=24)
    level = models.CharField(_("层级"), max_length=10, choices=Level)
    township = models.ForeignKey("students.Township", null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+", db_index=False)
    school = models.ForeignKey("students.School", null=True, blank=True, on_delete=models.PROTECT,
                               related_name="+", db_index=False)
    figures = models.JSONField(default=dict)
    frozen_at = models.DateTimeField(_("冻结时间"))

    objects = YearFiguresQuerySet.as_manager()

    class Meta:
        ordering = ["-year", "unit"]
        verbose_name = _("学年统计（结转时冻结）")
        verbose_name_plural = _("学年统计（结转时冻结）")
        constraints = [models.UniqueConstraint(fields=["year", "unit"], name="one_year_figures_per_unit")]

    def __str__(self) -> str:
        return f"{self.year} {self.unit}"
