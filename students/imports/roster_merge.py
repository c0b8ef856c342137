"""How a roster's row meets the stored student, for both of the roster's write paths (the ORM:
students/imports/roster.py; SQL on PostgreSQL: students/imports/roster_pg.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext_noop

from kongchuo.access.idnumbers import mask_id
from kongchuo.imports.base import ImportContext, RowStream
from kongchuo.imports.merge import KEEP_IF_BLANK, NEVER_CLEAR, OVERWRITE, merge_rules
from students.models import Student

ACTIVE = (Student.Status.ENROLLED, Student.Status.SUSPENDED)  # at school: "missing" if absent
MISSING_SAMPLE = 20

# Per stored column: "keep" (a blank cell keeps what is stored), "never clear" (the support
# flags: only ever set by a roster, the support lists are their authority) or "overwrite".
ROSTER_MERGE = merge_rules(Student, {
    "school_id": OVERWRITE, "grade": OVERWRITE, "name": OVERWRITE, "sex": OVERWRITE,
    "birth_date": OVERWRITE, "class_name": KEEP_IF_BLANK, "student_number": KEEP_IF_BLANK,
    "hukou_address": KEEP_IF_BLANK, "hukou_township_id": KEEP_IF_BLANK, "address": KEEP_IF_BLANK,
    "guardian_name": KEEP_IF_BLANK, "guardian_phone": KEEP_IF_BLANK,
    "disability_category": KEEP_IF_BLANK, "entry_month": KEEP_IF_BLANK,
    "is_poor": NEVER_CLEAR, "is_dibao": NEVER_CLEAR, "is_tekun": NEVER_CLEAR,
    "is_left_behind": OVERWRITE, "is_migrant": OVERWRITE,
})
ROSTER_SOURCE = {"school_id": "school_code", "hukou_township_id": "hukou_address"}
# The warning on a row whose child the database holds as not at school.
STATUS_NOT_ENROLLED = gettext_noop("该生当前状态为“%(status)s”，名册中仍在籍，请核实")


def roster_columns(ctx: ImportContext) -> list[str]:
    """The stored columns this file speaks for (a column the file lacks is left alone)."""
    return [col for col in ROSTER_MERGE
            if col in ("school_id", "sex", "birth_date") or ROSTER_SOURCE.get(col, col) in ctx.present]


@dataclass(frozen=True)
class RosterAsk:
    """A row naming an existing child of a school outside the importer's scope: counted in
    the preview exactly as a new child (no oracle), written as a 转入申请 that the child's
    school confirms (students.transfers.transfers_in_request_bulk), never as a move."""

    row: int
    student_id: int
    school_id: int  # the receiving school (the row's, in the importer's scope)
    grade: int
    class_name: str


def roster_is_intake(status: str, grade: int, name: str, r: Any, ctx: ImportContext) -> bool:
    """A primary graduate's September intake: a child 毕业 from grade 6 (小学毕业: enrolled
    nowhere since the rollover) may be enrolled by any school of the county teaching grade 7,
    into grade 7, when the file names the child as the record does. Never an enrolled child."""
    return (status == Student.Status.GRADUATED and grade == 6 and r.grade == 7
            and r.school_id in ctx.state["grade7"] and name == r.name)


def roster_missing_collect(found: Iterable[tuple], covered: list[int], rows: RowStream, ctx: ImportContext
                           ) -> tuple[int, list[dict]]:
    """Count and sample the students at school in the schools the file covers, `found` as
    (id, school id, ID number, name, school name, grade), whose ID number is not in the file;
    kept in ctx.state for the term's roster gaps (RosterImport.record_gaps)."""
    in_file = {k[0] for k in rows.keys_seen}
    count, sample, missing = 0, [], []
    for pk, school_id, id_number, name, school, grade in found:
        if id_number in in_file:
            continue
        count += 1
        missing.append((pk, school_id))
        if len(sample) < MISSING_SAMPLE:
            sample.append({"name": name, "id_number": mask_id(id_number), "school": school, "grade": grade})
    ctx.state["roster_gaps"] = (covered, missing, in_file)
    return count, sample
