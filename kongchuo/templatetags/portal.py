"""Filters every page may use to name things as people do (never a code)."""

from __future__ import annotations

from django import template

from kongchuo.calendar import schoolyear
from kongchuo.jobs.crontab import cron_label

register = template.Library()


@register.filter
def term_label(code) -> str:
    """{{ entry.term|term_label }} → 2026年秋季学期."""
    return schoolyear.term_label(str(code or ""))


@register.filter
def crontab_label(crontab) -> str:
    """A django-celery-beat CrontabSchedule in words: 每年2、3、9月每日1:10."""
    if crontab is None:
        return ""
    return cron_label(crontab.minute, crontab.hour, crontab.day_of_month, crontab.month_of_year,
                      crontab.day_of_week)


@register.filter
def period_label(value) -> str:
    """{{ alert.period|period_label }}: a term, month, day or year in words."""
    return schoolyear.period_label(str(value or ""))
