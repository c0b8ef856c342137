"""Load drill (issue 7, item 18): N users for T seconds on loopback against a running portal.

    python bench/load_site.py --base-url http://127.0.0.1:8077 --users 50 --duration 60

Each virtual user logs in (GET the form, POST credentials), then loops over the page kinds —
dashboard (home, and /dashboards/ when it exists), lists (student roster pages, schools), student
pages (ids picked from the lists it saw), and every --relogin iterations a logout + login — with a
think time between requests. Prints p50/p95/max per page kind and the errors. Bounded: stops at
--duration seconds or --max-requests, whichever comes first, and only targets loopback addresses.

The server may run with production settings (DJANGO_DEBUG=0): requests carry X-Forwarded-Proto:
https and cookies are kept by hand (they are Secure), as behind the TLS proxy.
"""

from __future__ import annotations

import argparse
import http.client
import ipaddress
import random
import re
import statistics
import sys
import threading
import time
from collections import defaultdict
from urllib.parse import urlencode, urlsplit

KINDS = ("dashboard", "list", "student", "login")


def _loopback_only(host: str) -> None:
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    sys.exit(f"refusing to load {host}: loopback addresses only (127.0.0.0/8, ::1, localhost)")


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, list[str]] = defaultdict(list)
        self.count = 0

    def add(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.count += 1
            self.times[kind].append(seconds)
            if error:
                self.errors[kind].append(error)


class VirtualUser(threading.Thread):
    def __init__(self, n: int, args, stats: Stats, stop_at: float, budget: threading.Semaphore):
        super().__init__(daemon=True, name=f"user{n}")
        self.args, self.stats, self.stop_at, self.budget = args, stats, stop_at, budget
        self.username = args.accounts[n % len(args.accounts)]
        url = urlsplit(args.base_url)
        self.host, self.port = url.hostname, url.port or 80
        self.cookies: dict[str, str] = {}
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        self.student_ids: list[str] = []
        self.rng = random.Random(n)
        self.has_dashboards = True

    # -- HTTP with hand-kept cookies ---------------------------------------------------------------
    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, str, dict]:
        headers = {"X-Forwarded-Proto": "https", "Host": f"{self.host}:{self.port}",
                   "User-Agent": "kongchuo-load/1"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"https://{self.host}:{self.port}"
            headers["Referer"] = f"https://{self.host}:{self.port}{path}"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, ConnectionError, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if attempt == 2:
                    raise
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                cookie_value = rest.split(";", 1)[0]
                if 'expires=Thu, 01 Jan 1970' in value or cookie_value in ('""', ""):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = cookie_value
        return response.status, text, dict(response.getheaders())

    def timed(self, kind: str, method: str, path: str, body=None, ok=(200,)) -> str:
        started = time.perf_counter()
        error = None
        text = ""
        try:
            status, text, headers = self.request(method, path, body)
            if status not in ok:
                error = f"{method} {path} → {status} {headers.get('Location', '')}"
        except Exception as exc:  # noqa: BLE001 - counted as an error, the drill goes on
            error = f"{method} {path} → {exc.__class__.__name__}: {exc}"
        self.stats.add(kind, time.perf_counter() - started, error)
        return text

    # -- the scenario -------------------------------------------------------------------------------
    def login(self) -> None:
        started = time.perf_counter()
        error = None
        try:
            status, page, _ = self.request("GET", "/accounts/login/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            if status != 200 or not token:
                raise RuntimeError(f"login form {status}")
            status, _, headers = self.request("POST", "/accounts/login/", {
                "csrfmiddlewaretoken": token.group(1), "username": self.username,
                "password": self.args.password, "next": "/"})
            if status != 302 or "/accounts/" in headers.get("Location", ""):
                error = f"login {self.username} → {status} {headers.get('Location', '')}"
        except Exception as exc:  # noqa: BLE001
            error = f"login {self.username} → {exc.__class__.__name__}: {exc}"
        self.stats.add("login", time.perf_counter() - started, error)

    def logout(self) -> None:
        status, page, _ = self.request("GET", "/students/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if token:
            self.request("POST", "/accounts/logout/", {"csrfmiddlewaretoken": token.group(1)})
        self.cookies.pop("sessionid", None)

    def think(self) -> None:
        if self.args.think > 0:
            time.sleep(self.rng.uniform(0.5, 1.5) * self.args.think)

    def run(self) -> None:
        self.login()
        i = 0
        while time.monotonic() < self.stop_at and self.budget.acquire(blocking=False):
            i += 1
            step = i % 6
            if step == 1:
                self.timed("dashboard", "GET", "/")
            elif step == 2 and self.has_dashboards:
                text = self.timed("dashboard", "GET", "/dashboards/", ok=(200, 404))
                self.has_dashboards = "<html" in text and "页面不存在" not in text
            elif step in (3, 4):
                page = self.rng.randint(1, 30)
                path = f"/students/?page={page}" if step == 3 or self.username.endswith("school") \
                    else "/students/schools/"
                text = self.timed("list", "GET", path)
                found = re.findall(r'href="/students/(\d+)/"', text)
                if found:
                    self.student_ids = (self.student_ids + found)[-200:]
            elif self.student_ids:
                self.timed("student", "GET", f"/students/{self.rng.choice(self.student_ids)}/")
            if self.args.relogin and i % self.args.relogin == 0:
                self.logout()
                self.login()
            self.think()
        self.conn.close()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default="http://127.0.0.1:8077")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=100_000)
    parser.add_argument("--think", type=float, default=1.0, help="mean think time, seconds (0: none)")
    parser.add_argument("--relogin", type=int, default=30, help="log out and in every N pages (0: never)")
    parser.add_argument("--accounts", default="demo_county,demo_township,demo_school")
    parser.add_argument("--password", default="kongchuo-demo")
    args = parser.parse_args()
    args.accounts = [a.strip() for a in args.accounts.split(",") if a.strip()]
    _loopback_only(urlsplit(args.base_url).hostname or "")

    stats = Stats()
    budget = threading.Semaphore(args.max_requests)
    started = time.monotonic()
    stop_at = started + args.duration
    users = [VirtualUser(n, args, stats, stop_at, budget) for n in range(args.users)]
    for u in users:
        u.start()
        time.sleep(min(0.05, args.duration / max(1, args.users) / 10))  # ramp up over ~2.5 s
    for u in users:
        u.join(timeout=args.duration + 120)
    elapsed = time.monotonic() - started

    print(f"{args.users} users, {elapsed:.0f} s, {stats.count} requests "
          f"({stats.count / elapsed:.1f}/s), think time {args.think:g} s, server {args.base_url}")
    print(f"{'kind':<10}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'errors':>8}")
    total_errors = 0
    for kind in KINDS:
        times = stats.times.get(kind, [])
        errors = stats.errors.get(kind, [])
        total_errors += len(errors)
        if not times:
            continue
        print(f"{kind:<10}{len(times):>7}{percentile(times, 50) * 1000:>10.0f}"
              f"{percentile(times, 95) * 1000:>10.0f}{max(times) * 1000:>10.0f}{len(errors):>8}")
    for kind, errors in stats.errors.items():
        for e in errors[:5]:
            print(f"  error [{kind}] {e}")
    return 1 if total_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
