#!/usr/bin/env python
"""Load test of the dashboards: N concurrent users for T seconds against gunicorn on loopback.

Starts gunicorn bound to 127.0.0.1 on a free port (never another interface), logs each virtual
user in through the real login form, then every user loops over the pages county staff open in
the morning — their home page (cached dashboard), the same page with a filter, and a drill-down
list — until the time is up. Prints p50/p95/p99 latency, throughput and the error count, stops
the server it started, and exits non-zero on any error. Beside the latencies (which a busy
shared machine stretches) it prints the CPU gunicorn used per request.

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/kongchuo_dash_bench   # seeded demo
    .venv/bin/python bench/load_dashboards.py --users 20 --seconds 60

Uses the demo logins (demo_county / demo_township / demo_school, password kongchuo-demo) that
`seed_demo` creates. Set REDIS_URL to run against the production cache backend.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from proctime import tree_cpu_seconds  # bench/ is the script's folder: on sys.path

ROOT = Path(__file__).resolve().parent.parent
USERS = ("demo_county", "demo_township", "demo_school")
PASSWORD = os.environ.get("DEMO_PASSWORD", "kongchuo-demo")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
LINK = re.compile(r'href="(/dashboards/list/[a-z_]+/\?[^"]*)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kongchuo_dash_bench")
    env.setdefault("LOG_LEVEL", "WARNING")
    # DEBUG stays on: production settings mark session cookies Secure, which plain-HTTP
    # loopback cannot carry. The second factor is off for the demo logins either way.
    env["DJANGO_DEBUG"] = "1"
    env["KONGCHUO_REQUIRE_OTP"] = "0"
    cmd = [str(ROOT / ".venv/bin/gunicorn"), "kongchuo.wsgi", "--bind", f"127.0.0.1:{port}",
           "--workers", str(workers), "--threads", "2", "--timeout", "60", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise SystemExit("gunicorn did not come up within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)  # the process group we started, nothing else
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def gunicorn_cpu(proc: subprocess.Popen) -> float:
    """CPU seconds used so far by the gunicorn we started: the master and its workers."""
    return tree_cpu_seconds(proc.pid)


class VirtualUser:
    def __init__(self, base: str, username: str, seed: int, lists: float = 0.15):
        self.base = base
        self.lists = lists
        self.username = username
        self.rng = random.Random(seed)
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.links: list[str] = []

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=30) as r:
            return r.read().decode("utf-8", "replace")

    def login(self) -> None:
        page = self.get("/accounts/login/")
        token = CSRF.search(page).group(1)
        data = urllib.parse.urlencode({"username": self.username, "password": PASSWORD,
                                       "csrfmiddlewaretoken": token, "next": "/"}).encode()
        request = urllib.request.Request(  # noqa: S310 - base is our own http://127.0.0.1 server
            self.base + "/accounts/login/", data=data,
            headers={"Referer": self.base + "/accounts/login/"})
        with self.opener.open(request, timeout=30) as r:
            body = r.read().decode("utf-8", "replace")
        if "dash-charts" not in body:
            raise RuntimeError(f"login of {self.username} did not reach the dashboard")
        self.links = LINK.findall(body)[:40] or ["/"]

    def next_path(self) -> str:
        roll = self.rng.random()
        if roll < self.lists:
            return self.rng.choice(self.links).replace("&amp;", "&")
        if roll < self.lists + (1 - self.lists) * 0.8:
            return "/"
        return "/?season=autumn"


def kind_of(path: str) -> str:
    return "list" if path.startswith("/dashboards/list/") else "home"


def run(base: str, users: int, seconds: float, lists: float,
        server: subprocess.Popen) -> tuple[list[tuple[str, float]], int, list[str], float]:
    latencies: list[tuple[str, float]] = []
    errors: list[str] = []
    lock = threading.Lock()
    vus = [VirtualUser(base, USERS[i % len(USERS)], i, lists) for i in range(users)]
    for vu in vus:
        vu.login()
    cpu_before = gunicorn_cpu(server)
    start = threading.Barrier(users)
    stop_at = [0.0]

    def loop(vu: VirtualUser) -> None:
        start.wait()
        if not stop_at[0]:
            stop_at[0] = time.perf_counter() + seconds
        while time.perf_counter() < stop_at[0]:
            path = vu.next_path()
            t0 = time.perf_counter()
            try:
                vu.get(path)
                elapsed = (time.perf_counter() - t0) * 1000
                with lock:
                    latencies.append((kind_of(path), elapsed))
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                with lock:
                    errors.append(f"{path}: {exc}")

    threads = [threading.Thread(target=loop, args=(vu,), daemon=True) for vu in vus]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 60)
    return latencies, len(latencies) + len(errors), errors, gunicorn_cpu(server) - cpu_before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=max(2, (os.cpu_count() or 2) * 2))
    parser.add_argument("--lists", type=float, default=0.15,
                        help="share of requests that open a drill-down list (default 0.15)")
    args = parser.parse_args()
    if not 1 <= args.users <= 200 or not 1 <= args.seconds <= 600:
        raise SystemExit("--users must be 1..200 and --seconds 1..600")
    port = free_port()
    load_before = f"{os.getloadavg()[0]:.1f}"
    server = start_server(port, args.workers)
    try:
        latencies, total, errors, cpu = run(f"http://127.0.0.1:{port}", args.users, args.seconds,
                                            args.lists, server)
    finally:
        stop_server(server)
    if len(latencies) < 2:
        print("no successful requests;", errors[:5])
        return 1
    print(f"{args.users} users × {args.seconds:.0f} s on 127.0.0.1 (gunicorn {args.workers} workers × 2 threads)"
          f" · load average before/after {load_before} / {os.getloadavg()[0]:.1f}")
    print(f"requests {total} · {len(latencies) / args.seconds:.1f} req/s · errors {len(errors)} · "
          f"gunicorn CPU {cpu:.1f} s = {cpu / max(1, total) * 1000:.1f} ms per request "
          f"(PostgreSQL's not included)")
    for label, values in (("all", [ms for _, ms in latencies]),
                          ("home pages", [ms for k, ms in latencies if k == "home"]),
                          ("drill-down lists", [ms for k, ms in latencies if k == "list"])):
        if len(values) < 2:
            continue
        q = statistics.quantiles(values, n=100)
        print(f"  {label:17} n={len(values):5} p50 {q[49]:6.0f} ms · p95 {q[94]:6.0f} ms · "
              f"p99 {q[98]:6.0f} ms · max {max(values):6.0f} ms")
    for line in errors[:5]:
        print("  error:", line)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
