"""The import parsers' fast paths agree with the tabular engine they shortcut."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from kongchuo.access.idnumbers import make_id
from kongchuo.imports import cells as cell_parsers
from kongchuo.imports import parsers
from kongchuo.imports.cells import CellError


def outcome(parse, value):
    try:
        return "ok", parse(value)
    except CellError as exc:
        return "error", exc.code, exc.message("zh")


ids = st.builds(lambda d, n: make_id("341522", dt.date(1990, 1, 1) + dt.timedelta(days=d), n),
                st.integers(0, 15000), st.integers(0, 999))
mutated = st.tuples(ids, st.integers(0, 17), st.sampled_from("0123456789Xx ")).map(
    lambda t: t[0][:t[1]] + t[2] + t[0][t[1] + 1:])
cells = st.one_of(ids, mutated, st.text(max_size=20), st.integers(), st.floats(allow_nan=False),
                  st.none(), st.just(""), st.just("'" + make_id("341522", dt.date(2015, 1, 1), 1)))


@settings(max_examples=400, deadline=None)
@given(cells)
def test_fast_id_parser_agrees_with_parse_id(value):
    assert outcome(parsers.id_number(), value) == outcome(cell_parsers.parse_id, value)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=30), st.integers(), st.floats(allow_nan=False), st.none(),
                 st.sampled_from([" 张三", "张三 ", "'0551", "ＡＢＣ", "\u3000李四", "\ufeff王五"])))
def test_fast_text_parser_agrees_with_parse_text(value):
    assert outcome(parsers.text(max_length=10), value) == outcome(
        lambda v: cell_parsers.parse_text(v, max_length=10), value)


def test_memoize_keeps_types_apart_and_reraises():
    grade = parsers.memoize(parsers.grade())
    assert grade(1) == 1 and grade(1.0) == 1 and grade("一年级") == 1
    for _i in range(3):
        try:
            grade(True)
        except CellError as exc:
            assert exc.code == "grade_unknown"
        else:  # pragma: no cover
            raise AssertionError("True is no grade")
