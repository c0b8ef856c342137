"""The left menu and the user's scope line follow the page language (Chinese unless switched)."""

from __future__ import annotations

import re

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db


def _menu(client) -> str:
    body = client.get("/").content.decode()
    return body[body.index('class="menu-group"'):]


def test_menu_in_chinese_by_default_and_english_when_switched(county, client):
    client.force_login(county.township_a)
    zh = _menu(client)
    assert "学生学籍" in zh and "学生名册" in zh and "我的待办" in zh
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    en = _menu(client)
    assert "Students" in en and "Student roster" in en and "My to-dos" in en
    menu_part = en[:en.index("</nav>")] if "</nav>" in en else en
    assert not re.search(r'menu-group">[^<]*[\u4e00-\u9fff]', menu_part)  # no Chinese group left


@pytest.mark.parametrize(("who", "zh", "en"), [
    ("county_user", "县教育局", "County Education Bureau"),
    ("township_a", "甲镇中心学校", "甲镇 center school"),
    ("gov_a", "甲镇人民政府", "甲镇 township government"),
])
def test_scope_label_follows_the_language(county, client, who, zh, en):
    client.force_login(getattr(county, who))
    assert zh in client.get("/").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert en in client.get("/").content.decode()
