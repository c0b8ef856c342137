"""Scoped querysets of the core models; see kongchuo.scoping for the rules."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from kongchuo.scoping import OVERSIGHT_TOWNSHIP, Role, ScopedQuerySet, scope_of


class TownshipQuerySet(models.QuerySet):
    def visible_to(self, user):
        scope = scope_of(user)
        if scope is None:
            return self.none()
        if scope.role == Role.COUNTY:
            return self.all()
        if scope.role in (Role.TOWNSHIP, Role.TOWNSHIP_GOV):
            return self.filter(pk=scope.township_id)
        return self.filter(schools__pk=scope.school_id)


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
    """Support-list rows reach a school through their student; unmatched rows: county only."""

    school_path = "student__school"


class CensusEntryQuerySet(models.QuerySet):
    def visible_to(self, user):
        scope = scope_of(user)
        if scope is None:
            return self.none()
        if scope.role == Role.COUNTY:
            return self.all()
        if scope.role in (Role.TOWNSHIP, Role.TOWNSHIP_GOV):
            return self.filter(township_id=scope.township_id)
        return self.none()
