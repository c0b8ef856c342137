"""Reusable machinery for the scoping (IDOR) matrix and "GET never writes" (issue 7, item 1).

An `Entry` names a URL pattern, builds its kwargs from the `county` fixture (pointing at objects
of township B / school B), optionally a query string and a POST body (forged ids welcome), and
says which role may use which method there. `check_entry` / `check_entries` then request the URL
with every method as every role: each pair not allowed must answer 403, 404 or 405 (the anonymous
visitor: a redirect to the login page), and no request may change the database apart from
bookkeeping tables (sessions, audit rows, lockout counters) — except the allowed unsafe requests
of a role in `writers` (all allowed roles when `writers` is None) on an entry not `read_only`.
Allowed pairs must not fail (< 500).

Every entry is registered in matrix_registry.py (MATRIX_MODULES); test_matrix_complete.py fails
for a URL pattern without one.

Usage:

    ENTRIES = [Entry("students:detail", lambda c: {"pk": c.s_b.pk},
                     allow={"county_user": SAFE, "township_b": SAFE, "school_b": SAFE},
                     read_only=True)]

    @pytest.mark.parametrize("entry", ENTRIES, ids=str)
    def test_matrix(entry, county):
        check_entry(entry, county, methods=("GET", "POST", "DELETE"))  # GET ~ HEAD, DELETE ~ PUT/PATCH
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.conf import settings
from django.core.signals import request_finished
from django.db import close_old_connections, transaction
from django.test import Client
from django.urls import reverse

ROLES = ("county_user", "township_a", "township_b", "school_a", "school_b", "gov_a", "no_role",
         "anonymous")
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
SAFE = frozenset({"GET", "HEAD"})
ALL = frozenset(METHODS)
DENIED_STATUSES = {403, 404, 405}

# Tables a request may legitimately write while being refused or only reading.
BOOKKEEPING = {
    "sessions.session", "kongchuo.auditevent", "security.usersession", "kongchuo.outboxmessage",
    "axes.accessattempt", "axes.accesslog", "axes.accessfailurelog", "axes.accessattemptexpiration",
    "otp_totp.totpdevice", "admin.logentry",
}


@dataclass(frozen=True)
class Entry:
    url_name: str
    kwargs: Callable = field(default=lambda c: {})
    allow: dict = field(default_factory=dict)  # role -> methods that role may use
    data: Callable = field(default=lambda c: {})  # body sent with unsafe methods (forged ids welcome)
    read_only: bool = False  # no method, allowed or not, may change the database
    query: Callable = field(default=lambda c: "")  # "?school=…": forged ids in the query string
    writers: frozenset | None = None  # roles whose allowed unsafe requests may write (None: all)

    def __str__(self) -> str:
        return self.url_name

    def url(self, county) -> str:
        return reverse(self.url_name, kwargs=self.kwargs(county)) + self.query(county)

    def may_write(self, role: str, method: str) -> bool:
        return (method in self.allow.get(role, ()) and method not in SAFE and not self.read_only
                and (self.writers is None or role in self.writers))


def db_fingerprint() -> dict[str, str]:
    """A digest of every table's content except bookkeeping: catches inserts, updates, deletes."""
    out = {}
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in BOOKKEEPING or model._meta.proxy or not model._meta.managed:
            continue
        rows = model._base_manager.order_by("pk").values_list()
        digest = hashlib.sha256()
        for row in rows.iterator(chunk_size=2000):
            digest.update(repr(row).encode())
        out[label] = digest.hexdigest()
    return out


def assert_db_unchanged(before: dict[str, str], what: str) -> dict[str, str]:
    """Compare with a fresh fingerprint; return it (the next request's "before")."""
    after = db_fingerprint()
    changed = _changed(before, after)
    assert not changed, f"{what} changed the database: {changed}"
    return after


def client_for(role: str, county) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(getattr(county, role))
    return client


def request(client: Client, method: str, url: str, data: dict | None = None):
    if method == "GET":
        return client.get(url)
    if method == "HEAD":
        return client.head(url)
    if method == "POST":
        return client.post(url, data or {})
    return client.generic(method, url, data=b"", content_type="application/x-www-form-urlencoded")


def assert_get_never_writes(client: Client, url: str) -> None:
    """GET and HEAD of `url` leave the database as it was (bookkeeping aside)."""
    for method in ("GET", "HEAD"):
        before = db_fingerprint()
        response = request(client, method, url)
        assert response.status_code < 500, f"{method} {url}: {response.status_code}"
        assert_db_unchanged(before, f"{method} {url}")


def clients_for(county, roles=ROLES) -> dict[str, Client]:
    """One signed-in client per role, to share between the entries of one test."""
    return {role: client_for(role, county) for role in roles}


