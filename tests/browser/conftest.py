"""Shared by the browser tests (Playwright driving Debian's Chromium against the live server)."""

from __future__ import annotations

import pytest
from django.db import connections

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # still synchronous. Scoped to the test so no other test inherits it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
        # The test's ORM calls ran while Playwright's event loop held this thread, in a context
        # of their own: that context's connections would outlive the test (and keep a session
        # on the test database when it is dropped). Closed here, in the same context.
        connections.close_all()


@pytest.fixture(autouse=True)
def _audit_rows_removable(transactional_db):
    """The audit table is append-only (a trigger refuses DELETE). PostgreSQL's flush between
    transactional tests TRUNCATEs and is not affected; SQLite's flush DELETEs and would abort,
    so on SQLite the rows the test wrote are removed with the trigger lifted for a moment."""
    yield
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cur:
        cur.execute("DROP TRIGGER IF EXISTS kongchuo_auditevent_no_delete")
        cur.execute("DELETE FROM kongchuo_auditevent")
        cur.execute("CREATE TRIGGER kongchuo_auditevent_no_delete BEFORE DELETE ON kongchuo_auditevent "
                    "BEGIN SELECT RAISE(ABORT, 'kongchuo_auditevent is append-only'); END;")
