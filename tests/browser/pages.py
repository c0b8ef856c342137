"""Page helpers for the browser tests: log in through the real form, save screenshots."""

from __future__ import annotations

import os
from pathlib import Path

# docs/screenshots/ by default (the README shows them); KONGCHUO_SCREENSHOTS=DIR elsewhere.
SHOTS = Path(os.environ.get("KONGCHUO_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "docs" / "screenshots")
PASSWORD = "correct-horse-9"  # tests.factories.UserFactory


def login(browser, live_server, username: str, *, width: int = 1366, timeout: int = 15000):
    """A fresh browser context (zh-CN) logged in as `username`, on the home page."""
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900},
                                  accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(timeout)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click(".login-box button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    return page


def shot(page, name: str) -> None:
    """Save the whole page as docs/screenshots/NAME.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
