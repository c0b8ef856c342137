"""A big workbook is parsed and validated in a child process, beside the safety pre-scan.

For a county roster (200,000 rows, 140 MB of sheet XML) the pre-scan (bounded inflation and
the real cell extent, kongchuo.tabular.prescan: ~1.3 s), calamine's parse (~1.9 s) and the row
checks (~2 s) each want a core, and the import ran them one after the other on one. Here the
runner forks a reader:

- the child parses the sheet with calamine at once, finds the header and runs the validator
  (cell parsers, check_row, duplicate keys) exactly as the runner would in-process, and sends
  the valid rows to the parent in pickled batches, with the errors and warnings they raised;
- the parent meanwhile runs the pre-scan, then consumes the rows (the kind's plan: for the
  county's first roster a COPY straight into the students table, which the database works on
  while the child is still validating).

Safety: the parent uses nothing the child sends before its own pre-scan of the file has
passed, and kills the child as soon as the pre-scan fails. The child parses under a hard
address-space cap (RLIMIT_AS, KONGCHUO_IMPORT_READER_MEMORY_MB): a sparse-sheet bomb that
makes calamine ask for gigabytes aborts the child, not the worker. The child has no database:
any attempt raises, so it can never write through the parent's connection. It leaves with
os._exit, so nothing it inherited (connections, files, atexit hooks) is closed or flushed twice.
What it sends is unpickled with an allow-list of classes.
"""

from __future__ import annotations

import gc
import io
import logging
import os
import pickle
import queue
import resource
import signal
import struct
import threading
import traceback
from collections.abc import Iterator
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.db import connections

from kongchuo.imports.base import ImportContext, ImportKind
from kongchuo.tabular import HeaderMap, TabularError, find_header, open_sheet

log = logging.getLogger(__name__)

BATCH = 5000  # rows per message
QUEUED_BATCHES = 8  # messages held for the parent (~12 MB of a roster) before the child waits
_LEN = struct.Struct("<Q")


def reader_wanted(path: str | os.PathLike[str], fmt: str) -> bool:
    """Workbooks of at least KONGCHUO_IMPORT_READER_MIN_BYTES, where fork exists (-1: never)."""
    threshold = settings.KONGCHUO_IMPORT_READER_MIN_BYTES
    return (fmt in ("xlsx", "xls") and hasattr(os, "fork") and threshold >= 0
            and os.path.getsize(path) >= threshold)


class ReaderCrashed(RuntimeError):
    """The reader process failed for a reason that is not the file's (a bug): the import fails."""


# --------------------------------------------------------------------------- the parent's side


class ChildReader:
    """The forked reader of one import. Close it in every case (kills and reaps the child)."""

    def __init__(self, path: str | os.PathLike[str], fmt: str, kind: ImportKind, ctx: ImportContext, *,
                 max_rows: int, max_cells: int) -> None:
        self.kind = kind
        self.pid = 0
        self.status: int | None = None
        self._closing = False
        self._drain: threading.Thread | None = None
        self._in: Any = None
        fields = ["row", *[f.key for f in kind.fields], *(["_raw"] if kind.keep_raw else []),
                  *kind.computed]
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            _child_run(write_fd, path, fmt, kind, ctx, fields, max_rows, max_cells)
        os.close(write_fd)
        self.pid = pid
        self._in = open(read_fd, "rb", buffering=1 << 20)  # noqa: SIM115 - closed by close()
        # A thread drains the pipe, so the child keeps validating while this process waits
        # on the database (a batch's history INSERT): the pipe itself holds only 64 KB.
        self._frames: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED_BATCHES)
        self._drain = threading.Thread(target=self._drain_pipe, name=f"import-reader-{pid}", daemon=True)
        self._drain.start()

    def _drain_pipe(self) -> None:
        stream = self._in
        try:
            while True:
                head = stream.read(_LEN.size)
                if len(head) < _LEN.size:
                    break
                (size,) = _LEN.unpack(head)
                data = stream.read(size)
                if len(data) < size:
                    break
                if not self._put(data):
                    return
        except (OSError, ValueError):  # closed under us by close()
            pass
        finally:
            self._put(None)

    def _put(self, item: bytes | None) -> bool:
        while True:  # never block for good on a full queue nobody reads any more
            try:
                self._frames.put(item, timeout=0.1)
                return True
            except queue.Full:
                if self._closing:
                    return False

    def header(self) -> tuple[HeaderMap, int | None, str]:
        """(header, sheet height, sheet name), or the TabularError the child met first (its
        `sheet`: the sheet it read, or None)."""
        message = self._receive()
        if message[0] != "header":
            self._unexpected(message)
        return message[1], message[2], message[3]

    def rows(self, ctx: ImportContext, stats: dict[str, Any],
             progress: Any = None) -> Iterator[tuple]:
        """The valid rows' field values, in file order; `stats` gets count, dup_rows and
        keys_seen at the end, ctx the errors and warnings as their rows arrive."""
        seen = 0
        while True:
            message = self._receive()
            tag = message[0]
            if tag == "rows":
                _tag, batch, errors, warnings, seen = message
                ctx.errors.extend(errors)
                ctx.warnings.extend(warnings)
                if progress is not None:
                    progress(seen)
                yield from batch
            elif tag == "done":
                stats.update(count=message[1], dup_rows=message[2], keys_seen=message[3])
                return
            else:
                self._unexpected(message)

    def finish(self) -> None:
        """After "done": the child exits by itself; reap it."""
        self._reap()
        self.close()

    def close(self) -> None:
        self._closing = True
        if self.pid and self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()
        if self._drain is not None:  # the pipe ends with the child: the thread stops
            self._drain.join(timeout=5)
            self._drain = None
        if self._in is not None:
            self._in.close()
            self._in = None

    def _reap(self) -> int:
        if self.status is None:
            _pid, status = os.waitpid(self.pid, 0)
            self.status = status
        return self.status

    def _receive(self) -> tuple:
        data = self._frames.get() if not self._closing else None
        if data is None:
            return self._died()
        return _Unpickler(io.BytesIO(data)).load()

    def _died(self) -> tuple:
        """The pipe ended early: the child was killed (its memory cap: the file needs more
        than a sheet of this size can) or crashed."""
        status = self._reap()
        if os.WIFSIGNALED(status):
            log.warning("import reader %s killed by signal %s", self.pid, os.WTERMSIG(status))
            raise TabularError("file_unsafe")
        raise ReaderCrashed(f"import reader exited with {os.waitstatus_to_exitcode(status)}")

    def _unexpected(self, message: tuple) -> None:
        if message[0] == "error":
            error = TabularError(message[1], message[2], message[3])
            error.sheet = message[4] if len(message) > 4 else None  # type: ignore[attr-defined]
            raise error
        if message[0] == "crash":
            raise ReaderCrashed(message[1])
        raise ReaderCrashed(f"unexpected message {message[0]!r}")


