"""Writes of the dashboards app: cohort intake counts (imported from a sheet or keyed in)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from django.db import transaction

from dashboards.models import CohortIntake
from kongchuo.audit import audit_record
from kongchuo.imports.cells import CellError, TabularError, parse_text
from kongchuo.imports.tabular import Column, find_header, iter_records, read_rows
from kongchuo.scoping import Role, scope_of
from students.models import School

INTAKE_COLUMNS = [
    Column("year", ["入学年份", "年度", "入学年度", "year"], required=True),
    Column("school_code", ["学校标识码", "学校代码", "school_code"], required=True),
    Column("school_name", ["学校名称", "学校"]),
    Column("grade1_count", ["一年级入学人数", "一年级人数", "入学人数", "grade1_count"], required=True),
    Column("transfers_in", ["系统外转入", "转入人数", "转入"]),
    Column("transfers_out", ["系统外转出", "转出人数", "转出"]),
    Column("deaths", ["系统外死亡", "死亡人数", "死亡"]),
    Column("abroad", ["系统外出国", "出国人数", "出国"]),
    Column("note", ["备注"]),
]
TEMPLATE_HEADERS = ["入学年份", "学校标识码", "学校名称", "一年级入学人数", "系统外转入", "系统外转出",
                    "系统外死亡", "系统外出国", "备注"]
MAX_INTAKE_ROWS = 20_000  # ~300 schools × decades is far below this


class IntakeImportError(Exception):
    """The whole file is refused; message is bilingual (Chinese first)."""


@dataclass
class IntakeImportResult:
    created: int = 0
    updated: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # (row, column, message)

    @property
    def ok(self) -> bool:
        return not self.errors


def _count(value, *, required: bool) -> int:
    text = parse_text(value, required=required)
    if not text:
        return 0
    try:
        number = float(text)
    except ValueError as exc:
        raise CellError("value_invalid", hint_zh=f"“{text[:20]}”应为非负整数",
                        hint_en=f"{text[:20]!r} must be a whole number") from exc
    if number < 0 or number != int(number) or number > 100_000:
        raise CellError("value_invalid", hint_zh=f"“{text[:20]}”应为非负整数",
                        hint_en=f"{text[:20]!r} must be a whole number")
    return int(number)


def _year(value) -> int:
    year = _count(value, required=True)
    if not 2000 <= year <= 2100:
        raise CellError("value_invalid", hint_zh=f"入学年份“{year}”不在2000–2100之间",
                        hint_en=f"year {year} is outside 2000–2100")
    return year


@transaction.atomic
def cohort_intakes_import(*, user, path: str | os.PathLike[str], filename: str = "",
                          request=None) -> IntakeImportResult:
    """Upsert grade-1 intake counts from an xlsx/xls/csv sheet, all or nothing.

    County users only (the counts feed the county's 巩固率). Rows are matched on (入学年份,
    学校标识码); a row for an existing pair replaces its counts. Any row error refuses the
    whole file and lists every error, so a half-imported cohort never skews the rate.
    """
    scope = scope_of(user)
    if scope is None or scope.role != Role.COUNTY:
        raise PermissionError("only county users import cohort intake counts")
    try:
        rows = read_rows(path, max_rows=MAX_INTAKE_ROWS)
        header = find_header(rows, INTAKE_COLUMNS)
    except TabularError as exc:
        raise IntakeImportError(f"{exc.message('zh')} / {exc.message('en')}") from exc
    schools = dict(School.objects.values_list("code", "pk"))
    result = IntakeImportResult()
    parsed: dict[tuple[int, int], dict] = {}
    labels = {c.key: c.labels[0] for c in INTAKE_COLUMNS}
    for record in iter_records(rows, header):
        values: dict = {}
        for key, parse in (
            ("year", _year),
            ("school_code", lambda v: parse_text(v, required=True, max_length=10)),
            ("grade1_count", lambda v: _count(v, required=True)),
            ("transfers_in", lambda v: _count(v, required=False)),
            ("transfers_out", lambda v: _count(v, required=False)),
            ("deaths", lambda v: _count(v, required=False)),
            ("abroad", lambda v: _count(v, required=False)),
            ("note", lambda v: parse_text(v, max_length=200)),
        ):
            try:
                values[key] = parse(record.get(key))
            except CellError as exc:
                result.errors.append((record.row, labels[key], f"{exc.message('zh')} / {exc.message('en')}"))
        if "school_code" in values and values["school_code"] not in schools:
            result.errors.append((record.row, labels["school_code"],
                                  f"学校标识码“{values['school_code']}”不存在 / unknown school code"))
            continue
        if len(values) < 8:
            continue
        pair = (values["year"], schools[values["school_code"]])
        if pair in parsed:
            result.errors.append((record.row, labels["school_code"],
                                  "同一学校同一年份重复 / duplicate school and year in the file"))
            continue
        parsed[pair] = values
    if not parsed and not result.errors:
        result.errors.append((0, "", "文件中没有数据行 / the file holds no data rows"))
    if result.errors:
        return result

    existing = {(i.year, i.school_id): i for i in CohortIntake.objects.filter(
        year__in={y for y, _ in parsed}, school_id__in={s for _, s in parsed})}
    new, changed = [], []
    fields = ("grade1_count", "transfers_in", "transfers_out", "deaths", "abroad", "note")
    for (year, school_id), values in parsed.items():
        row = existing.get((year, school_id))
        if row is None:
            new.append(CohortIntake(year=year, school_id=school_id, source="import", created_by=user,
                                    **{f: values[f] for f in fields}))
        else:
            for f in fields:
                setattr(row, f, values[f])
            row.source = "import"
            changed.append(row)
    CohortIntake.objects.bulk_create(new, batch_size=500)
    CohortIntake.objects.bulk_update(changed, [*fields, "source"], batch_size=500)
    result.created, result.updated = len(new), len(changed)
    # bulk writes send no signals: tell the dashboards cache explicitly.
    from dashboards.cache import data_changed

    data_changed(sender=CohortIntake)
    audit_record(action="cohort_intake_import", user=user, request=request,
                 object_type="dashboards.cohortintake",
                 detail={"file": filename[:120], "created": result.created, "updated": result.updated})
    return result
