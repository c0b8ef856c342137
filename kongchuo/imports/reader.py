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
  while the child is still validating). A kind may ask for its rows as text instead
  (ImportKind.reader_lines: the roster's direct-load COPY lines): the child formats each block
  and the parent hands the text to COPY as it came, without a Python object per row.

Safety: the parent uses nothing the child sends before its own pre-scan of the file has
passed, and kills the child as soon as the pre-scan fails. The child parses under a hard
address-space cap (RLIMIT_AS: KONGCHUO_IMPORT_READER_MEMORY_MB, and at most 256 MB + 4 × the
workbook's uncompressed size): a sparse-sheet bomb that makes calamine ask for gigabytes
aborts the child, not the worker. The child has no database:
any attempt raises, so it can never write through the parent's connection. It leaves with
os._exit, so nothing it inherited (connections, files, atexit hooks) is closed or flushed twice.
What it sends is unpickled with an allow-list of classes.
"""

from __future__ import annotations

import enum
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
import zipfile
from collections.abc import Iterator
from operator import attrgetter
from typing import Any

from django.conf import settings
from django.db import connections

from kongchuo.imports.base import ImportContext, ImportKind, Issue, LineFormat
from kongchuo.tabular import HeaderMap, TabularError, find_header, open_sheet

log = logging.getLogger(__name__)

BATCH = 5000  # data rows per block: a message per block
QUEUED_BATCHES = 8  # messages held for the parent (~12 MB of a roster) before the child waits
_LEN = struct.Struct("<Q")


def readers_at_most(lines: bool) -> int:
    """KONGCHUO_IMPORT_READER_PROCESSES, or with 0 (automatic) 2 readers for rows sent as COPY
    text (the importing process has little to do but forward them) and 1 otherwise."""
    wanted = settings.KONGCHUO_IMPORT_READER_PROCESSES
    if wanted > 0:
        return wanted
    return min(2, os.cpu_count() or 1) if lines else 1


def reader_wanted(path: str | os.PathLike[str], fmt: str) -> bool:
    """Workbooks of at least KONGCHUO_IMPORT_READER_MIN_BYTES, where fork exists (-1: never)."""
    threshold = settings.KONGCHUO_IMPORT_READER_MIN_BYTES
    return (fmt in ("xlsx", "xls") and hasattr(os, "fork") and threshold >= 0
            and os.path.getsize(path) >= threshold)


class ReaderCrashed(RuntimeError):
    """The reader process failed for a reason that is not the file's (a bug): the import fails."""


# --------------------------------------------------------------------------- the parent's side


class _Stream:
    """One reader's pipe, drained by a thread into a bounded queue, so a reader keeps
    validating while this process waits on the database (a batch's history INSERT): the pipe
    itself holds only 64 KB."""

    def __init__(self, fd: int, name: str) -> None:
        self.file: Any = open(fd, "rb", buffering=1 << 20)  # noqa: SIM115 - closed by close()
        self.frames: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED_BATCHES)
        self.closing = False
        self.ended = False
        self.thread = threading.Thread(target=self._drain, name=name, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        stream = self.file
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
                self.frames.put(item, timeout=0.1)
                return True
            except queue.Full:
                if self.closing:
                    return False

    def receive(self) -> tuple | None:
        """The next message, or None when the pipe ended without one (the writer died)."""
        data = None if self.closing or self.ended else self.frames.get()
        if data is None:
            self.ended = True
            return None
        return _Unpickler(io.BytesIO(data)).load()

    def close(self) -> None:
        self.closing = True
        self.thread.join(timeout=5)
        self.file.close()


class ChildReader:
    """The forked readers of one import: a child that parses the sheet, and as many
    grandchildren (KONGCHUO_IMPORT_READER_PROCESSES in all) forked from it once the sheet is
    parsed, sharing it. Reader r validates the blocks of BATCH data rows whose number is r
    modulo the readers; the blocks come back in file order, one reader after the other.
    Close it in every case: it kills the child if still alive and reaps it (the other readers
    die with it)."""

    def __init__(self, path: str | os.PathLike[str], fmt: str, kind: ImportKind, ctx: ImportContext, *,
                 max_rows: int, max_cells: int, line_format: LineFormat | None = None) -> None:
        self.pid = 0
        self.status: int | None = None
        self.others: list[int] = []  # the grandchildren's pids (the child reaps them)
        self.lines = False  # the rows come as line_format's text (known from the header)
        fields = ["row", *[f.key for f in kind.fields], *(["_raw"] if kind.keep_raw else []),
                  *kind.computed]
        cap = memory_cap(path, fmt)
        pipes = [os.pipe() for _ in range(max(1, readers_at_most(line_format is not None)))]
        try:
            pid = os.fork()
        except OSError:  # no process to be had (EAGAIN, ENOMEM): the caller reads in-process
            for read_fd, write_fd in pipes:
                os.close(read_fd)
                os.close(write_fd)
            raise
        if pid == 0:  # the child: never returns
            for read_fd, _w in pipes:
                os.close(read_fd)
            _child_run([w for _r, w in pipes], path, fmt, kind, ctx, fields, max_rows, max_cells, cap,
                       line_format)
        for _r, write_fd in pipes:
            os.close(write_fd)
        self.pid = pid
        log.info("import %s: reader process %s forked", kind.slug, pid)
        self.streams = [_Stream(r, f"import-reader-{pid}-{i}") for i, (r, _w) in enumerate(pipes)]

    def header(self) -> tuple[HeaderMap, int | None, str]:
        """(header, sheet height, sheet name), or the TabularError the child met first (its
        `sheet`: the sheet it read, or None). `lines` tells how the rows will come."""
        message = self._receive(0)
        if message[0] != "header":
            self._unexpected(message)
        _tag, header, height, sheet, readers, self.lines = message[:6]
        self.others = list(readers[1:])
        for stream in self.streams[len(readers):]:  # a small sheet: fewer readers
            stream.close()
        del self.streams[len(readers):]
        return header, height, sheet

    def rows(self, ctx: ImportContext, stats: dict[str, Any],
             progress: Any = None) -> Iterator[tuple]:
        """The valid rows' field values, in file order, or with `lines` their text: (text,
        rows) per block; `stats` gets count, dup_rows and keys_seen at the end, ctx the errors
        and warnings as their rows arrive."""
        block = 0
        n = len(self.streams)
        while True:
            message = self._receive(block % n)
            tag = message[0]
            if tag == "rows" or tag == "lines":
                _tag, batch, errors, warnings, seen = message
                ctx.errors.extend(errors)
                ctx.warnings.extend(warnings)
                if progress is not None:
                    progress(seen)
                block += 1
                if tag == "rows":
                    yield from batch
                else:  # the COPY text of `rows` rows: one line each, or the reader is broken
                    text, rows = batch
                    lines = text.count(b"\n")
                    if lines != rows:
                        raise ReaderCrashed(f"a block of text holds {lines} lines for {rows} rows")
                    yield batch
            elif tag == "done":  # no block from here on: every other reader is done too
                parts = [message[1:]]
                for i in range(1, n):
                    last = self._receive((block + i) % n)
                    if last[0] != "done":
                        self._unexpected(last)
                    parts.append(last[1:])
                stats.update(_merge_parts(parts))
                return
            else:
                self._unexpected(message)

    def finish(self) -> None:
        """After every reader said "done": they exit by themselves; reap the child."""
        self._reap()
        self.close()

    def close(self) -> None:
        # Only the child is killed from here: the other readers are its children, and it may
        # have reaped them already (their pids free for reuse). They die with it
        # (PR_SET_PDEATHSIG), or at their next write to a pipe nobody reads.
        if self.pid and self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()
        for stream in self.streams:
            stream.close()
        self.streams = []

    def _reap(self) -> int:
        if self.status is None:
            _pid, status = os.waitpid(self.pid, 0)
            self.status = status
        return self.status

    def _receive(self, i: int) -> tuple:
        message = self.streams[i].receive()
        if message is None:
            return self._died(i)
        return message

    def _died(self, i: int) -> tuple:
        """A pipe ended early: its reader was killed (the memory cap: the file needs more than a
        sheet of this size can) or crashed."""
        if i == 0:
            status = self._reap()
            if os.WIFSIGNALED(status):
                log.warning("import reader %s killed by signal %s", self.pid, os.WTERMSIG(status))
                raise TabularError("file_unsafe")
            raise ReaderCrashed(f"import reader exited with {os.waitstatus_to_exitcode(status)}")
        log.warning("import reader %s ended without a word", self.others[i - 1])
        raise TabularError("file_unsafe")

    def _unexpected(self, message: tuple) -> None:
        if message[0] == "error":
            error = TabularError(message[1], message[2], message[3])
            error.sheet = message[4] if len(message) > 4 else None  # type: ignore[attr-defined]
            raise error
        if message[0] == "crash":
            raise ReaderCrashed(message[1])
        raise ReaderCrashed(f"unexpected message {message[0]!r}")


def _merge_parts(parts: list[tuple]) -> dict[str, Any]:
    """count, dup_rows and keys_seen of the whole file from each reader's (count, dup_rows,
    first row per key): a key two readers saw is duplicated across their blocks."""
    count = parts[0][0]
    dup_rows: dict[Any, list[int]] = {}
    for _count, dups, _seen in parts:
        for key, numbers in dups.items():
            dup_rows.setdefault(key, []).extend(numbers)
    keys_seen: set[Any] = set()
    shared: set[Any] = set()
    for _count, _dups, seen in parts:
        shared |= keys_seen.intersection(seen)
        keys_seen.update(seen)
    for key in shared:
        numbers = dup_rows.setdefault(key, [])
        for _count, dups, seen in parts:
            if key in seen and key not in dups:
                numbers.append(seen[key])
    for numbers in dup_rows.values():
        numbers.sort()
    return {"count": count, "dup_rows": dup_rows, "keys_seen": keys_seen}


_ALLOWED = {("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"),
            ("datetime", "timedelta"), ("datetime", "timezone"), ("decimal", "Decimal"),
            ("django.db.models.base", "model_unpickle"), ("django.db.models.base", "ModelState"),
            ("django.db.models.base", "ModelStateFieldsCacheDescriptor")}
_APPS = ("kongchuo.", "students.", "ledgers.", "retrieval.", "dashboards.")


class _Unpickler(pickle.Unpickler):
    """Only values: datetimes, decimals, model instances (rebuilt by Django from their app
    label), the import machinery's Issue and HeaderMap, and the choice enums of the portal's
    apps. The child parsed an untrusted file, so what it sends is read as data; no function
    of any module may be called."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module.startswith(_APPS):
            found = super().find_class(module, name)
            if found in (Issue, HeaderMap) or (isinstance(found, type) and issubclass(found, enum.Enum)):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed from the import reader")


# --------------------------------------------------------------------------- the child's side


def _child_run(fds: list[int], path: Any, fmt: str, kind: ImportKind, ctx: ImportContext,
               fields: list[str], max_rows: int, max_cells: int, cap: int,
               line_format: LineFormat | None) -> None:
    code = 0
    out = None
    try:
        out = open(fds[0], "wb", buffering=1 << 20)  # noqa: SIM115 - flushed, then os._exit
        _sandbox(cap)
        _read_and_validate(out, fds, path, fmt, kind, ctx, fields, max_rows, max_cells, line_format)
    except BrokenPipeError:  # the parent is gone or gave up (its pre-scan failed)
        code = 3
    except BaseException:  # a bug: tell the parent, which fails the import
        code = 1
        _tell_crash(out)
    finally:
        try:
            if out is not None:
                out.flush()
        except BaseException:  # noqa: S110
            pass
        os._exit(code)


READER_BASE = 256 * 1024 * 1024
READER_PER_BYTE = 4  # calamine held ~2 bytes per byte of sheet XML on a county roster


def memory_cap(path: Any, fmt: str) -> int:
    """The reader's address space above what it inherits: KONGCHUO_IMPORT_READER_MEMORY_MB, and
    no more than 256 MB + 4 × the workbook's uncompressed size (twice what calamine needed for
    a county roster), so a small file cannot make it take gigabytes (0: no cap)."""
    cap = settings.KONGCHUO_IMPORT_READER_MEMORY_MB * 1024 * 1024
    if cap <= 0:
        return 0
    try:
        if fmt == "xlsx":
            with zipfile.ZipFile(path) as zf:
                size = sum(i.file_size for i in zf.infolist())
        else:
            size = os.path.getsize(path)
    except (OSError, zipfile.BadZipFile):
        return cap
    return min(cap, READER_BASE + READER_PER_BYTE * size)


def _sandbox(cap: int) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _die_with_parent()
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


_INHERITED: list[Any] = []  # the child's copies of the parent's connections, never freed


def _forbid_database(conn: Any) -> None:
    """The inherited connection belongs to the parent's session: set it aside without closing
    (a close, or freeing the object, would end the parent's session or release its locks) and
    refuse any new one."""
    if conn.connection is not None:
        _INHERITED.append(conn.connection)
    conn.connection = None

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("the import reader process has no database access")

    conn.ensure_connection = refuse
    conn.connect = refuse


def _tell_crash(out: Any) -> None:
    """Send the exception being handled to the parent (it raises ReaderCrashed with it)."""
    try:
        if out is not None:
            _send(out, ("crash", traceback.format_exc(limit=8)))
            out.flush()
    except BaseException:  # noqa: S110 - nothing left to tell it with
        pass


def _send(out: Any, message: tuple) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LEN.pack(len(data)))
    out.write(data)


def _read_and_validate(out: Any, fds: list[int], path: Any, fmt: str, kind: ImportKind,
                       ctx: ImportContext, fields: list[str], max_rows: int, max_cells: int,
                       line_format: LineFormat | None) -> None:
    rows = None
    # What the lines need (the roster's pinyin dictionaries) loads beside calamine's parse,
    # which does not hold the GIL.
    warm_up = _Background(line_format.warm_up, ctx) if line_format and line_format.warm_up else None
    try:
        rows = open_sheet(path, fmt, None, max_rows=max_rows, max_cells=max_cells)
        header = find_header(rows, kind.columns())
    except TabularError as exc:  # with the sheet it read, if it got that far
        _send(out, ("error", exc.code, exc.message_zh, exc.message_en, rows and rows.sheet_name))
        return
    finally:
        if warm_up is not None:
            warm_up.join()  # no thread may be running when the other readers are forked
    if line_format is not None and (rows.height or 0) < line_format.min_rows:
        line_format = None  # a small sheet: the plan's ordinary path, which reads rows
    # The sheet is parsed: the other readers are forked now and share it.
    most = min(len(fds), readers_at_most(line_format is not None))
    wanted = most if (rows.height or 0) > 2 * BATCH else 1
    readers, part, others = [os.getpid()], 0, []
    for r in range(1, len(fds)):
        if r >= wanted:
            os.close(fds[r])
            continue
        pid = os.fork()
        if pid == 0:  # a grandchild: reader r, on pipe r
            _INHERITED.append(out)  # the child's writer on pipe 0: never flushed or freed here
            others, part, readers = [], r, []
            for i, fd in enumerate(fds):
                if i != r:
                    _close_quietly(fd)
            out = open(fds[r], "wb", buffering=1 << 20)  # noqa: SIM115 - flushed, then os._exit
            break
        others.append(pid)
        readers.append(pid)
        os.close(fds[r])
    if part == 0:
        _send(out, ("header", header, rows.height, rows.sheet_name, readers, line_format is not None))
        out.flush()
    try:
        _validate_part(out, rows, header, kind, ctx, fields, part, wanted, line_format)
    except BaseException:
        if part == 0:
            raise
        _tell_crash(out)
        os._exit(1)
    if part:
        out.flush()
        os._exit(0)
    for pid in others:
        os.waitpid(pid, 0)


def _close_quietly(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:
        pass


class _Background(threading.Thread):
    """`work(ctx)` in a thread; join() raises what it raised."""

    def __init__(self, work: Any, ctx: ImportContext) -> None:
        super().__init__(name="import-reader-warm-up", daemon=True)
        self.work, self.ctx = work, ctx
        self.error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self.work(self.ctx)
        except BaseException as exc:  # raised again by join, in the reader's main thread
            self.error = exc

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self.error is not None:
            raise self.error


def _validate_part(out: Any, rows: Any, header: HeaderMap, kind: ImportKind, ctx: ImportContext,
                   fields: list[str], part: int, parts: int, line_format: LineFormat | None) -> None:
    """Validate this reader's blocks and send each (its valid rows, or with `line_format` their
    text, and the errors and warnings they raised), then "done" with the row count, the
    duplicated keys and the first row of every key it saw."""
    from kongchuo.imports.runner import BLOCK_END, _Validator

    ctx.header = header
    ctx.present = frozenset(header.columns)
    ctx.progress = _no_progress
    ctx.job = None
    ctx.errors, ctx.warnings = [], []
    validator = _Validator(rows, header, kind, ctx, None, part=(part, parts, BATCH))
    values = attrgetter(*fields)
    batch: list[Any] = []
    sent_errors = sent_warnings = 0
    try:
        for row in validator:
            if row is BLOCK_END:
                if line_format is None:
                    message: tuple = ("rows", batch)
                else:
                    message = ("lines", (line_format.text(batch, ctx).encode(), len(batch)))
                _send(out, (*message, ctx.errors[sent_errors:], ctx.warnings[sent_warnings:],
                            validator.seen))
                sent_errors, sent_warnings = len(ctx.errors), len(ctx.warnings)
                batch = []
            elif line_format is None:
                batch.append(values(row))
            else:
                batch.append(row)
    except TabularError as exc:  # the row cap, met while iterating
        _send(out, ("error", exc.code, exc.message_zh, exc.message_en))
        return
    _send(out, ("done", validator.count, validator.dup_rows, validator.first_rows))


def _no_progress(_pct: int) -> None:
    return None

