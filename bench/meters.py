"""How bench_imports.py measures a phase: wall time, CPU time of the process, its reader
processes and its PostgreSQL backend (Meter), and real memory with the readers (PssSampler)."""

from __future__ import annotations

import os
import resource
import time


class Meter:
    """Wall time, CPU time of this process and of its PostgreSQL backend, for one phase.

    On PostgreSQL each phase starts with a CHECKPOINT: the previous phase's dirty buffers and
    WAL (a first import writes ~170 MB of it) are then written before the clock starts, not by
    the checkpointer in the middle of this phase (max_wal_size 1 GB: back-to-back imports
    trigger one every ~30 s), which made the same import vary by half a second."""

    def __init__(self, connection) -> None:
        self.pid = None
        self.tick = os.sysconf("SC_CLK_TCK")
        if connection.vendor != "postgresql":
            return  # SQLite works inside this process: its CPU time is ours
        with connection.cursor() as cur:
            cur.execute("CHECKPOINT")
            cur.execute("SET max_parallel_workers_per_gather = 0")
            cur.execute("SELECT pg_backend_pid()")
            self.pid = cur.fetchone()[0]

    def backend(self) -> float:
        if self.pid is None:
            return 0.0
        try:
            with open(f"/proc/{self.pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self.tick
        except OSError:
            return 0.0

    @staticmethod
    def children() -> float:
        """CPU of the reader processes the import forked and reaped (kongchuo/imports/reader.py)."""
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def __enter__(self):
        self.w0, self.c0, self.b0 = time.perf_counter(), time.process_time(), self.backend()
        self.k0 = self.children()
        return self

    def __exit__(self, *exc) -> None:
        self.wall = time.perf_counter() - self.w0
        self.cpu = time.process_time() - self.c0 + self.children() - self.k0
        self.db = self.backend() - self.b0

    def as_dict(self) -> dict:
        reader = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
        return {"wall": round(self.wall, 2), "cpu": round(self.cpu, 2), "db_cpu": round(self.db, 2),
                "total_cpu": round(self.cpu + self.db, 2), "peak_mb": peak_mb(), "reader_peak_mb": reader}


class PssSampler:
    """The import's real memory with its reader processes: the sum of the proportional set sizes
    (Pss: a page two processes share counts half in each) of this process and its descendants,
    sampled every 250 ms (reading smaps_rollup walks the page tables: sampling more often costs the import a
    measurable share of a core); the highest sum seen."""

    def __init__(self) -> None:
        import threading

        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _pss(pid: int) -> int:
        try:
            with open(f"/proc/{pid}/smaps_rollup") as fh:
                for text in fh:
                    if text.startswith("Pss:"):
                        return int(text.split()[1])
        except OSError:
            pass
        return 0

    @staticmethod
    def _descendants(pid: int) -> list[int]:
        """The children, and theirs: the import's second reader is its reader's child."""
        found, todo = [], [pid]
        while todo:
            parent = todo.pop()
            try:
                with open(f"/proc/{parent}/task/{parent}/children") as fh:
                    kids = [int(p) for p in fh.read().split()]
            except OSError:
                kids = []
            found += kids
            todo += kids
        return found

    def _run(self) -> None:
        me = os.getpid()
        while not self._stop.wait(0.25):
            kids = self._descendants(me)
            self.peak = max(self.peak, self._pss(me) + sum(self._pss(k) for k in kids))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def peak_mb() -> int:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss
    across fork+exec, so a phase would report the generating parent's peak as its own."""
    try:
        with open("/proc/self/status") as fh:
            for text in fh:
                if text.startswith("VmHWM:"):
                    return round(int(text.split()[1]) / 1024)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
