"""学籍维护 in a real browser (Playwright + Debian Chromium) against the live server (issue 16).

School A's clerk, on a phone-sized screen (390 px), adds a new entrant through 新增学生, then
types the ID of a child enrolled at school B: the portal turns it into a transfer request to
school B. School B's clerk, at 1440 px, sees it waiting, confirms it; the child is then on
school A's roll. Screenshots of each step at both widths land in KONGCHUO_SCREENSHOTS (or
docs/screenshots/records_*.png).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kongchuo.access.idnumbers import make_id
from students.models import Student, TransferRequest
from tests.browser.pages import login, shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE, DESK = 390, 1440


def _shot(page, name: str) -> None:
    shot(page, f"records_{name}")


def _fill_new(page, *, name: str, id_number: str, grade: str) -> None:
    page.fill("#id_name", name)
    page.fill("#id_id_number", id_number)
    page.select_option("#id_grade", grade)
    page.fill("#id_class_name", "1班")
    page.fill("#id_hukou_address", "霍邱县甲镇新店村")
    page.fill("#id_guardian_name", "王父")
    page.fill("#id_guardian_phone", "13900001111")


def test_a_clerk_adds_a_child_and_a_transfer_is_confirmed_by_the_sending_side(county, live_server, browser):
    url = live_server.url
    new_id = make_id("341522", dt.date(2018, 3, 7), 17)

    # 1. School A, on a phone: 新增学生 with a wrong check digit first (the import's error code).
    a = login(browser, live_server, county.school_a.username, width=PHONE)
    a.goto(f"{url}{reverse('students:new')}")
    _fill_new(a, name="王小明", id_number=new_id[:17] + ("0" if new_id[17] != "0" else "1"), grade="1")
    a.click("#student-new-form button[type=submit]")
    a.wait_for_selector("text=身份证件号校验位错误")
    assert "id_checksum" in a.inner_text("[data-field=id_number]")
    _shot(a, f"new_error_{PHONE}")
    a.fill("#id_id_number", new_id)
    a.click("#student-new-form button[type=submit]")
    a.wait_for_selector("text=已新增学生 王小明")
    child = Student.objects.get(id_number=new_id)
    assert (child.school, child.grade, child.birth_date, child.sex) == (county.a_primary, 1, dt.date(2018, 3, 7), "M")
    assert a.inner_text("#student-status") == "在读"
    _shot(a, f"new_done_{PHONE}")

    # 2. The ID of school B's child: not a new child, a transfer request to school B.
    other = county.s_b
    a.goto(f"{url}{reverse('students:new')}")
    _fill_new(a, name=other.name, id_number=other.id_number, grade="5")
    a.click("#student-new-form button[type=submit]")
    a.wait_for_selector("text=已向该校发出转学申请")
    t = TransferRequest.objects.get(student=other)
    assert (t.from_school, t.to_school, t.state) == (county.b_primary, county.a_primary, "pending")
    assert "转学中" in a.inner_text("#transfer-state")
    assert a.locator("#transfer-confirm").count() == 0  # the asking side cannot confirm
    _shot(a, f"transfer_request_{PHONE}")
    # The page at 390 px needs no sideways scrolling.
    assert a.evaluate("document.documentElement.scrollWidth") <= PHONE + 1

    # 3. School B, at a desk: the transfer waits for it; it confirms.
    b = login(browser, live_server, county.school_b.username, width=DESK)
    b.goto(f"{url}{reverse('students:transfers')}")
    b.wait_for_selector("text=有 1 条转学等待您确认")
    _shot(b, f"transfers_{DESK}")
    b.click(f"[data-transfer='{t.pk}']")
    b.wait_for_selector("#transfer-confirm")
    _shot(b, f"transfer_pending_{DESK}")
    b.fill("#id_note", "同意转出")
    b.click("#transfer-confirm")
    b.wait_for_selector("text=已确认：学生已转入接收学校")
    assert b.inner_text("#transfer-state") == "已完成"
    _shot(b, f"transfer_confirmed_{DESK}")
    other.refresh_from_db()
    assert (other.school, other.status, other.grade) == (county.a_primary, "enrolled", 5)

    # 4. School A now has the child on its roll (both widths of the result).
    a.goto(f"{url}{reverse('students:detail', args=[other.pk])}")
    assert a.inner_text("#student-status") == "在读"
    _shot(a, f"child_received_{PHONE}")
    a.set_viewport_size({"width": DESK, "height": 900})
    a.goto(f"{url}{reverse('students:transfer', args=[t.pk])}")
    _shot(a, f"transfer_confirmed_{DESK}_asking_side")
    b.set_viewport_size({"width": PHONE, "height": 800})
    b.goto(f"{url}{reverse('students:transfers')}?state=done")
    _shot(b, f"transfers_done_{PHONE}")
    assert b.evaluate("document.documentElement.scrollWidth") <= PHONE + 1
    a.context.close()
    b.context.close()
