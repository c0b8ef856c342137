"""劝返超期 (daily): open cases with no attempt for 7 days, escalations unanswered past their
deadline — raised to the next level.

The cases are part of the 劝返 workflow (`retrieval.cases`); which ones are overdue is decided
there, by `retrieval.cases.selectors.overdue_cases(as_of)` (one dict per overdue case, with the level
the alert must go to; set-based, two queries). One alert per case and kind: period
``case<id>-na`` (no attempt) or ``case<id>-esc`` (escalation unanswered), subject = the child's
身份证件号. When the case is worked again the alert resolves; if it lapses again the same alert
re-opens. The run's own period is the as-of date.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from kongchuo.access.scoping import OVERSIGHT_TOWNSHIP
from retrieval.cases import selectors as case_selectors
from retrieval.models import Alert
from retrieval.sweeps.base import DIRECT, Context, Finding, Partition, Rows, Sweep
from students.models import School, Township

DUE_DAYS = 3
KIND_CODE = {"no_attempt": "na", "escalation_unanswered": "esc"}


def _overdue_source(as_of: dt.date) -> list[dict]:
    rows = []
    for r in case_selectors.overdue_cases(as_of):
        rows.append({
            "period": f"case{r['case_id']}-{KIND_CODE.get(r['kind'], r['kind'][:3])}",
            "subject": r["id_number"], "student_id": r["student_id"], "name": r["name"],
            "school_id": r["school_id"], "township_id": r["township_id"], "level": r["level"],
            "detail": {"kind": r["kind"], "case": r["case_id"], "since": r["since"]},
        })
    return rows


def _partition_key(row: dict, schools: dict, townships: dict) -> str:
    if row["school_id"]:
        township_code, oversight = schools[row["school_id"]]
        return township_code if oversight == OVERSIGHT_TOWNSHIP else DIRECT
    if row["township_id"]:
        return townships[row["township_id"]]
    return DIRECT


def build(ctx: Context, partition: Partition) -> list[Rows]:
    rows = _overdue_source(ctx.as_of)
    schools = {pk: (code, ov) for pk, code, ov in
               School.objects.values_list("pk", "township__code", "oversight")}
    townships = dict(Township.objects.values_list("pk", "code"))
    due_date = ctx.as_of + dt.timedelta(days=DUE_DAYS)
    mine = []
    for row in rows:
        if _partition_key(row, schools, townships) == partition.key:
            mine.append({**row, "due_date": due_date})
    return [Rows(rows=mine)]


SWEEP = Sweep(
    name="overdue",
    label=_("劝返超期督办"),
    window=_("每日"),
    period=lambda as_of: as_of.isoformat(),
    findings=(Finding(Alert.Rule.OVERDUE, build, existing=lambda ctx: Q()),),
)
