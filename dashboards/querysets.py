"""Scoped querysets of the dashboards app; see kongchuo.scoping."""

from __future__ import annotations

from kongchuo.scoping import ScopedQuerySet


class CohortIntakeQuerySet(ScopedQuerySet):
    school_path = "school"
