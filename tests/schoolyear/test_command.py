"""`python manage.py rollover --year YYYY [--dry-run] [--revert] [--json]`: the contract."""

from __future__ import annotations

import datetime as dt
import io
import json
import subprocess
import sys

import pytest
from django.core.management import call_command

from kongchuo.calendar.models import SchoolYear
from students.models import StatusChange, Student
from tests.schoolyear.conftest import YEAR

pytestmark = pytest.mark.django_db
KEYS = ["year", "students", "promoted", "graduated_primary", "graduated_junior", "held_back",
        "repeated", "already_done"]
COUNTS = {"year": YEAR, "students": 19, "promoted": 8, "graduated_primary": 3,
          "graduated_junior": 2, "held_back": 4, "repeated": 2}


@pytest.fixture
def july(time_machine):
    time_machine.move_to(dt.datetime(2026, 7, 20, 10, tzinfo=dt.UTC))


def rollover(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("rollover", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def _snapshot():
    return (sorted(Student.objects.values_list("pk", "grade", "status")),
            StatusChange.objects.count())


def test_dry_run_counts_and_writes_nothing(years, july):
    before = _snapshot()
    code, out, _err = rollover("--year", str(YEAR), "--dry-run", "--json")
    assert code == 0
    data = json.loads(out)
    assert list(data) == KEYS
    assert data == {**COUNTS, "already_done": False}
    assert _snapshot() == before
    assert not SchoolYear.objects.filter(closed_at__isnull=False).exists()


def test_run_then_run_again_then_revert(years, july):
    before = _snapshot()
    code, out, _err = rollover("--year", str(YEAR), "--json")
    assert code == 0 and json.loads(out) == {**COUNTS, "already_done": False}
    after = _snapshot()
    code, out, _err = rollover("--year", str(YEAR), "--json")
    assert code == 0 and json.loads(out) == {**COUNTS, "already_done": True}
    assert _snapshot() == after
    code, out, _err = rollover("--year", str(YEAR), "--revert", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["promoted"] == 8
    assert _snapshot() == after
    code, out, _err = rollover("--year", str(YEAR), "--revert")
    assert code == 0 and "已撤销" in out
    assert _snapshot() == before


def test_refused_with_the_reason(years, july):
    code, out, _err = rollover("--year", str(YEAR + 1), "--json")
    assert code == 1
    data = json.loads(out)
    assert "毕业日" in data["error"] and data["already_done"] is False
    code, _out, err = rollover("--year", str(YEAR), "--revert")
    assert code == 1 and "尚未结转" in err


def test_revert_refusal_names_the_children(years, july):
    assert rollover("--year", str(YEAR))[0] == 0
    Student.objects.filter(pk=years.p1.pk).update(status="transferred")
    code, out, _err = rollover("--year", str(YEAR), "--revert", "--json")
    assert code == 1
    assert [c.split("（")[0] for c in json.loads(out)["children"]] == ["小一"]


@pytest.mark.parametrize("value", ["abc", "1999", "20245"])
def test_bad_year_is_exit_2(years, value):
    code, _out, err = rollover("--year", value)
    assert code == 2 and "学年" in err


def test_missing_year_is_exit_2():
    proc = subprocess.run([sys.executable, "manage.py", "rollover"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert "--year" in proc.stderr