_ALLOWED_MODULES = ("kongchuo.", "students.", "ledgers.", "retrieval.", "dashboards.")
_ALLOWED = {("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"),
            ("datetime", "timedelta"), ("datetime", "timezone"), ("decimal", "Decimal"),
            ("django.db.models.base", "model_unpickle"), ("django.db.models.base", "ModelState"),
            ("django.db.models.base", "ModelStateFieldsCacheDescriptor")}


class _Unpickler(pickle.Unpickler):
    """Only values, the machinery's own classes and model instances: the child parsed an
    untrusted file, so what it sends is read as data, never as arbitrary objects."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED or module.startswith(_ALLOWED_MODULES):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed from the import reader")


# --------------------------------------------------------------------------- the child's side


def _child_run(fd: int, path: Any, fmt: str, kind: ImportKind, ctx: ImportContext,
               fields: list[str], max_rows: int, max_cells: int) -> None:
    code = 0
    out = None
    try:
        out = open(fd, "wb", buffering=1 << 20)  # noqa: SIM115 - flushed, then os._exit
        _sandbox()
        _read_and_validate(out, path, fmt, kind, ctx, fields, max_rows, max_cells)
    except BrokenPipeError:  # the parent is gone or gave up (its pre-scan failed)
        code = 3
    except BaseException:  # a bug: tell the parent, which fails the import
        code = 1
        try:
            if out is not None:
                _send(out, ("crash", traceback.format_exc(limit=8)))
        except BaseException:  # noqa: S110 - nothing left to tell it with
            pass
    finally:
        try:
            if out is not None:
                out.flush()
        except BaseException:  # noqa: S110
            pass
        os._exit(code)


def _sandbox() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _die_with_parent()
    cap = settings.KONGCHUO_IMPORT_READER_MEMORY_MB * 1024 * 1024
    if cap > 0:
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = _address_space() + cap
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        if soft == resource.RLIM_INFINITY or soft > limit:
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    # A short-lived process: its garbage leaves with it, and collecting would only walk (and
    # copy, page by page) the parent's heap it shares.
    gc.freeze()
    gc.disable()
    for alias in connections:
        _forbid_database(connections[alias])


def _address_space() -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _die_with_parent() -> None:
    """Linux: the child is killed when the parent dies (a killed worker leaves no reader)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _forbid_database(conn: Any) -> None:
    """The inherited connection belongs to the parent's session: drop it without closing (a
    close would end the parent's session) and refuse any new one."""
    conn.connection = None

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the import reader process has no database access")

    conn.ensure_connection = refuse
    conn.connect = refuse


def _send(out: Any, message: tuple) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LEN.pack(len(data)))
    out.write(data)


def _read_and_validate(out: Any, path: Any, fmt: str, kind: ImportKind, ctx: ImportContext,
                       fields: list[str], max_rows: int, max_cells: int) -> None:
    from kongchuo.imports.runner import _Validator

    rows = None
    try:
        rows = open_sheet(path, fmt, None, max_rows=max_rows, max_cells=max_cells)
        header = find_header(rows, kind.columns())
    except TabularError as exc:  # with the sheet it read, if it got that far
        _send(out, ("error", exc.code, exc.message_zh, exc.message_en, rows and rows.sheet_name))
        return
    _send(out, ("header", header, rows.height, rows.sheet_name))
    out.flush()
    ctx.header = header
    ctx.present = frozenset(header.columns)
    ctx.progress = _no_progress
    ctx.job = None
    ctx.errors, ctx.warnings = [], []
    validator = _Validator(rows, header, kind, ctx, None)
    del rows
    values = attrgetter(*fields)
    batch: list[tuple] = []
    sent_errors = sent_warnings = 0
    try:
        for row in validator:
            batch.append(values(row))
            if len(batch) >= BATCH:
                _send(out, ("rows", batch, ctx.errors[sent_errors:], ctx.warnings[sent_warnings:],
                            validator.seen))
                sent_errors, sent_warnings = len(ctx.errors), len(ctx.warnings)
                batch = []
    except TabularError as exc:  # the row cap, met while iterating
        _send(out, ("error", exc.code, exc.message_zh, exc.message_en))
        return
    _send(out, ("rows", batch, ctx.errors[sent_errors:], ctx.warnings[sent_warnings:], validator.count))
    _send(out, ("done", validator.count, validator.dup_rows, validator.keys_seen))


def _no_progress(_pct: int) -> None:
    return None

