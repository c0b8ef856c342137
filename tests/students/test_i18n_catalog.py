"""The English catalog is compiled and actually used once the user switches to English."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def _switch_to_english(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/accounts/login/"})
    assert response.status_code == 302


def test_login_page_is_english_after_the_switch(client):
    _switch_to_english(client)
    html = client.get("/accounts/login/").content.decode()
    assert "Dropout Control Management Platform" in html
    assert "Log in" in html
    assert "控辍保学管理平台" not in html
    assert "登录" not in html


def test_login_page_is_chinese_by_default(client):
    html = client.get("/accounts/login/").content.decode()
    assert "控辍保学管理平台" in html
    assert "登录" in html
    assert "Dropout Control Management Platform" not in html
