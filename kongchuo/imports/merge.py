"""Merge rules: how a file's value meets the stored one, declared once per column (`{column:
rule}`), so that the ORM path (a row's merged value) and the set-based merge on PostgreSQL
(its SQL expression over a staging table) cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models

OVERWRITE = "overwrite"  # the file's value replaces the stored one
KEEP_IF_BLANK = "keep_if_blank"  # a blank cell keeps the stored value
NEVER_CLEAR = "never_clear"  # a flag the file may set but never clears
RULES = (OVERWRITE, KEEP_IF_BLANK, NEVER_CLEAR)


@dataclass(frozen=True)
class MergeRule:
    column: str
    how: str
    blank: Any = None  # what a new row stores for a blank cell: '' (text), False (flag), None

    def value(self, old: Any, new: Any) -> Any:
        """The merged value of one row (`old` None for a new row)."""
        if self.how == KEEP_IF_BLANK:
            return old if new in (None, "") else new
        if self.how == NEVER_CLEAR:
            return bool(old) or bool(new)
        return new

    def new_value(self, new: Any) -> Any:
        """A new row's value: the merged value, a blank stored as the column's blank."""
        value = self.value(None, new)
        return self.blank if value is None else value

    def sql(self, stage: str = "s", target: str = "t") -> str:
        """The merged value as SQL over a staging row (a blank cell is NULL there)."""
        new, old = f'{stage}."{self.column}"', f'{target}."{self.column}"'
        if self.how == KEEP_IF_BLANK:
            return f"COALESCE({new}, {old})"
        if self.how == NEVER_CLEAR:
            return f"({old} OR COALESCE({new}, false))"
        return new

    def new_sql(self, stage: str = "s") -> str:
        """A new row's value as SQL over a staging row."""
        new = f'{stage}."{self.column}"'
        if self.blank is None:
            return new
        return f"COALESCE({new}, {'false' if self.blank is False else repr(self.blank)})"


def merge_rules(model: type[models.Model], rules: dict[str, str]) -> dict[str, MergeRule]:
    """The rules of `model`'s columns, each with its blank taken from the model field."""
    out = {}
    for column, how in rules.items():
        if how not in RULES:
            raise ValueError(f"unknown merge rule {how!r} for {column}")
        field = model._meta.get_field(column.removesuffix("_id"))
        blank: Any = None
        if isinstance(field, models.BooleanField):
            blank = False
        elif isinstance(field, (models.CharField, models.TextField)):
            blank = ""
        out[column] = MergeRule(column, how, blank)
    return out


def changed_sql(rules: dict[str, MergeRule], columns: list[str], stage: str = "s", target: str = "t") -> str:
    """True where merging the staging row would change the stored one."""
    old = ", ".join(f'{target}."{c}"' for c in columns)
    new = ", ".join(rules[c].sql(stage, target) for c in columns)
    return f"ROW({old}) IS DISTINCT FROM ROW({new})"
