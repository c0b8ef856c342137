"""The import scope matrix (issue 15): every registered import kind × every role below the
county (school, township, township_gov), with files naming students, schools, townships and
census rows outside the importer's scope.

For each case: after the preview and after the confirmation, everything outside the
importer's scope is byte-for-byte unchanged (tests/imports/scope_fingerprint.py); and where the
case names an existing ID outside the scope, the preview of that file equals the preview of the
same file naming an ID that exists nowhere (counts, errors, warnings: no oracle). A role a kind
does not allow is refused before a row is read. `test_matrix_is_complete` fails when a kind is
registered without entries here. Runs on SQLite and PostgreSQL (the roster's PG path differs:
students/imports/roster_pg.py); every workbook is read by the reader process.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from kongchuo.calendar.schoolyear import today
from kongchuo.imports.base import ImportRefused, all_kinds
from kongchuo.imports.pipeline import import_run
from students.models import CensusEntry, Student, TransferRequest
from tests.factories import CensusEntryFactory
from tests.imports.conftest import new_id, roster_row
from tests.imports.scope_fingerprint import diff, fingerprint, mark

pytestmark = pytest.mark.django_db

ROLES = {"school": "school_a", "township": "township_a", "township_gov": "gov_a"}
VOLATILE = {"checksum", "seconds", "job", "same_file_as"}
YEAR = 2026


@dataclass
class Case:
    """One file (and, for `compare`, the same file naming unknown IDs instead)."""

    name: str
    write: Callable  # (county, files, unknown: bool) -> path
    compare: bool = True  # the preview must equal the unknown-ID file's preview
    options: dict = field(default_factory=dict)
    asked: Callable | None = None  # (county) -> ids of children the confirm asks for
    # (county, unknown) -> the value the file names that its messages may echo (the file's own
    # code or name: the two previews are compared with it blanked out)
    echo: Callable | None = None


def _name(stem: str, unknown: bool) -> str:
    return f"{stem}-{'unknown' if unknown else 'named'}.xlsx"


def _out_of_scope_students(c, role: str) -> list[Student]:
    """Children the role's user may not write: another township's, a county-direct school's,
    and for a school its own township's other school."""
    out = [c.s_b, c.s_direct]
    return out + [c.s_a2] if role == "school" else out


# --------------------------------------------------------------------------- per kind

def _roster_students(role):
    def write(c, files, unknown):
        rows = [roster_row(n, c.a_primary, id_number=new_id(900 + n) if unknown else s.id_number,
                           name="冒名顶替", grade="四年级")
                for n, s in enumerate(_out_of_scope_students(c, role), start=1)]
        return files.roster(_name("r", unknown), rows)
    return write


def _school_code(c, unknown):
    return "3415299999" if unknown else c.b_primary.code


def _school_name(c, unknown):
    return "不存在的小学" if unknown else c.b_primary.name


def _roster_school(c, files, unknown):
    code = _school_code(c, unknown)
    return files.roster(_name("r", unknown), [roster_row(1, None, id_number=new_id(1), 学校标识码=code, 学校名称="")])


def _roster_school_by_name(c, files, unknown):
    name = _school_name(c, unknown)
    return files.roster(_name("r", unknown), [roster_row(1, None, id_number=new_id(1), 学校标识码="", 学校名称=name)])


def _roster_hukou(c, files, unknown):
    """A new child of the importer's school whose 户籍 is in another township: in scope."""
    return files.roster(_name("r", unknown), [roster_row(1, c.a_primary, id_number=new_id(2),
                                              户口所在地="安徽省霍邱县乙镇某村")])


CENSUS_HEADER = ["姓名", "身份证件号", "户籍乡镇", "户籍地址"]


def _census_entry(c, files, unknown):
    e = c.census_b
    return files.xlsx(_name("c", unknown), [["冒名", new_id(950) if unknown else e.id_number, c.ta.name, "甲镇某村"]],
                      header=CENSUS_HEADER)


