"""Load drill (issue 7, item 18): N users for T seconds on loopback against a running portal.

    python bench/load_site.py --base-url http://127.0.0.1:8077 --users 50 --duration 60

or let it start the portal itself, as production runs it (the Procfile's `web:` line: gunicorn,
its worker count and flags, bound to 127.0.0.1 on a free port), with DJANGO_DEBUG=0, a throwaway
SECRET_KEY, KONGCHUO_REQUIRE_OTP=0 (the demo logins have no authenticator), static files
collected into a temporary STATIC_ROOT, and stop it afterwards:

    python bench/load_site.py --serve \
        --database-url postgres://postgres@127.0.0.1:5432/kongchuo_dash_bench \
        --redis-url redis://127.0.0.1:6379/2 --users 50 --duration 60

With --serve it also reports the server side from gunicorn's access log (request time per page
kind: the difference to the client's figure is time queued for a worker) and the CPU the
gunicorn processes used per request; the load average is printed at start and end (a shared
machine inflates wall times, not CPU per request).

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
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from proctime import tree_cpu_seconds  # bench/ is the script's folder: on sys.path

ROOT = Path(__file__).resolve().parent.parent

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


# -- --serve: the portal as production runs it, on loopback ------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _procfile_web(port: int) -> str:
    """The Procfile's web command (run from ROOT); gunicorn.conf.py binds it to 127.0.0.1:$PORT."""
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.startswith("web:"):
            return line.split(":", 1)[1].strip()
    sys.exit("Procfile has no web: line")


class Server:
    def __init__(self, args):
        self.port = _free_port()
        self.static = tempfile.mkdtemp(prefix="kongchuo-load-static-")
        fd, self.log_path = tempfile.mkstemp(prefix="kongchuo-load-access-", suffix=".log")
        os.close(fd)
        self.env = dict(os.environ, DJANGO_DEBUG="0", SECRET_KEY=secrets.token_urlsafe(50),
                        ALLOWED_HOSTS="127.0.0.1,localhost", DATABASE_URL=args.database_url,
                        KONGCHUO_REQUIRE_OTP="0", STATIC_ROOT=self.static, PORT=str(self.port),
                        LOG_LEVEL=os.environ.get("LOG_LEVEL", "WARNING"))
        if args.redis_url:
            self.env["REDIS_URL"] = args.redis_url
        else:
            self.env.pop("REDIS_URL", None)
        self.command = _procfile_web(self.port)
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "collectstatic", "--noinput",
                        "-v", "0"], cwd=ROOT, env=self.env, check=True)
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(["bash", "-c", f"exec {self.command}"], cwd=ROOT,
                                         env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/accounts/login/", headers={"X-Forwarded-Proto": "https"})
                if conn.getresponse().status == 200:
                    return f"http://127.0.0.1:{self.port}"
            except OSError:
                time.sleep(0.5)
        self.stop()
        sys.exit("the portal did not answer within 60 s; see " + self.log_path)

    def cpu_seconds(self) -> float:
        """CPU used so far by gunicorn: the master and its workers (children of the master)."""
        return 0.0 if self.proc is None else tree_cpu_seconds(self.proc.pid)

    def warm(self, base: str, accounts: list[str], password: str) -> None:
        """One login per account and per worker: imports, template and translation caches warm."""
        args = argparse.Namespace(accounts=accounts, password=password, base_url=base, think=0,
                                  relogin=0)
        stats = Stats()
        for n in range(len(accounts) * 3):
            user = VirtualUser(n, args, stats, time.monotonic() + 5, threading.Semaphore(1))
            user.login()
            user.timed("dashboard", "GET", "/")
            user.timed("list", "GET", "/students/")

    def log_lines(self) -> list[str]:
        return Path(self.log_path).read_text(errors="replace").splitlines()

    def server_times(self, skip: int) -> dict[str, list[float]]:
        """Request time (seconds, %(L)s) per page kind from the access log, after line `skip`."""
        times: dict[str, list[float]] = defaultdict(list)
        pattern = re.compile(r'"(GET|POST) (\S+) [^"]*" (\d{3}) \S+ ([0-9.]+)$')
        for line in self.log_lines()[skip:]:
            found = pattern.search(line)
            if found:
                times[_kind_of(found.group(2))].append(float(found.group(4)))
        return times

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the process group we started, nothing else
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        shutil.rmtree(self.static, ignore_errors=True)


def _kind_of(path: str) -> str:
    if path.startswith("/accounts/"):
        return "login"
    if re.fullmatch(r"/students/\d+/", path):
        return "student"
    if path.startswith("/students/"):
        return "list"
    return "dashboard"


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
    parser.add_argument("--serve", action="store_true",
                        help="start the portal (Procfile web: line, production settings) on loopback")
    parser.add_argument("--database-url", default=os.environ.get(
        "DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kongchuo_dash_bench"),
        help="with --serve: the seeded database")
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""),
                        help="with --serve: cache (and broker) as in production; empty: local memory")
    args = parser.parse_args()
    args.accounts = [a.strip() for a in args.accounts.split(",") if a.strip()]
    server = None
    if args.serve:
        server = Server(args)
        args.base_url = server.start()
        print(f"serving: {server.command}")
    try:
        return _drill(args, server)
    finally:
        if server is not None:
            server.stop()


def _drill(args, server) -> int:
    _loopback_only(urlsplit(args.base_url).hostname or "")
    if server is not None:
        server.warm(args.base_url, args.accounts, args.password)
        cpu_before = server.cpu_seconds()
        log_skip = len(server.log_lines())
    print(f"load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} CPUs (a shared machine stretches wall times)")

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
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if server is not None:
        cpu = server.cpu_seconds() - cpu_before
        times = server.server_times(log_skip)
        served = sum(len(v) for v in times.values())
        print(f"server: {served} requests in the access log, gunicorn CPU {cpu:.1f} s = "
              f"{cpu / max(1, served) * 1000:.1f} ms per request (PostgreSQL's CPU not included)")
        print(f"{'server':<10}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
        for kind in KINDS:
            values = times.get(kind, [])
            if values:
                print(f"{kind:<10}{len(values):>7}{percentile(values, 50) * 1000:>10.0f}"
                      f"{percentile(values, 95) * 1000:>10.0f}{max(values) * 1000:>10.0f}")
    return 1 if total_errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
