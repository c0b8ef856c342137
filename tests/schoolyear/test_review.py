"""回头看 / 年度考核: the closed year's frozen figures, last year beside them, the township ranking
and the open items carried over — as a page and as an xlsx in the official layout."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from django.urls import reverse

from dashboards.models import YearFigures
from dashboards.yearclose import school_year_close
from kongchuo.access.idnumbers import mask_id
from kongchuo.access.models import AuditEvent
from ledgers.models import Deferral
from retrieval.models import RetrievalCase
from tests.schoolyear.conftest import JULY, YEAR

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(two_towns, time_machine):
    y = two_towns
    school_year_close(year=YEAR, user=y.county_user, today=JULY)
    # last year, as a rollover would have frozen it
    YearFigures.objects.create(year=YEAR - 1, unit="county", level="county", frozen_at=dt.datetime(2025, 7, 20, tzinfo=dt.UTC),
                               figures={"enrol_rate": 0.985, "retention_rate": 0.97, "enrolled": 30})
    time_machine.move_to(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC))
    RetrievalCase.objects.create(id_number=y.dropped.id_number, name=y.dropped.name, student=y.dropped,
                                 school=y.junior, township=y.t, opened_by=y.county_user)
    Deferral.objects.create(school=y.b_primary, id_number="341522201909090011", name="延缓儿",
                            birth_date=dt.date(2019, 9, 9), guardian_name="家长", reason="病",
                            certificate="证明", start_date=dt.date(2025, 9, 1),
                            end_date=dt.date(2026, 8, 31), review="approved")
    return y


def test_the_county_page_ranks_the_townships_and_carries_the_open_items(reviewed, client_as):
    y = reviewed
    html = client_as(y.county_user).get(reverse("dashboards:review")).content.decode()
    assert "2025–2026学年控辍保学工作回头看（年度考核）统计表" in html
    assert f'data-unit="t{y.t.pk}"' in html and f'data-unit="t{y.tb.pk}"' in html
    assert 'data-unit="direct"' in html and 'data-unit="county"' in html
    assert "98.50%" in html  # last year's 入学率, beside this year's
    assert "未销号劝返案件" in html and "延缓入学已到期未入学" in html
    assert mask_id(y.dropped.id_number) in html and "延缓儿" in html
    assert y.dropped.id_number not in html  # masked


def test_a_township_sees_its_schools_and_its_rank_only(reviewed, client_as):
    y = reviewed
    html = client_as(y.township_b_user).get(reverse("dashboards:review") + f"?township={y.t.pk}").content.decode()
    assert "乙镇南庄小学" in html and "甲镇东岗小学" not in html
    assert "全县排名：第" in html and "共2个乡镇" in html
    assert "延缓儿" in html and mask_id(y.dropped.id_number) not in html
    assert client_as(y.school_user).get(reverse("dashboards:review")).status_code == 403


def test_the_xlsx_is_in_the_official_layout(reviewed, client_as):
    y = reviewed
    client = client_as(y.county_user)
    assert client.get(reverse("dashboards:review_xlsx") + f"?year={YEAR}").status_code == 405
    response = client.post(reverse("dashboards:review_xlsx") + f"?year={YEAR}")
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert book.sheetnames == ["年度考核", "结转事项", "事项明细"]
    sheet = book["年度考核"]
    assert sheet["A1"].value == "2025–2026学年控辍保学工作回头看（年度考核）统计表"
    assert sheet["A2"].value.startswith("填报单位：县教育局")
    assert (sheet["A3"].value, sheet["B3"].value, sheet["C3"].value, sheet["C4"].value) == (
        "序号", "单位", "入学率", "本学年")
    body = [(sheet.cell(row=r, column=1).value, sheet.cell(row=r, column=2).value)
            for r in range(5, 9)]
    assert body[:2] == [(1, "乙镇"), (2, "甲镇")] or body[:2] == [(1, "甲镇"), (2, "乙镇")]
    assert body[2:] == [(3, "县直学校"), ("合计", "全县")]
    last_col = sheet.max_column
    assert sheet.cell(row=3, column=last_col).value == "排名"
    assert sheet.print_options.horizontalCentered and sheet.page_setup.paperSize == 9
    detail = book["事项明细"]
    names = {detail.cell(row=r, column=3).value for r in range(4, detail.max_row + 1)}
    assert {y.dropped.name, "延缓儿"} <= names
    assert mask_id(y.dropped.id_number) in {detail.cell(row=r, column=4).value
                                           for r in range(4, detail.max_row + 1)}
    assert AuditEvent.objects.filter(action="export", object_type="review").exists()


def test_no_closed_year_yet(two_towns, client_as):
    html = client_as(two_towns.county_user).get(reverse("dashboards:review")).content.decode()
    assert "尚无已结转的学年" in html
    assert client_as(two_towns.county_user).post(reverse("dashboards:review_xlsx")).status_code == 404
