"""No query per row: an import of 40 rows costs the same number of queries as one of 4."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kongchuo.imports.pipeline import import_run
from tests.factories import StudentFactory
from tests.imports.conftest import new_id, roster_row

pytestmark = pytest.mark.django_db


def queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def _roster(files, county, n, offset, movers):
    rows = [roster_row(i, county.a_primary, id_number=new_id(offset + i)) for i in range(n)]
    rows += [roster_row(n + i, county.a_primary, id_number=s.id_number, name=s.name, grade="五年级")
             for i, s in enumerate(movers)]
    return files.roster(f"r{offset}.xlsx", rows)


def test_roster_queries_do_not_grow_with_rows(county, files):
    few = [StudentFactory(school=county.b_primary) for _i in range(2)]
    many = [StudentFactory(school=county.b_primary) for _i in range(40)]
    small = _roster(files, county, 4, 0, few)
    big = _roster(files, county, 80, 100, many)  # SQLite: > 999 parameters per bulk statement
    # The term's first roster of a school also lists its missing children (students.RosterGap):
    # measure two imports that are both later rosters of the term.
    import_run(kind="roster", path=_roster(files, county, 1, 500, []))
    n_small = queries(lambda: import_run(kind="roster", path=small))
    n_big = queries(lambda: import_run(kind="roster", path=big))
    assert n_big == n_small
    assert import_run(kind="roster", path=big).unchanged == 120


def test_status_changes_returns_census_support_queries_do_not_grow(county, files):
    def sized(n, offset):
        kids = [StudentFactory(school=county.a_primary) for _i in range(n)]
        changes = files.xlsx(f"sc{offset}.xlsx", [["身份证件号", "变动类型", "变动日期", "截止日期"]]
                             + [[k.id_number, "休学", "2024-03-01", "2024-09-01"] for k in kids])
        returns = files.xlsx(f"rt{offset}.xlsx", [["身份证件号", "报到日期"]]
                             + [[k.id_number, "2024-02-26"] for k in kids])
        census = files.xlsx(f"c{offset}.xlsx", [["姓名", "身份证件号", "户籍乡镇"]]
                            + [[k.name, k.id_number, "甲镇"] for k in kids])
        support = files.xlsx(f"s{offset}.xlsx", [["姓名", "身份证件号"]] + [[k.name, k.id_number] for k in kids])
        return [
            queries(lambda: import_run(kind="status_changes", path=changes)),
            queries(lambda: import_run(kind="returns", path=returns)),
            queries(lambda: import_run(kind="census", path=census, options={"year": 2024})),
            queries(lambda: import_run(kind="support", path=support, options={"list": "poor"})),
        ]

    assert sized(3, 0) == sized(60, 1)
