"""Scoped querysets of the core models; see kongchuo.access.scoping for the rules."""

from __future__ import annotations

from django.apps import apps
from django.db.models import Q

from kongchuo.access.scoping import OVERSIGHT_TOWNSHIP, ScopedQuerySet


class TownshipQuerySet(ScopedQuerySet):
    """A township is seen by its own staff and government whatever the oversight of its schools,
    and by each school inside it."""

    def in_school(self, school_id: int):
        return self.filter(schools__pk=school_id)

    def in_township(self, township_id: int):
        return self.filter(pk=township_id)

    def for_township_gov(self, township_id: int):
        return self.filter(pk=township_id)


class SchoolQuerySet(ScopedQuerySet):
    school_path = ""

    def for_township_gov(self, township_id: int):
        # The government reads its township's schools by name on escalated cases.
        return self.filter(township_id=township_id, oversight=OVERSIGHT_TOWNSHIP)

    def county_direct(self):
        return self.exclude(oversight=OVERSIGHT_TOWNSHIP)


class StudentQuerySet(ScopedQuerySet):
    school_path = "school"

    def search(self, text: str):
        """Name, pinyin initials, last 4 of the ID, or a full 学籍号/ID."""
        text = (text or "").strip()
        if not text:
            return self
        if text.isdigit() or text[-1:].upper() == "X":
            if len(text) <= 4:
                return self.filter(id_number__endswith=text.upper())
            return self.filter(Q(id_number=text.upper()) | Q(student_number=text))
        if text.isascii() and text.isalpha():
            return self.filter(name_initials__startswith=text.lower())
        return self.filter(name__contains=text)


class StatusChangeQuerySet(ScopedQuerySet):
    school_path = "student__school"


class SupportMarkQuerySet(ScopedQuerySet):
    """Support-list rows reach a school through their student; a row of a child found in no
    school reaches the township of its 户籍 (the list's 户籍乡镇, else a census row of the
    township), else the county only."""

    school_path = "student__school"

    def in_township(self, township_id: int):
        # Through the app registry: students.models imports this module, not the reverse.
        census_entries = apps.get_model("students", "CensusEntry").objects
        census = census_entries.filter(township_id=township_id).values("id_number")  # any year
        return self.filter(
            Q(student__school__township_id=township_id, student__school__oversight=OVERSIGHT_TOWNSHIP)
            | Q(student__isnull=True, township_id=township_id)
            | Q(student__isnull=True, township__isnull=True, id_number__in=census))


class TransferRequestQuerySet(ScopedQuerySet):
    """A transfer is seen by both sides: whoever sees the sending or the receiving school."""

    school_path = "from_school"

    def in_school(self, school_id: int):
        return self.filter(Q(from_school_id=school_id) | Q(to_school_id=school_id))

    def in_township(self, township_id: int):
        return self.filter(
            Q(from_school__township_id=township_id, from_school__oversight=OVERSIGHT_TOWNSHIP)
            | Q(to_school__township_id=township_id, to_school__oversight=OVERSIGHT_TOWNSHIP))


class RosterGapQuerySet(ScopedQuerySet):
    school_path = "school"


class CensusEntryQuerySet(ScopedQuerySet):
    """Census rows belong to a township, not a school: schools never see them, the township's
    staff and government do."""

    def in_school(self, school_id: int):
        return self.none()

    def in_township(self, township_id: int):
        return self.filter(township_id=township_id)

    def for_township_gov(self, township_id: int):
        return self.filter(township_id=township_id)
