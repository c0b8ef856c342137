"""Resident ID numbers (身份证件号, GB 11643-1999): normalise, validate, derive, mask.

The one place the portal interprets an ID number. Imports, forms, the demo seeder and
display all go through here, so the rules (and the error codes users see) cannot drift.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from stdnum.cn import ric

# Error codes are a contract shared with the import engine (issue 3).
REQUIRED_MISSING = "required_missing"
ID_FORMAT = "id_format"
ID_NUMERIC = "id_numeric"
ID_CHECKSUM = "id_checksum"
ID_BIRTHDATE = "id_birthdate"

_WHITESPACE = re.compile(r"\s+", re.UNICODE)
_SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")
_SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class IdNumberError(ValueError):
    code: str
    value: str

    def __str__(self) -> str:
        return f"{self.code}: {self.value!r}"


def normalize_id(raw: object) -> str:
    """NFKC, drop every whitespace (U+3000 too) and a leading apostrophe, upper-case x.

    Accepts what Excel readers hand over; a float or int means Excel already stored the ID as
    a number and lost digits, which `validate_id` reports as `id_numeric`.
    """
    if raw is None:
        return ""
    text = unicodedata.normalize("NFKC", str(raw))
    text = _WHITESPACE.sub("", text)
    text = text.lstrip("'‘’`")
    return text.upper()


def validate_id(raw: object) -> str:
    """Return the normalised ID or raise IdNumberError with a distinct code per failure."""
    if isinstance(raw, bool):
        raise IdNumberError(ID_FORMAT, str(raw))
    if isinstance(raw, (int, float)):
        raise IdNumberError(ID_NUMERIC, str(raw))
    value = normalize_id(raw)
    if not value:
        raise IdNumberError(REQUIRED_MISSING, value)
    if re.fullmatch(r"\d+(\.\d+)?[Ee]\+?\d+", value):
        # "3.41522E+17": the cell was a number before it became text.
        raise IdNumberError(ID_NUMERIC, value)
    if not _SHAPE.match(value):
        raise IdNumberError(ID_FORMAT, value)
    try:
        birth = ric.get_birth_date(value)
    except Exception as exc:  # stdnum raises InvalidComponent for an impossible date
        raise IdNumberError(ID_BIRTHDATE, value) from exc
    if birth < dt.date(1900, 1, 1) or birth > dt.datetime.now(_SHANGHAI).date():
        raise IdNumberError(ID_BIRTHDATE, value)
    if ric.calc_check_digit(value) != value[-1]:
        raise IdNumberError(ID_CHECKSUM, value)
    return value


def is_valid_id(raw: object) -> bool:
    try:
        validate_id(raw)
    except IdNumberError:
        return False
    return True


@functools.lru_cache(maxsize=65536)  # ~40,000 birthdays in a century: a county's IDs share them
def birth_date_from_digits(digits: str) -> dt.date | None:
    """The date written as digits 7–14 of an ID ("20120506"), or None if it is no calendar date."""
    try:
        return dt.date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def birth_date_of(id_number: str) -> dt.date:
    """Birth date encoded in a valid ID (digits 7–14)."""
    born = birth_date_from_digits(id_number[6:14])
    if born is None:
        raise ValueError(f"no birth date in digits 7–14: {id_number[6:14]!r}")
    return born


def sex_of(id_number: str) -> str:
    """'M' or 'F' from the 17th digit (odd = male)."""
    return "M" if int(id_number[16]) % 2 else "F"


def area_of(id_number: str) -> str:
    return id_number[:6]


def check_digit(first17: str) -> str:
    return ric.calc_check_digit(first17 + "0")


def make_id(area: str, birth: dt.date, sequence: int) -> str:
    """Build a valid ID: 6-digit area, birth date, 3-digit sequence (its parity is the sex)."""
    body = f"{area}{birth:%Y%m%d}{sequence % 1000:03d}"
    return body + check_digit(body)


def mask_id(id_number: str | None) -> str:
    """341522********123X: area code and the last four stay visible."""
    if not id_number:
        return ""
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


# An ID as people type it into free text or a cell: 17 digits and a check character, digits
# possibly full-width (any Unicode decimal digit), spaces (U+3000 too) between them, a lower-case
# or full-width x; not part of a longer run of digits. A leading apostrophe stays outside the
# match (it shows nothing). Matched spans are normalised with `normalize_id`, the importer's own
# rule, before masking, so a quirk the importer accepts is a quirk the mask catches.
_ID_IN_TEXT = re.compile(r"(?<!\d)(?:\d\s*){17}[\dXxＸｘ](?!\d)")
# A cell Excel stored as a number: 15+ digits is an ID that lost its last digits (or a
# card number), never a count the portal needs to show.
_LONG_NUMBER = 10**14


def mask_ids_in_text(text: str | None) -> str:
    """Every ID-shaped run inside `text` masked as `mask_id` does ("学籍号 G341522********123X").

    By shape, not by equality: the caller need not know which ID to look for, and a guardian's
    ID, a note's ID and a 全国学籍号 ("G" + the ID) are masked alike.
    """
    if not text or len(text) < 18:  # too short for 18 digits: the common case, no regex
        return "" if text is None else text
    return _ID_IN_TEXT.sub(lambda m: mask_id(normalize_id(m.group(0))), text)


def mask_ids_in_value(value: object) -> object:
    """`mask_ids_in_text` for a cell of any type: text is masked in place; an integer or float of
    15 or more digits (an ID Excel kept as a number) becomes its masked text; others pass."""
    if isinstance(value, str):
        return mask_ids_in_text(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    if isinstance(value, float) and value != value:  # NaN
        return value
    if abs(value) >= _LONG_NUMBER:
        try:
            return mask_id(str(int(value)))
        except (OverflowError, ValueError):  # inf
            return value
    return value


def mask_phone(phone: str | None) -> str:
    """138****0000."""
    if not phone:
        return ""
    digits = phone.strip()
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
