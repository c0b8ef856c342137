"""A cron schedule as a sentence: "10 1 * 2,3,9 *" → 每年2、3、9月每日1:10.

Beat's schedules (django-celery-beat's CrontabSchedule) are stored as the five cron fields; the
pages show them in words. Lists (2,3,9), ranges (1-5) and steps (*/10) are read; a field in any
other form is shown as written.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

_DAY_NAMES = (gettext_lazy("周日"), gettext_lazy("周一"), gettext_lazy("周二"), gettext_lazy("周三"), gettext_lazy("周四"), gettext_lazy("周五"),
              gettext_lazy("周六"))
_WEEKDAYS = {**{str(i): _DAY_NAMES[i % 7] for i in range(8)},
             **{d: _DAY_NAMES[i] for i, d in enumerate(("sun", "mon", "tue", "wed", "thu", "fri", "sat"))}}
_PLAIN = re.compile(r"^[0-9a-z,\-]+$")


def _items(field: str, name=lambda v: v) -> str:
    """2,3,9 → 2、3、9; 1-5 → 1至5 (each part named by `name`)."""
    parts = []
    for part in field.split(","):
        lo, _sep, hi = part.partition("-")
        parts.append(_("%(lo)s至%(hi)s") % {"lo": name(lo), "hi": name(hi)} if hi else name(lo))
    return pgettext("list separator", "、").join(parts)


def _step(field: str) -> str | None:
    if field.startswith("*/") and field[2:].isdigit():
        return field[2:]
    return None


def _time(minute: str, hour: str) -> str | None:
    if minute.isdigit() and re.fullmatch(r"\d+(,\d+)*", hour):
        return pgettext("list separator", "、").join(f"{int(h)}:{int(minute):02d}" for h in hour.split(","))
    every_minute = _("第%(m)s分") % {"m": int(minute)} if minute.isdigit() and int(minute) else ""
    if hour == "*" and (n := _step(minute)) is not None:
        return _("每%(n)s分钟") % {"n": n}
    if hour == "*" and minute.isdigit():
        return _("每小时") + every_minute
    if (n := _step(hour)) is not None and minute.isdigit():
        return _("每%(n)s小时") % {"n": n} + every_minute
    return None


def cron_label(minute: str, hour: str, day_of_month: str, month_of_year: str, day_of_week: str) -> str:
    fields = [str(f).strip().lower() for f in (minute, hour, day_of_month, month_of_year, day_of_week)]
    minute, hour, dom, month, dow = fields
    time = _time(minute, hour)
    if time is None or not all(f == "*" or _step(f) or _PLAIN.match(f) for f in fields):
        return " ".join(fields)
    out = ""
    if month != "*":
        out += _("每年%(months)s月") % {"months": _items(month)}
    if dom != "*":
        out += (_("每月%(days)s日") if month == "*" else _("%(days)s日")) % {"days": _items(dom)}
    if dow != "*":
        out += _("每%(days)s") % {"days": _items(dow, lambda d: str(_WEEKDAYS.get(d, d)))}
    if dom == "*" and dow == "*" and (month != "*" or time[0].isdigit()):
        out += pgettext("schedule", "每日")
    return out + time
