"""Scoped querysets of the dashboards app; see kongchuo.access.scoping."""

from __future__ import annotations

from django.db.models import Q

from kongchuo.access.scoping import OVERSIGHT_TOWNSHIP, ScopedQuerySet


class CohortIntakeQuerySet(ScopedQuerySet):
    school_path = "school"


class YearFiguresQuerySet(ScopedQuerySet):
    """A school sees its own row; a township its schools' rows and its own; the county all
    (county and county-direct rows are the county's)."""

    school_path = "school"

    def in_township(self, township_id: int):
        return self.filter(Q(school__township_id=township_id, school__oversight=OVERSIGHT_TOWNSHIP)
                           | Q(school__isnull=True, level="township", township_id=township_id))