def _census_township(c, files, unknown):
    return files.xlsx(_name("c", unknown), [["张三", new_id(951), c.tb.name, "乙镇某村"],
                                 ["李四", c.census_b.id_number, c.tb.code, "乙镇某村"]],
                      header=CENSUS_HEADER)


def _census_student(c, files, unknown):
    """A child enrolled in another township, put on the importer's own census list: the
    township's own row (whether its census children are at school anywhere is what the census
    is for, so `unmatched` may differ from an unknown ID's); nothing outside changes."""
    return files.xlsx(_name("c", unknown), [["吴乙西", c.s_b.id_number, c.ta.name, "甲镇某村"]], header=CENSUS_HEADER)


RETURN_HEADER = ["姓名", "身份证件号", "报到状态", "报到日期"]


def _returns_students(role):
    def write(c, files, unknown):
        rows = [["某某", new_id(960 + n) if unknown else s.id_number, "已报到", dt.date(2026, 9, 1)]
                for n, s in enumerate(_out_of_scope_students(c, role))]
        return files.xlsx(_name("ret", unknown), rows, header=RETURN_HEADER)
    return write


CHANGE_HEADER = ["姓名", "身份证件号", "变动类型", "变动日期", "截止日期", "去向学校", "原因"]


def _changes_students(role):
    def write(c, files, unknown):
        rows = [["某某", new_id(970 + n) if unknown else s.id_number, kind, today(), None, target, "x"]
                for n, s in enumerate(_out_of_scope_students(c, role))
                for kind, target in (("休学", None), ("转出", c.a_primary.name), ("死亡", None))]
        return files.xlsx(_name("ch", unknown), rows, header=CHANGE_HEADER)
    return write


def _changes_to_school(c, files, unknown):
    """转出 of the importer's own child to a school outside its scope: a pending request the
    receiving side confirms; nothing of that school changes."""
    return files.xlsx(_name("ch", unknown), [["周甲东", c.s_a.id_number, "转出", today(), None, c.b_primary.code, "搬家"]],
                      header=CHANGE_HEADER)


USER_HEADER = ["学校标识码", "姓名", "电话", "用户名"]


def _users_code(c, unknown):
    return "3415299998" if unknown else c.b_primary.code


def _users_school(c, files, unknown):
    code = _users_code(c, unknown)
    return files.xlsx(_name("u", unknown), [[code, "王专干", "13800000001", ""]], header=USER_HEADER)


def _users_name_taken(c, files, unknown):
    """A user name of another township's account: refused, the account untouched."""
    return files.xlsx(_name("u", unknown), [[c.a_primary.code, "王专干", "", c.school_b.username]], header=USER_HEADER)


def _asked_students(role):
    return lambda c: {s.pk for s in _out_of_scope_students(c, role)}


def cases(kind: str, role: str) -> list[Case]:
    """The matrix entries of `kind` for `role` (a role the kind refuses has none: refused)."""
    return MATRIX[kind].get(role, [])


MATRIX: dict[str, dict[str, list[Case]]] = {
    "roster": {
        role: [Case("out-of-scope students", _roster_students(role), asked=_asked_students(role)),
               Case("out-of-scope school code", _roster_school, echo=_school_code),
               Case("out-of-scope school name", _roster_school_by_name, echo=_school_name),
               Case("other township's 户籍 address", _roster_hukou, compare=False)]
        for role in ("school", "township")},
    "census": {"township": [
        Case("another township's census row", _census_entry, options={"year": YEAR}),
        Case("another township named", _census_township, compare=False, options={"year": YEAR}),
        Case("another township's student", _census_student, compare=False, options={"year": YEAR})]},
    "returns": {role: [Case("out-of-scope students", _returns_students(role), options={"term": "2026-autumn"})]
                for role in ("school", "township")},
    "status_changes": {role: [Case("out-of-scope students", _changes_students(role)),
                              Case("transfer to an out-of-scope school", _changes_to_school, compare=False)]
                       for role in ("school", "township")},
    "users": {"township": [Case("out-of-scope school", _users_school, echo=_users_code),
                           Case("another account's user name", _users_name_taken, compare=False)]},
    # County-only kinds: every role below the county is refused before a row is read.
    "schools": {}, "support": {}, "feedback": {}, "cohort_intakes": {},
}


