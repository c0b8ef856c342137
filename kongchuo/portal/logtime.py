"""One time zone in every log line, with its offset: the portal's TIME_ZONE (Asia/Shanghai).

Django's console handler (settings.LOGGING) formats with `ZonedFormatter`; Celery's worker and
beat handlers keep Celery's layout but get the same clock (`zone_celery_handlers`, connected in
kongchuo/security/receivers.py beside the redaction filter); gunicorn's own lines take the zone
from TZ, which gunicorn.conf.py sets to the same TIME_ZONE. A line reads
`2026-03-02T08:15:04.123+08:00 INFO kongchuo.jobs …` whatever the server's system zone.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from zoneinfo import ZoneInfo

# The same value as settings.TIME_ZONE (a test holds them equal); a constant here so gunicorn's
# configuration can read it without loading Django's settings.
TIME_ZONE = "Asia/Shanghai"


def zoned_time(record: logging.LogRecord, datefmt: str | None = None, *, tz: ZoneInfo) -> str:
    """ISO 8601 with milliseconds and the offset: 2026-03-02T08:15:04.123+08:00."""
    return datetime.fromtimestamp(record.created, tz).isoformat(timespec="milliseconds")


class ZonedFormatter(logging.Formatter):
    def __init__(self, fmt=None, datefmt=None, style="%", validate=True, *, tz: str = TIME_ZONE):
        super().__init__(fmt, datefmt, style, validate)
        self.zone = ZoneInfo(tz)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return zoned_time(record, datefmt, tz=self.zone)


def zone_formatter(formatter: logging.Formatter | None, tz: str = TIME_ZONE) -> None:
    """Give an existing formatter (Celery's, with its own layout) the zoned clock."""
    if formatter is not None and not isinstance(formatter, ZonedFormatter):
        # Celery builds this formatter with its own class: its clock is replaced on the instance.
        formatter.formatTime = partial(zoned_time, tz=ZoneInfo(tz))  # type: ignore[method-assign]


def zone_celery_handlers(logger=None, **kwargs) -> None:
    """Celery's after_setup_logger / after_setup_task_logger: its handlers, the portal's clock."""
    if logger is None:
        return
    for handler in logger.handlers:
        zone_formatter(handler.formatter)
