"""Page helpers for the browser tests: log in through the real form, save screenshots."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# A temporary folder by default: a test run never rewrites tracked files. `make screenshots`
# sets KONGCHUO_SCREENSHOTS=docs/screenshots to refresh the pictures the README and docs show.
SHOTS = Path(os.environ.get("KONGCHUO_SCREENSHOTS") or Path(tempfile.gettempdir()) / "kongchuo-screenshots")
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
    """Save the whole page as NAME.png in SHOTS."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
