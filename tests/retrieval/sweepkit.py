"""Helpers for the sweep tests: hand-built children, dated history, and reading alerts back."""

from __future__ import annotations

import datetime as dt
import itertools

from kongchuo.access.idnumbers import make_id
from retrieval.models import Alert
from retrieval.sweeps.runner import sweep_run_now
from students.models import CensusEntry, StatusChange, Student
from tests.factories import StudentFactory

_seq = itertools.count(300)


def new_id(birth: dt.date) -> str:
    return make_id("341522", birth, next(_seq))


def student(school, *, birth: dt.date | None = None, grade: int = 4, status: str = "enrolled",
            hukou=None, **extra) -> Student:
    kwargs = {"school": school, "grade": grade, "status": status,
              "hukou_township": hukou or school.township, **extra}
    if birth is not None:
        kwargs["id_number"] = new_id(birth)
    return StudentFactory(**kwargs)


def change(st: Student, kind: str, on: dt.date, *, to_status: str = "", from_status: str = "",
           end: dt.date | None = None, from_school=None, to_school=None) -> StatusChange:
    """A history row written directly (tests build the past; the service applies the present)."""
    return StatusChange.objects.create(
        student=st, kind=kind, effective_date=on, end_date=end,
        from_status=from_status or "enrolled", to_status=to_status or from_status or "enrolled",
        from_school=from_school or st.school, to_school=to_school, source="seed")


def census(township, birth: dt.date, *, year: int, id_number: str | None = None,
           name: str = "户籍儿童") -> CensusEntry:
    return CensusEntry.objects.create(
        year=year, id_number=id_number or new_id(birth), name=name,
        sex="M", birth_date=birth, township=township)


def run(name: str, as_of: dt.date, township: str | None = None):
    r = sweep_run_now(sweep=name, as_of=as_of, township=township)
    assert r.status == "succeeded", r.message or r.per_township
    return r


def alerts(rule: str | None = None, **filters) -> dict[str, Alert]:
    """Alerts by subject (one rule at a time keeps subjects unique)."""
    qs = Alert.objects.all()
    if rule:
        qs = qs.filter(rule=rule)
    return {a.subject: a for a in qs.filter(**filters)}


def snapshot(**filters) -> set[tuple]:
    """What a run leaves behind, for comparing runs: identity, routing and status."""
    return set(Alert.objects.filter(**filters).values_list(
        "rule", "period", "subject", "student_id", "school_id", "township_id", "level", "status"))
