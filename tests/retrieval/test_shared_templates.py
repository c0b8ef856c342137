"""The shared pieces of the 劝返 pages (detail header, approval cells) render what each page
showed before they were folded into includes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from kongchuo.access.idnumbers import mask_id

pytestmark = pytest.mark.django_db


def _forms(body: str) -> list[str]:
    return re.findall(r'<form method="post" action="([^"]+)"', body)


def test_approvals_page_rows_post_their_verdicts(wf, client_as):
    body = client_as(wf.township_a).get(reverse("retrieval:approvals")).content.decode()
    review = reverse("retrieval:decision_review", args=[wf.dismissed.pk])
    assert review in _forms(body)
    reviews = body.split('id="reviews"', 1)[1].split("</table>", 1)[0]
    for text in ('value="uphold"', 'value="overturn"', "同意", "驳回", "复核意见（驳回必填）",
                 'name="next" value="approvals"', "转往城关小学", wf.evidence.original_name):
        assert text in reviews, text
    body = client_as(wf.county_user).get(reverse("retrieval:approvals")).content.decode()
    closures = body.split('id="closures"', 1)[1].split("</table>", 1)[0]
    assert reverse("retrieval:closure_decide", args=[wf.closure.pk]) in closures
    for text in ('value="approve"', 'value="reject"', "同意销号", "退回", "审批意见（退回必填）",
                 "在外地就读", wf.township_a.username):
        assert text in closures, text


def test_alert_header(wf, client_as):
    body = client_as(wf.school_a).get(reverse("retrieval:alert", args=[wf.alert.pk])).content.decode()
    assert re.search(r'class="badge text-bg-warning"\s+id="alert-status">待核实<', body)
    assert "预警信息" in body and "姓名/对象" in body
    assert f'<a href="{reverse("students:detail", args=[wf.s_a.pk])}">{wf.s_a.name}</a>' in body
    assert mask_id(wf.s_a.id_number) in body and wf.s_a.id_number not in body
    body = client_as(wf.township_a).get(
        reverse("retrieval:alert", args=[wf.dismissed_alert.pk])).content.decode()
    assert re.search(r'class="badge text-bg-secondary"\s+id="alert-status">已排除<', body)


def test_case_header(wf, client_as):
    url = reverse("retrieval:case", args=[wf.case.pk])
    body = client_as(wf.school_a).get(url).content.decode()
    assert re.search(r'class="badge text-bg-danger"\s+id="case-status">已上报属地政府<', body)
    assert f'<a href="{reverse("students:detail", args=[wf.s_a.pk])}">{wf.case.name}</a>' in body
    assert mask_id(wf.s_a.id_number) in body
    # The township government sees the name, not a link to the student's page.
    body = client_as(wf.gov_a).get(url).content.decode()
    assert wf.case.name in body and reverse("students:detail", args=[wf.s_a.pk]) not in body
    body = client_as(wf.township_a).get(reverse("retrieval:case", args=[wf.case_a2.pk])).content.decode()
    assert re.search(r'class="badge text-bg-info"\s+id="case-status">待销号审批<', body)


def test_include_arguments_are_translated(wf, client_as):
    """Titles, buttons and placeholders handed to the includes follow the language cookie."""
    from django.conf import settings

    client = client_as(wf.township_a)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get(reverse("retrieval:approvals")).content.decode()
    assert "Review comments (required for rejection)" in body and "复核意见（驳回必填）" not in body
    body = client_as(wf.school_b).get(reverse("retrieval:case", args=[wf.case_b.pk])).content.decode()
    assert '<html lang="en">' in body  # same client, same language cookie
    assert "Save persuasion record" in body and 'id="attempt-form"' in body
    assert 'action="{}"'.format(reverse("retrieval:case_attempt", args=[wf.case_b.pk])) in body


def test_case_grade_follows_the_language(wf, client_as):
    from django.conf import settings

    url = reverse("retrieval:case", args=[wf.case_b.pk])
    client = client_as(wf.school_b)
    assert f"{wf.case_b.grade}年级" in client.get(url).content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert f"grade {wf.case_b.grade}" in client.get(url).content.decode()


@pytest.mark.parametrize("name", ["retrieval:alerts", "retrieval:cases"])
def test_list_pages_filter_bar_count_and_table(wf, client_as, name):
    body = client_as(wf.county_user).get(reverse(name), {"q": wf.s_b.name}).content.decode()
    assert 'class="filter-bar' in body and "查询" in body and "重置" in body
    assert "共 1 条" in body and wf.s_b.name in body and "<table" in body
