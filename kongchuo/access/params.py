"""Numeric query parameters, parsed with bounds (issue 15 finding 5).

A hand-edited link (`?school=99999999999999999999`, `?township=abc`, `?year=²`) must never reach
the database as an integer the column cannot hold: SQLite raises OverflowError above 2**63-1 and
PostgreSQL a DataError above an integer column's range, both a server error. Every view that
reads a number from the query string goes through `bounded_int`; garbage means "no filter".
"""

from __future__ import annotations

import re
import unicodedata

# Django's AutoField on PostgreSQL is `integer`; BigAutoField ids stay far below this too.
ID_MAX = 2**31 - 1
_NUMBER = re.compile(r"[+-]?[0-9]{1,12}")


def bounded_int(raw: object, *, low: int = 1, high: int = ID_MAX) -> int | None:
    """The integer in `raw` if it lies in [low, high], else None.

    Full-width digits ("１２") count as the digits they look like (NFKC); any other character,
    an empty value or a number outside the bounds gives None, never an exception.
    """
    if raw is None:
        return None
    text = unicodedata.normalize("NFKC", str(raw)).strip()
    if not _NUMBER.fullmatch(text):
        return None
    value = int(text)
    return value if low <= value <= high else None


def query_int(data, name: str, *, low: int = 1, high: int = ID_MAX) -> int | None:
    """`bounded_int` of one query parameter (the last one when it is repeated)."""
    return bounded_int(data.get(name), low=low, high=high)
