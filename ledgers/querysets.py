"""Scoped querysets of the ledgers; see kongchuo.access.scoping."""

from __future__ import annotations

from kongchuo.access.scoping import ScopedQuerySet


class StudentLedgerQuerySet(ScopedQuerySet):
    """Entries about one student: scoped through the student's school."""

    school_path = "student__school"


class SchoolLedgerQuerySet(ScopedQuerySet):
    """Entries kept by a school (publicity, parent meetings, deferral applications)."""

    school_path = "school"


class VisitQuerySet(ScopedQuerySet):
    school_path = "plan__student__school"


class NoteQuerySet(ScopedQuerySet):
    school_path = "plan__student__school"
