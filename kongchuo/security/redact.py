"""Logging filter: no resident ID, mobile number, password or session id reaches a log line.

Attached to every handler in settings.LOGGING (and to Celery's handlers by the receivers), so a
message formatted anywhere — Django's request log, an exception's text, a library's warning —
is masked before it is written. Masking reuses `kongchuo.access.idnumbers` so pages and logs agree.
"""

from __future__ import annotations

import logging
import re

from kongchuo.access.idnumbers import mask_ids_in_text, mask_phone

# Mainland mobile numbers: 11 digits starting 13–19, not part of a longer digit run.
_PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
# key=value / "key": "value" pairs whose value is a secret.
_SECRET = re.compile(
    r"(?i)(?P<key>\b(?:password\d?|passwd|sessionid|session_key|csrftoken|csrfmiddlewaretoken|"
    r"otp_token|secret|token)\b)(?P<sep>['\"]?\s*[:=]\s*['\"]?)(?P<value>[^\s&'\",;}]+)"
)


def redact(text: str) -> str:
    """Mask IDs (341522********123X), phones (138****0000) and secret key/value pairs."""
    if not text:
        return text
    text = _SECRET.sub(lambda m: f"{m['key']}{m['sep']}***", text)
    text = mask_ids_in_text(text)  # by shape, with the importer's quirks (issue 15)
    return _PHONE.sub(lambda m: mask_phone(m.group(0)), text)


class RedactFilter(logging.Filter):
    """Rewrites the record in place (message, exception and stack text); never drops it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed %-format must still be logged, masked
            message = f"{record.msg} {record.args}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
