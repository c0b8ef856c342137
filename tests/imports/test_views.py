"""The browser flow: who may open what, upload → preview → confirm, skip-invalid, the error
workbook round trip, big files through the task with a polled progress bar, the history."""

from __future__ import annotations

import io

import openpyxl
import pytest
from django.urls import reverse

from kongchuo.models import Job
from students.models import Student
from tests.imports.conftest import ROSTER_HEADER, new_id, roster_row

pytestmark = pytest.mark.django_db


def upload(client, kind, path, **options):
    with open(path, "rb") as fh:
        return client.post(reverse("imports:kind", args=[kind]), {"file": fh, **options})


def job_of(response) -> Job:
    assert response.status_code == 302, response.content.decode()[:500]
    return Job.objects.get(pk=int(response["Location"].rstrip("/").rsplit("/", 1)[1]))


# --------------------------------------------------------------------------- permissions


@pytest.mark.parametrize("url", ["imports:index", "imports:history"])
def test_index_and_history_roles(county, client, client_as, url):
    assert client.get(reverse(url)).status_code == 302  # anonymous → login
    for user in (county.county_user, county.township_a, county.school_a):
        assert client_as(user).get(reverse(url)).status_code == 200
    for user in (county.gov_a, county.no_role):
        assert client_as(user).get(reverse(url)).status_code == 403


@pytest.mark.parametrize(("kind", "allowed"), [
    ("roster", {"county", "township", "school"}),
    ("returns", {"county", "township", "school"}),
    ("status_changes", {"county", "township", "school"}),
    ("census", {"county", "township"}),
    ("schools", {"county"}),
    ("support", {"county"}),
    ("feedback", {"county"}),
    ("users", {"county", "township"}),
])
def test_kind_pages_and_templates_per_role(county, client, client_as, kind, allowed):
    users = {"county": county.county_user, "township": county.township_a, "school": county.school_a,
             "township_gov": county.gov_a}
    for view in ("imports:kind", "imports:template"):
        url = reverse(view, args=[kind])
        client.logout()
        assert client.get(url).status_code == 302
        for role, user in users.items():
            code = client_as(user).get(url).status_code
            assert code == (200 if role in allowed else 403), (view, kind, role, code)


def test_unknown_kind_is_404(county, client_as):
    assert client_as(county.county_user).get(reverse("imports:kind", args=["nope"])).status_code == 404


def test_template_download(county, client_as):
    response = client_as(county.school_a).get(reverse("imports:template", args=["roster"]))
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert [c.value for c in next(wb.worksheets[0].iter_rows())][:3] == ["学校标识码", "学校名称", "年级"]
    assert "attachment" in response["Content-Disposition"]


def test_forbidden_upload_writes_nothing(county, client_as, files):
    path = files.xlsx("s.xlsx", [["乡镇", "乡镇代码", "学校名称", "学校标识码", "学校类型"],
                                 ["丙镇", "341522102", "丙镇小学", "3415299001", "小学"]])
    assert upload(client_as(county.township_a), "schools", path).status_code == 403
    assert not Job.objects.exists()


def test_job_pages_are_scoped(county, client, client_as, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    job = job_of(upload(client_as(county.school_a), "roster", path))
    url = reverse("imports:job", args=[job.pk])
    client.logout()
    assert client.get(url).status_code == 302
    for user in (county.school_a, county.township_a, county.county_user):
        assert client_as(user).get(url).status_code == 200
    for user in (county.school_b, county.township_b):
        assert client_as(user).get(url).status_code == 404
    assert client_as(county.gov_a).get(url).status_code == 403
    confirm = reverse("imports:confirm", args=[job.pk])
    assert client_as(county.school_a).get(confirm).status_code == 405
    assert client_as(county.township_a).post(confirm).status_code == 403  # only the uploader
    assert client_as(county.school_b).post(confirm).status_code == 404
    assert not Student.objects.filter(id_number=new_id(1)).exists()


# --------------------------------------------------------------------------- the flow


def test_upload_preview_confirm(county, client_as, files):
    a = new_id(1)
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=a)])
    client = client_as(county.school_a)
    job = job_of(upload(client, "roster", path))
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "已预览，待确认" in page and 'data-count="created">1<' in page and "确认导入" in page
    assert not Student.objects.filter(id_number=a).exists()
    response = client.post(reverse("imports:confirm", args=[job.pk]), {"mode": "all"})
    assert response.status_code == 302
    assert Student.objects.get(id_number=a).school == county.a_primary
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "已导入" in page and "确认导入" not in page
    again = client.post(reverse("imports:confirm", args=[job.pk]), {"mode": "all"}, follow=True)
    assert "无需重复确认" in again.content.decode()
    assert Student.objects.filter(id_number=a).count() == 1
    history = client.get(reverse("imports:history")).content.decode()
    assert "r.xlsx" in history and job.checksum[:12] in history