# --------------------------------------------------------------------------- the matrix


@pytest.fixture
def c(county):
    county.census_b = CensusEntryFactory(year=YEAR, township=county.tb, name="户籍乙")
    CensusEntryFactory(year=YEAR, township=county.ta, name="户籍甲")
    return county


def _preview(result, echo: str = "") -> str:
    data = {k: v for k, v in result.as_json().items() if k not in VOLATILE}
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return text.replace(echo, "<named>") if echo else text


def _entries():
    return [(kind.slug, role) for kind in all_kinds() for role in ROLES]


def test_matrix_is_complete():
    """Every registered kind has its matrix entries (a refused role needs none: refused), and
    every kind a role below the county may import has at least one case for that role."""
    slugs = {k.slug for k in all_kinds()}
    assert slugs == set(MATRIX), f"kinds without matrix entries: {sorted(slugs - set(MATRIX))}"
    for kind in all_kinds():
        for role in ROLES:
            assert bool(cases(kind.slug, role)) == (role in kind.roles), (kind.slug, role)


@pytest.mark.parametrize(("slug", "role"), _entries())
def test_import_scope_matrix(slug, role, c, files):
    user = getattr(c, ROLES[role])
    entries = cases(slug, role)
    if not entries:
        before = fingerprint(user)
        for dry_run in (True, False):
            with pytest.raises(ImportRefused) as exc:
                import_run(kind=slug, path=files.xlsx("x.xlsx", [["x"]]), user=user, dry_run=dry_run)
            assert exc.value.code == "kind_forbidden"
        assert diff(before, fingerprint(user)) == []
        return
    for case in entries:
        asked = case.asked(c) if case.asked else set()
        since = mark()
        before = fingerprint(user, asked=asked, since=since)
        path = case.write(c, files, False)
        preview = import_run(kind=slug, path=path, user=user, dry_run=True, options=case.options)
        assert diff(before, fingerprint(user, asked=asked, since=since)) == [], (case.name, "preview")
        if case.compare:
            unknown = import_run(kind=slug, path=case.write(c, files, True), user=user, dry_run=True,
                                 options=case.options)
            echo = case.echo or (lambda _c, _unknown: "")
            assert _preview(preview, echo(c, False)) == _preview(unknown, echo(c, True)), case.name
        done = import_run(kind=slug, path=path, user=user, skip_invalid=True, options=case.options)
        assert diff(before, fingerprint(user, asked=asked, since=since)) == [], (case.name, "confirm")
        if asked:
            _assert_asked(asked, user, done, c.a_primary.pk)


def _assert_asked(asked: set[int], user, result, school_id: int) -> None:
    """The roster's out-of-scope children: each a pending 转入申请 from the importer's school,
    the child 转学中 on its own school's roll, nothing else of the child written."""
    assert result.written and result.created == 0 and result.extra["transfers"] == len(asked)
    assert result.skipped == len(asked)
    pending = TransferRequest.objects.filter(student_id__in=asked, state="pending")
    assert {t.student_id for t in pending} == asked
    assert {(t.direction, t.to_school_id, t.requested_by_id) for t in pending} == {("in", school_id, user.pk)}
    assert set(Student.objects.filter(pk__in=asked).values_list("status", flat=True)) == {"transferring"}
    assert all(t.from_school_id == t.student.school_id for t in pending)


def test_census_township_is_never_moved(c, files):
    """Sanity of the census case above, stated plainly: the other township's row keeps its
    township and name, the importer is told at confirmation only."""
    entry = c.census_b
    r = import_run(kind="census", path=_census_entry(c, files, False), user=c.township_a,
                   options={"year": YEAR})
    entry.refresh_from_db()
    assert (entry.township_id, entry.name) == (c.tb.pk, "户籍乙")
    assert (r.created, r.skipped, r.extra["elsewhere"]) == (0, 1, 1)
    assert [w.code for w in r.warnings] == ["census_elsewhere"]
    assert CensusEntry.objects.filter(id_number=entry.id_number).count() == 1
