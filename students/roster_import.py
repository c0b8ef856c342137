"""Until students/roster_pg.py imports these from students.imports(.roster_merge), where they live."""

from students.imports import InitialsCache, initials_for
from students.imports.roster_merge import (
    ACTIVE,
    ROSTER_MERGE,
    STATUS_NOT_ENROLLED,
    RosterAsk,
    roster_columns,
    roster_is_intake,
    roster_missing_collect,
)

__all__ = ["ACTIVE", "ROSTER_MERGE", "STATUS_NOT_ENROLLED", "InitialsCache", "RosterAsk", "initials_for",
           "roster_columns", "roster_is_intake", "roster_missing_collect"]
