"""`manage.py import_file`: the operator's contract (JSON keys, exit codes 0/1/2, languages)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from kongchuo.access.models import AuditEvent
from kongchuo.models import Job
from students.models import Student
from tests.imports.conftest import new_id, roster_row

pytestmark = pytest.mark.django_db

BASE_KEYS = {"kind", "rows", "created", "updated", "unchanged", "skipped", "rejected", "errors", "warnings"}


def cli(*args) -> tuple[int, dict | str]:
    out = io.StringIO()
    code = 0
    try:
        call_command("import_file", *args, stdout=out, stderr=out)
    except SystemExit as exc:
        code = exc.code
    text = out.getvalue()
    try:
        return code, json.loads(text)
    except json.JSONDecodeError:
        return code, text


def test_json_keys_and_exit_0_when_written(county, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    code, data = cli("roster", str(path), "--json")
    assert code == 0
    assert BASE_KEYS | {"moved", "missing"} <= set(data)
    assert (data["kind"], data["rows"], data["created"], data["rejected"]) == ("roster", 1, 1, 0)
    assert data["errors"] == [] and data["written"] is True and len(data["checksum"]) == 64
    job = Job.objects.get(pk=data["job"])
    assert job.kind == "import:roster" and job.checksum == data["checksum"] and job.status == "succeeded"
    assert AuditEvent.objects.filter(action="import", object_id=str(job.pk), outcome="written").exists()


def test_exit_1_rows_rejected_nothing_written(county, files):
    ok = new_id(1)
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=ok),
                                   roster_row(2, county.a_primary, id_number=new_id(2), grade="十年级")])
    code, data = cli("roster", str(path), "--json")
    assert code == 1 and data["written"] is False and data["rejected"] == 1
    assert data["errors"] == [{"row": 5, "column": "年级", "code": "grade_unknown",
                               "message": data["errors"][0]["message"]}]
    assert "年级" in data["errors"][0]["message"]
    assert not Student.objects.filter(id_number=ok).exists()
    code, data = cli("roster", str(path), "--json", "--skip-invalid")
    assert code == 0 and data["created"] == 1 and data["rejected"] == 1


def test_dry_run(county, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    code, data = cli("roster", str(path), "--json", "--dry-run")
    assert code == 0 and data["created"] == 1 and data["written"] is False
    assert not Student.objects.filter(id_number=new_id(1)).exists()
    bad = files.roster("b.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1), grade="x")])
    assert cli("roster", str(bad), "--json", "--dry-run")[0] == 1


@pytest.mark.parametrize("content", [b"", b"\x00\x01\x02garbage" * 100, b"PK\x03\x04broken zip"])
def test_exit_2_unreadable(county, files, tmp_path, content):
    path = tmp_path / "x.xlsx"
    path.write_bytes(content)
    code, data = cli("roster", str(path), "--json")
    assert code == 2 and data["file_error"]["code"] in {"file_empty", "file_type"}


def test_exit_2_wrong_kind_of_file(county, files):
    census = files.xlsx("c.xlsx", [["姓名", "身份证件号", "户籍乡镇"], ["张三", new_id(1), "甲镇"]])
    code, data = cli("roster", str(census), "--json")
    assert code == 2 and data["file_error"]["code"] == "header_missing"
    assert "年级" in data["file_error"]["message"]


def test_exit_2_bad_kind_or_options(county, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    assert cli("rosters", str(path), "--json")[0] == 2
    assert cli("support", str(path), "--json")[0] == 2  # --list missing
    assert cli("returns", str(path), "--term", "spring", "--json")[0] == 2
    assert cli("roster", str(path.with_name("nope.xlsx")), "--json")[0] == 2


def test_row_cap_is_refused(county, files, settings):
    settings.KONGCHUO_IMPORT_MAX_ROWS = 5
    path = files.roster("r.xlsx", [roster_row(i, county.a_primary, id_number=new_id(i)) for i in range(6)])
    code, data = cli("roster", str(path), "--json")
    assert code == 2 and data["file_error"]["code"] == "too_many_rows"
    assert not Student.objects.filter(id_number=new_id(0)).exists()


def test_census_and_support_unmatched_keys(county, files):
    census = files.xlsx("c.xlsx", [["姓名", "身份证件号", "户籍乡镇"], ["张三", new_id(1), "甲镇"]])
    code, data = cli("census", str(census), "--year", "2024", "--json")
    assert code == 0 and data["unmatched"] == 1
    code, data = cli("support", str(census), "--list", "poor", "--json")
    assert code == 0 and data["unmatched"] == 1


def test_english_under_language_code_en(county, files, settings):
    settings.LANGUAGE_CODE = "en"
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1), grade="x")])
    code, data = cli("roster", str(path), "--json")
    assert code == 1 and data["errors"][0]["message"].startswith("Unknown grade")
    code, text = cli("roster", str(path))
    assert "rows rejected: nothing written" in text


def test_plain_output_in_chinese(county, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1), grade="x")])
    code, text = cli("roster", str(path))
    assert code == 1 and "第4行 [年级] grade_unknown" in text and "未写入" in text


def test_csv_utf8_bom_and_gb18030(county, files):
    a, b = new_id(1), new_id(2)
    header = "学校标识码,年级,姓名,身份证件号\n"
    one = files.csv("a.csv", header + f"{county.a_primary.code},三年级,张三,{a}\n")
    two = files.csv("b.csv", header + f"{county.a_primary.code},三年级,李四,{b}\n", encoding="gb18030")
    assert cli("roster", str(one), "--json")[1]["created"] == 1
    assert cli("roster", str(two), "--json")[1]["created"] == 1
    assert Student.objects.get(id_number=b).name == "李四"