def test_skip_invalid_and_error_workbook_round_trip(county, client_as, files, tmp_path):
    good, bad = new_id(1), new_id(2)
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=good),
                                   roster_row(2, county.a_primary, id_number=bad, grade="十年级")])
    client = client_as(county.school_a)
    job = job_of(upload(client, "roster", path))
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "grade_unknown" in page and "跳过错误行导入" in page and "确认导入" not in page
    client.post(reverse("imports:confirm", args=[job.pk]), {"mode": "skip_invalid"})
    assert Student.objects.filter(id_number=good).exists()
    assert not Student.objects.filter(id_number=bad).exists()
    response = client.get(reverse("imports:errors", args=[job.pk]))
    assert response.status_code == 200
    wb = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    ws = wb.active
    grade_col = ROSTER_HEADER.index("年级")
    for row in ws.iter_rows():
        if row[len(ROSTER_HEADER)].value and row[0].value != ROSTER_HEADER[0]:
            row[grade_col].value = "三年级"
    fixed = tmp_path / "fixed.xlsx"
    wb.save(fixed)
    second = job_of(upload(client, "roster", fixed))
    second.refresh_from_db()
    assert (second.result["created"], second.result["unchanged"], second.result["rejected"]) == (1, 1, 0)
    client.post(reverse("imports:confirm", args=[second.pk]), {"mode": "all"})
    assert Student.objects.get(id_number=bad).grade == 3


def test_error_workbook_404_without_errors(county, client_as, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    client = client_as(county.school_a)
    job = job_of(upload(client, "roster", path))
    assert client.get(reverse("imports:errors", args=[job.pk])).status_code == 404


def test_unreadable_upload_shows_the_reason(county, client_as, tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"\x00\x01 not a workbook \xff\xfe" * 10)
    client = client_as(county.county_user)
    job = job_of(upload(client, "roster", path))
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert "文件无法读取" in page and "不支持的文件类型" in page


def test_same_file_twice_is_shown(county, client_as, files):
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    client = client_as(county.school_a)
    first = job_of(upload(client, "roster", path))
    client.post(reverse("imports:confirm", args=[first.pk]), {"mode": "all"})
    second = job_of(upload(client, "roster", path))
    client.post(reverse("imports:confirm", args=[second.pk]), {"mode": "all"})
    page = client.get(reverse("imports:job", args=[second.pk])).content.decode()
    assert f"导入记录 #{first.pk} 完全相同" in page


def test_big_file_runs_in_the_worker_with_a_polled_progress_bar(
        county, client_as, files, settings, django_capture_on_commit_callbacks):
    settings.KONGCHUO_IMPORT_SYNC_BYTES = 0  # every upload counts as big
    a = new_id(1)
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=a)])
    client = client_as(county.school_a)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        job = job_of(upload(client, "roster", path))
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page and "<progress" in page and "可以离开本页" in page
    for callback in queued:  # the worker picks the task up (eager Celery in tests)
        callback()
    partial = client.get(reverse("imports:job", args=[job.pk]), HTTP_HX_REQUEST="true")
    text = partial.content.decode()
    assert "<html" not in text and "hx-trigger" not in text and 'data-count="created">1<' in text
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:confirm", args=[job.pk]), {"mode": "all"})
    assert Student.objects.filter(id_number=a).exists()
    job.refresh_from_db()
    assert job.result["phase"] == "written" and job.progress == 100


def test_support_upload_with_list_option(county, client_as, files):
    path = files.xlsx("d.xlsx", [["姓名", "身份证件号"], [county.s_a.name, county.s_a.id_number]])
    client = client_as(county.county_user)
    assert upload(client, "support", path).status_code == 200  # the list is required
    job = job_of(upload(client, "support", path, list="dibao"))
    client.post(reverse("imports:confirm", args=[job.pk]), {"mode": "all"})
    county.s_a.refresh_from_db()
    assert county.s_a.is_dibao


def test_history_query_count_does_not_grow(county, client_as, files, django_assert_max_num_queries):
    client = client_as(county.county_user)
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    for _i in range(3):
        job_of(upload(client, "roster", path))
    with django_assert_max_num_queries(6):  # session, user, count, one page of jobs with users
        client.get(reverse("imports:history"))
    for _i in range(8):
        job_of(upload(client, "roster", path))
    with django_assert_max_num_queries(6):
        assert "r.xlsx" in client.get(reverse("imports:history")).content.decode()


def test_a_failing_kind_gives_a_page_not_a_server_error(county, client_as, files, monkeypatch):
    from kongchuo.imports import base

    kind = base.get_kind("roster")

    def broken(plan, ctx):
        raise RuntimeError("disk full")

    monkeypatch.setattr(kind, "apply", broken)
    path = files.roster("r.xlsx", [roster_row(1, county.a_primary, id_number=new_id(1))])
    client = client_as(county.school_a)
    job = job_of(upload(client, "roster", path))
    response = client.post(reverse("imports:confirm", args=[job.pk]), {"mode": "all"}, follow=True)
    assert response.status_code == 200 and "导入失败，数据未改动" in response.content.decode()
    job.refresh_from_db()
    assert job.status == "failed"
    assert not Student.objects.filter(id_number=new_id(1)).exists()