def check_entry(entry: Entry, county, roles=ROLES, methods=METHODS,
                clients: dict[str, Client] | None = None) -> list[tuple[str, str, int]]:
    """Run the matrix for one URL; returns (role, method, status) rows for reporting."""
    return check_entries([entry], county, roles, methods, clients)[0]


def check_entries(entries, county, roles=ROLES, methods=METHODS,
                  clients: dict[str, Client] | None = None) -> list[list[tuple[str, str, int]]]:
    """Run the matrix for several URLs; per entry, the (role, method, status) rows.

    Every request that may not write (refused, safe, or on a read-only entry) runs first, all in
    one batch: the database is fingerprinted before and after the batch, not after each request.
    If the batch wrote, it is rolled back to a savepoint and replayed one request at a time, so
    the failure still names the request that wrote. Requests allowed to write run afterwards
    (they must not fail, < 500), so every refused or reading request meets the fixture's state.
    """
    login_url = settings.LOGIN_URL
    # Logging in writes last_login: every role signs in before the first fingerprint.
    clients = clients if clients is not None else clients_for(county, roles)
    seen: list[list[tuple[str, str, int]]] = [[] for _e in entries]
    writes = []
    targets = [(entry.url(county), entry.data(county)) for entry in entries]  # may create rows
    batch = _Batch()
    for i, entry in enumerate(entries):
        url, data = targets[i]
        for role in roles:
            allowed = entry.allow.get(role, frozenset())
            for method in methods:
                where = f"{method} {url} as {role}"
                if entry.may_write(role, method):
                    writes.append((i, role, method, url, data, where))
                    continue
                response = batch.send(clients[role], method, url, data, where)
                status = response.status_code
                seen[i].append((role, method, status))
                if method in allowed:
                    assert status < 500, f"{where}: {status}"
                elif role == "anonymous" and status in (301, 302):
                    assert response["Location"].startswith(login_url), f"{where}: {response['Location']}"
                else:
                    assert status in DENIED_STATUSES, f"{where}: expected 403/404/405, got {status}"
                _close(response)
    batch.close()
    for i, role, method, url, data, where in writes:
        response = request(clients[role], method, url, data)
        assert response.status_code < 500, f"{where}: {response.status_code}"
        seen[i].append((role, method, response.status_code))
        _close(response)
    return seen


class _Batch:
    """Requests that must leave the database as it was, checked together."""

    def __init__(self):
        self.requests: list[tuple] = []
        self.savepoint = transaction.savepoint()  # None outside a transaction: no replay then
        self.before = db_fingerprint()

    def send(self, client: Client, method: str, url: str, data, where: str):
        self.requests.append((client, method, url, data, where))
        return request(client, method, url, data)

    def close(self) -> None:
        after = db_fingerprint()
        changed = _changed(self.before, after)
        if not changed:
            if self.savepoint:
                transaction.savepoint_commit(self.savepoint)
            return
        wheres = [r[4] for r in self.requests]
        if self.savepoint:  # name the request that wrote
            transaction.savepoint_rollback(self.savepoint)
            before = db_fingerprint()
            for client, method, url, data, where in self.requests:
                _close(request(client, method, url, data))
                after = db_fingerprint()
                changed = _changed(before, after)
                assert not changed, f"{where} changed the database: {changed}"
        raise AssertionError(f"one of {wheres} changed the database: {changed}")


def _close(response) -> None:
    """Release a streamed file. The test client closed other responses already; closing again
    would fire request_finished, whose close_old_connections closes a PostgreSQL connection
    inside the test's transaction."""
    if getattr(response, "streaming", False):
        request_finished.disconnect(close_old_connections)
        try:
            response.close()
        finally:
            request_finished.connect(close_old_connections)


def _changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


MISSING_PK = 987_654_321
OUTSIDERS = ("township_a", "school_a", "gov_a", "no_role")


def assert_no_existence_oracle(entries, county, roles=OUTSIDERS, methods=("GET", "POST")) -> int:
    """Out of scope answers exactly like missing (issue 7, item 9): for every entry whose URL
    takes an object id, each outsider gets the same status for school B's object as for an id
    that does not exist — a refusal must not tell that the record is there. Returns how many
    (entry, role, method) triples were compared."""
    clients = clients_for(county, roles)
    compared = 0
    for entry in entries:
        kwargs = entry.kwargs(county)
        if "pk" not in kwargs:
            continue
        real = entry.url(county)
        missing = reverse(entry.url_name, kwargs={**kwargs, "pk": MISSING_PK}) + entry.query(county)
        data = entry.data(county)
        for role in roles:
            if entry.allow.get(role):
                continue
            for method in methods:
                got = request(clients[role], method, real, data)
                none = request(clients[role], method, missing, data)
                _close(got)
                _close(none)
                assert got.status_code == none.status_code, (
                    f"{method} {real} as {role}: {got.status_code}, but {none.status_code} for a "
                    f"missing id")
                compared += 1
    return compared
