"""Every workbook is parsed in a forked reader process under a memory cap.

calamine holds the whole sheet and allocates the dense rectangle its cells span: a 5 KB xlsx/xls
with cells in A1 and ZZ200000 makes it ask for gigabytes, and Rust aborts on a failed
allocation. So the importing process never parses a workbook: after kongchuo.imports.filesafety
refused zip bombs and over-long sheets (in a few MB), one forked child parses the sheet under a
hard address-space cap (RLIMIT_AS: KONGCHUO_IMPORT_READER_MEMORY_MB, and at most 256 MB + 4 × the
workbook's uncompressed size). Whatever the file does to calamine kills the child, reported as
file_unsafe; the worker survives.

- `ChildReader` (an import): the child also finds the header and runs the validator exactly as
  the importing process would for a CSV, and sends the valid rows in pickled blocks with the
  errors and warnings they raised (with a row encoder (ImportContext.row_encoder), a block is
  the encoded rows joined into one str: far cheaper to pickle than row tuples);
- `read_rows` (any other reading of an upload: the error workbook): the sheet's rows as read.

The child has no database (any attempt raises), leaves with os._exit (nothing it inherited is
closed or flushed twice), and what it sends is unpickled with an allow-list of classes. There is
no in-process fallback: the engine needs os.fork, as it needs `resource` (POSIX); a failed fork
fails the import.
"""

from __future__ import annotations

import enum
import faulthandler
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
from collections.abc import Callable, Iterator
from itertools import islice
from operator import attrgetter
from typing import Any

from django.apps import apps as django_apps
from django.conf import settings
from django.db import connections

from kongchuo.imports.base import ImportContext, ImportKind, Issue
from kongchuo.imports.cells import MAX_ROWS, MAX_UPLOAD_BYTES, TabularError, Text
from kongchuo.imports.checks import RowValidator
from kongchuo.imports.filesafety import sheet_row_guard, sniff_upload
from kongchuo.imports.tabular import HeaderMap, SheetRows, find_header, open_sheet

log = logging.getLogger(__name__)

BATCH = 5000  # data rows per block: a message per block
QUEUED_BATCHES = 8  # messages held for the parent (~12 MB of a roster) before the child waits
_LEN = struct.Struct("<Q")


class ReaderCrashed(RuntimeError):
    """The reader process failed for a reason that is not the file's (a bug): the import fails."""


# --------------------------------------------------------------------------- the parent's side


