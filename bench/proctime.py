"""CPU seconds of a process and its direct children, read from /proc (Linux).

The load scripts use it for gunicorn (master + workers): unlike latencies, a busy shared machine
does not inflate it. PostgreSQL's backends are not children of gunicorn, so their CPU is not in it.
"""

from __future__ import annotations

import os
from pathlib import Path


def tree_cpu_seconds(pid: int) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total