class _Child:
    """One forked reader of `path`, running `work(out)` once the rows are counted. Its pipe is
    drained by a thread into a bounded queue, so it keeps working while this process waits on
    the database (the pipe itself holds only 64 KB). Close it in every case: it kills the child
    if still alive and reaps it."""

    def __init__(self, path: str | os.PathLike[str], fmt: str, sheet: str | None, max_rows: int,
                 work: Callable[[Any], None]) -> None:
        # Counted before the fork: calamine holds the whole sheet, and an over-long one must
        # cost a second of inflating, not a gigabyte (issue 15).
        sheet_row_guard(path, fmt, sheet, max_rows=max_rows)
        cap = memory_cap(path, fmt)
        read_fd, write_fd = os.pipe()
        try:
            self.pid = os.fork()
        except OSError:  # no process to be had (EAGAIN, ENOMEM): the import fails, unread
            os.close(read_fd)
            os.close(write_fd)
            raise
        if self.pid == 0:  # the child: never returns
            os.close(read_fd)
            _child_run(write_fd, work, cap)
        os.close(write_fd)
        log.info("import reader process %s forked", self.pid)
        self.status: int | None = None
        self.file: Any = open(read_fd, "rb", buffering=1 << 20)  # noqa: SIM115 - closed by close()
        self.frames: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED_BATCHES)
        self.closing = self.ended = False
        self.thread = threading.Thread(target=self._drain, name=f"import-reader-{self.pid}", daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        try:
            while len(head := self.file.read(_LEN.size)) == _LEN.size:
                (size,) = _LEN.unpack(head)
                if len(data := self.file.read(size)) < size or not self._put(data):
                    break
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

    def receive(self, *expected: str) -> tuple:
        """The next message, which must be one of `expected`; the child's TabularError or
        crash is raised here."""
        data = None if self.closing or self.ended else self.frames.get()
        if data is None:  # the pipe ended early
            self.ended = True
            status = self._reap()
            if os.WIFSIGNALED(status):  # the memory cap: Rust aborts on a failed allocation
                log.warning("import reader %s killed by signal %s", self.pid, os.WTERMSIG(status))
                raise TabularError("file_unsafe")
            raise ReaderCrashed(f"import reader exited with {os.waitstatus_to_exitcode(status)}")
        message = _Unpickler(io.BytesIO(data)).load()
        if message[0] in expected:
            return message
        if message[0] == "error":
            raise TabularError(message[1], message[2])
        raise ReaderCrashed(message[1] if message[0] == "crash" else f"unexpected message {message[0]!r}")

    def _reap(self) -> int:
        if self.status is None:
            self.status = os.waitpid(self.pid, 0)[1]
        return self.status

    def finish(self) -> None:
        """After the reader said "done": it exits by itself; reap it."""
        self._reap()
        self.close()

    def close(self) -> None:
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._reap()
        if not self.closing:
            self.closing = True
            self.thread.join(timeout=5)
            self.file.close()


class ChildReader(_Child):
    """The reader of one import: the header, then the checked rows."""

    def __init__(self, path: str | os.PathLike[str], fmt: str, kind: ImportKind, ctx: ImportContext, *,
                 max_rows: int) -> None:
        fields = ["row", *[f.key for f in kind.fields], *(["_raw"] if kind.keep_raw else []),
                  *kind.computed]
        super().__init__(path, fmt, None, max_rows,
                         lambda out: _read_and_validate(out, path, fmt, kind, ctx, fields, max_rows))

    def header(self) -> tuple[HeaderMap, int | None]:
        """(header, sheet height), or the TabularError the child met first."""
        _tag, header, height = self.receive("header")
        return header, height

    def rows(self, ctx: ImportContext, stats: dict[str, Any],
             progress: Any = None) -> Iterator[tuple | str]:
        """The valid rows' field values, in file order (with a row encoder: each batch's
        encoded rows as one str); `stats` gets count, dup_rows and keys_seen at the end, ctx
        the errors and warnings as their rows arrive."""
        while (message := self.receive("rows", "done"))[0] == "rows":
            _tag, batch, errors, warnings, seen = message
            ctx.errors.extend(errors)
            ctx.warnings.extend(warnings)
            if progress is not None:
                progress(seen)
            if batch.__class__ is str:
                if batch:
                    yield batch
            else:
                yield from batch
        _tag, count, dup_rows, keys_seen = message
        stats.update(count=count, dup_rows=dup_rows, keys_seen=keys_seen)


def read_rows(path: str | os.PathLike[str], fmt: str | None = None, *, sheet: str | None = None,
              max_rows: int = MAX_ROWS, max_bytes: int = MAX_UPLOAD_BYTES) -> SheetRows:
    """The rows of one sheet of an upload (a workbook's first visible worksheet unless `sheet`
    names one); only TabularError escapes. The content is sniffed and must agree with `fmt`
    when given. A CSV is read here; a workbook by a reader process, whose rows wait here in
    pickled blocks (far smaller than the rows, or than calamine's copy of the sheet)."""
    found = sniff_upload(path, max_bytes=max_bytes)
    if fmt is not None and fmt != found:
        raise TabularError("file_type")
    if found == "csv":
        return open_sheet(path, found, max_rows=max_rows, max_bytes=max_bytes)
    child = _Child(path, found, sheet, max_rows, lambda out: _read_sheet(out, path, found, sheet, max_rows))
    try:
        _tag, name, height = child.receive("sheet")
        blocks = []
        while (message := child.receive("rows", "done"))[0] == "rows":
            blocks.append(message[1])
        child.finish()
    finally:
        child.close()

    def rows() -> Iterator[tuple]:
        for block in blocks:
            yield from _Unpickler(io.BytesIO(block)).load()

    return SheetRows(found, name, rows, height)


_ALLOWED = {("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"),
            ("datetime", "timedelta"), ("datetime", "timezone"), ("decimal", "Decimal"),
            ("django.db.models.base", "model_unpickle"), ("django.db.models.base", "ModelState"),
            ("django.db.models.base", "ModelStateFieldsCacheDescriptor")}


def _project_modules() -> tuple[str, ...]:
    """The module prefixes of the project's own apps (INSTALLED_APPS whose code lives in this
    checkout), whose choice enums may cross from the reader."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return tuple(f"{config.name}." for config in django_apps.get_app_configs()
                 if os.path.abspath(config.path).startswith(root + os.sep))


class _Unpickler(pickle.Unpickler):
    """Only values: datetimes, decimals, model instances (rebuilt by Django from their app
    label), the import machinery's Issue, Text and HeaderMap, and the choice enums of the portal's
    apps. The child parsed an untrusted file, so what it sends is read as data; no function
    of any module may be called."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module.startswith(_project_modules()):
            found = super().find_class(module, name)
            if found in (Issue, Text, HeaderMap) or (isinstance(found, type) and issubclass(found, enum.Enum)):
                return found
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed from the import reader")


# --------------------------------------------------------------------------- the child's side


def _child_run(fd: int, work: Callable[[Any], None], cap: int) -> None:
    code = 0
    out = None
    try:
        out = open(fd, "wb", buffering=1 << 20)  # noqa: SIM115 - flushed, then os._exit
        _sandbox(cap)
        try:
            work(out)
        except TabularError as exc:  # the file's fault: the parent reports it
            _send(out, ("error", exc.code, exc.text))
    except BrokenPipeError:  # the parent is gone or gave up
        code = 3
    except BaseException:  # a bug: the parent raises ReaderCrashed with it
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
    faulthandler.disable()  # an abort on the cap is expected: no traceback dump
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
            return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmSize:"))
    except (OSError, StopIteration):
        return 0


def _die_with_parent() -> None:
    """Linux: the child is killed when the parent dies (a killed worker leaves no reader)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
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


def _send(out: Any, message: tuple) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_LEN.pack(len(data)))
    out.write(data)


def _read_sheet(out: Any, path: Any, fmt: str, sheet: str | None, max_rows: int) -> None:
    """Send the sheet's name and height, then its rows in pickled blocks of BATCH, then "done"."""
    rows = open_sheet(path, fmt, sheet, max_rows=max_rows)
    _send(out, ("sheet", rows.sheet_name, rows.height))
    it = iter(rows)
    while block := list(islice(it, BATCH)):
        _send(out, ("rows", pickle.dumps(block, protocol=pickle.HIGHEST_PROTOCOL)))
    _send(out, ("done",))


def _read_and_validate(out: Any, path: Any, fmt: str, kind: ImportKind, ctx: ImportContext,
                       fields: list[str], max_rows: int) -> None:
    """Send the header, then each BATCH of valid rows with the errors and warnings they raised,
    then "done" with the row count, the duplicated keys and the first row of every key."""
    rows = open_sheet(path, fmt, max_rows=max_rows)
    header = find_header(rows, kind.columns())
    _send(out, ("header", header, rows.height))
    out.flush()
    ctx.header = header
    ctx.present = frozenset(header.columns)
    ctx.progress = _no_progress
    ctx.job = None
    ctx.errors, ctx.warnings = [], []
    validator = RowValidator(rows, header, kind, ctx, None, report_duplicates=False)
    encode = ctx.row_encoder
    values = encode if encode is not None else attrgetter(*fields)
    pack = "".join if encode is not None else list
    batch: list[Any] = []
    sent_errors = sent_warnings = 0
    for row in validator:  # the row cap, met while iterating, raises TabularError
        batch.append(values(row))
        if len(batch) >= BATCH:
            _send(out, ("rows", pack(batch), ctx.errors[sent_errors:],
                        ctx.warnings[sent_warnings:], validator.seen))
            sent_errors, sent_warnings = len(ctx.errors), len(ctx.warnings)
            batch = []
    _send(out, ("rows", pack(batch), ctx.errors[sent_errors:], ctx.warnings[sent_warnings:],
                validator.seen))
    _send(out, ("done", validator.count, validator.dup_rows, validator.keys_seen))


def _no_progress(_pct: int) -> None:
    return None
