"""The store writer: one thread that owns the SQLite connection and writes every record, in order.

Any thread may submit. The writer thread takes everything queued (up to ``batch_max`` records),
writes it in one transaction, commits (fsynced: ``synchronous=FULL``), and only then calls each
record's ``on_committed(row_id)``. A write that fails is rolled back and retried with backoff,
forever: records are never dropped, and ``on_error`` hears about every failed attempt.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .connection import DEFAULT_BUSY_TIMEOUT, open_for_writing
from .errors import StoreError
from .pending import (
    STOP,
    Barrier,
    CommitCallback,
    Inspection,
    PendingRecord,
    QueueItem,
    Stop,
    Table,
    call_event_record,
    event_record,
    raw_spill_record,
)
from .schema import migrate

logger = logging.getLogger(__name__)


class StoreWriter:
    """Writes the event log and raw spills of one store file from a dedicated thread."""

    #: Backoff between attempts to write a failed batch: doubles from the first delay up to the max.
    RETRY_FIRST_DELAY = 0.05
    RETRY_MAX_DELAY = 2.0
    #: After this many failed attempts in a row, reopen the connection in case it is the problem.
    REOPEN_EVERY = 5
    #: How long an interpreter exit waits for a writer nobody stopped.
    EXIT_TIMEOUT = 5.0

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        on_error: Callable[[str], None] | None = None,
        batch_max: int = 500,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        if batch_max < 1:
            raise ValueError(f"batch_max must be at least 1, not {batch_max}")
        self.path = Path(path)
        self._on_error = on_error
        self._batch_max = batch_max
        self._busy_timeout = busy_timeout
        self._queue: queue.SimpleQueue[QueueItem] = queue.SimpleQueue()
        # Guards _accepting and the queue's tail, so nothing is ever queued behind STOP.
        self._submit_lock = threading.Lock()
        self._accepting = True
        self._thread: threading.Thread | None = None
        self._conn: sqlite3.Connection | None = None  # touched by the writer thread only
        self._committed = 0
        self._exit_hook: Callable[[], None] | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 30.0) -> None:
        """Start the writer thread; return once it has opened and migrated the database.

        Raises ``StoreError`` (naming the file) if that fails or takes longer than ``timeout``.
        Records submitted before ``start`` wait in the queue; after a failed start they are still
        there, and ``start`` may be called again.
        """
        report = _StartReport()
        with self._submit_lock:
            if not self._accepting:
                raise StoreError(f"store writer for {self.path} was stopped; make a new one")
            if self._thread is not None:
                raise StoreError(f"store writer for {self.path} is already started")
            thread = threading.Thread(
                target=self._run, args=(report,), name=f"store-writer[{self.path.name}]", daemon=True
            )
            self._thread = thread
        thread.start()
        if not report.wait(timeout):
            self._thread = None
            raise StoreError(f"opening event store {self.path} took longer than {timeout:g} s")
        if report.error is not None:
            thread.join()
            self._thread = None
            error = report.error
            if isinstance(error, StoreError):
                raise StoreError(str(error)) from error
            raise StoreError(f"cannot open event store {self.path}: {error}") from error
        # Daemon thread, so a hung disk cannot keep the process alive; this hook still drains
        # the queue at a normal interpreter exit if nobody called stop().
        self._exit_hook = functools.partial(_stop_at_exit, weakref.ref(self))
        atexit.register(self._exit_hook)

    def stop(self, timeout: float = 5.0) -> bool:
        """Commit everything submitted, close the database and end the thread.

        Returns False, and logs a warning naming the thread, if it did not finish within
        ``timeout`` (it keeps trying in the background). Later submissions raise ``StoreError``.
        """
        with self._submit_lock:
            thread = self._thread
            if self._accepting:
                self._accepting = False
                if thread is not None:
                    self._queue.put(STOP)
        if self._exit_hook is not None:
            atexit.unregister(self._exit_hook)
            self._exit_hook = None
        if thread is None:
            unwritten = self._queue.qsize()
            if unwritten:
                logger.error("event store %s was never started; %d record(s) not written", self.path, unwritten)
            return unwritten == 0
        if thread is threading.current_thread():
            return False  # called from an on_committed callback: the thread ends after this batch
        thread.join(timeout)
        if thread.is_alive():
            logger.warning(
                "store writer thread %r did not stop within %g s; %d item(s) still queued for %s",
                thread.name,
                timeout,
                self._queue.qsize(),
                self.path,
            )
            return False
        return True

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until everything submitted before this call is committed and its callbacks ran.

        Returns False if that did not happen within ``timeout`` (e.g. the disk is failing).
        """
        thread = self._thread
        if thread is None:
            return self._queue.empty()
        if thread is threading.current_thread():
            raise StoreError("flush() called from the store writer thread would wait on itself")
        barrier = Barrier()
        with self._submit_lock:
            queued = self._accepting
            if queued:
                self._queue.put(barrier)
        if not queued:  # stopping: everything ahead of STOP is committed when the thread ends
            thread.join(timeout)
            return not thread.is_alive() and self._queue.empty()
        return barrier.done.wait(timeout)

    # ------------------------------------------------------------------ submitting

    def log_event(
        self,
        kind: str,
        *,
        channel: str = "",
        source: str = "",
        detail: str = "",
        wall: float | None = None,
        mono: float | None = None,
        on_committed: CommitCallback | None = None,
    ) -> None:
        """Queue one event-log row. ``wall``/``mono`` default to now (both clocks).

        ``on_committed(events.id)`` is called from the writer thread after the row is committed.
        """
        self._submit(event_record(kind, channel, source, detail, wall, mono, on_committed))

    def save_raw(
        self,
        device: str,
        data: bytes | bytearray | memoryview,
        *,
        wall: float | None = None,
        mono: float | None = None,
        on_committed: CommitCallback | None = None,
    ) -> None:
        """Queue raw bytes received from ``device``, exactly as received.

        ``on_committed(raw_spills.id)`` is called from the writer thread after the row is committed.
        """
        self._submit(raw_spill_record(device, data, wall, mono, on_committed))

    def log_call_event(
        self,
        call_uid: str,
        kind: str,
        *,
        line: str = "",
        detail: dict[str, Any] | None = None,
        wall: float | None = None,
        mono: float | None = None,
        on_committed: CommitCallback | None = None,
    ) -> None:
        """Queue one row of a call's timeline (``detail`` must be JSON-serialisable)."""
        self._submit(call_event_record(call_uid, kind, line, detail or {}, wall, mono, on_committed))

    @property
    def committed_count(self) -> int:
        """Rows committed by this writer since ``start``."""
        return self._committed

    def connection_settings(self, timeout: float = 5.0) -> dict[str, Any]:
        """The writer connection's own journal mode, synchronous level, busy timeout and schema version.

        Read on the writer thread, because ``synchronous`` is per connection and no other
        connection can see it.
        """
        inspection = Inspection(_read_settings)
        with self._submit_lock:
            if not self._accepting or self._thread is None:
                raise StoreError(f"store writer for {self.path} is not running")
            self._queue.put(inspection)
        if not inspection.done.wait(timeout):
            raise StoreError(f"store writer for {self.path} did not answer within {timeout:g} s")
        if inspection.error is not None:
            raise StoreError(f"cannot read settings of event store {self.path}: {inspection.error}")
        return inspection.result

    def _submit(self, record: PendingRecord) -> None:
        with self._submit_lock:
            if not self._accepting:
                raise StoreError(f"store writer for {self.path} is stopped; record not accepted")
            self._queue.put(record)

    # ------------------------------------------------------------------ writer thread

    def _run(self, report: _StartReport) -> None:
        try:
            conn = self._open()
        except BaseException as exc:
            report.fail(exc)
            return
        if not report.succeed():  # start() stopped waiting; leave the queue to a later start()
            conn.close()
            return
        self._conn = conn
        try:
            self._serve()
        except BaseException:
            # Only a bug gets here; say so loudly, since records can no longer be written.
            logger.critical("store writer thread for %s crashed", self.path, exc_info=True)
            self._report_error(f"event store {self.path}: writer thread crashed; events are not being saved")
            raise
        finally:
            self._close_connection()

    def _open(self) -> sqlite3.Connection:
        conn = open_for_writing(self.path, busy_timeout=self._busy_timeout)
        try:
            migrate(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _serve(self) -> None:
        while True:
            records, controls, stopping = self._next_batch()
            if records:
                row_ids = self._commit_with_retry(records)
                self._committed += len(records)
                self._notify(records, row_ids)
            for control in controls:
                self._answer(control)
            if stopping:
                return

    def _next_batch(self) -> tuple[list[PendingRecord], list[Barrier | Inspection], bool]:
        """Block for one item, then take whatever else is queued, up to ``batch_max`` records."""
        records: list[PendingRecord] = []
        controls: list[Barrier | Inspection] = []
        item: QueueItem | None = self._queue.get()
        while item is not None:
            if isinstance(item, PendingRecord):
                records.append(item)
            elif isinstance(item, Stop):
                return records, controls, True  # nothing is ever queued behind STOP
            else:
                controls.append(item)
            if len(records) >= self._batch_max:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                item = None
        return records, controls, False

    def _commit_with_retry(self, records: list[PendingRecord]) -> list[int]:
        attempt = 0
        while True:
            attempt += 1
            try:
                row_ids = self._write(records)
            except Exception as exc:
                self._recover(attempt)
                delay = min(self.RETRY_FIRST_DELAY * 2 ** min(attempt - 1, 16), self.RETRY_MAX_DELAY)
                message = (
                    f"event store {self.path}: writing {len(records)} record(s) failed "
                    f"(attempt {attempt}): {exc}; retrying in {delay:.2f} s"
                )
                logger.error(message, exc_info=attempt == 1)
                self._report_error(message)
                time.sleep(delay)
                continue
            if attempt > 1:
                logger.warning("event store %s: write succeeded after %d attempts", self.path, attempt)
            return row_ids

    def _write(self, records: list[PendingRecord]) -> list[int]:
        if self._conn is None:
            self._conn = self._open()
        conn = self._conn
        max_params = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        row_ids: list[int] = []
        # IMMEDIATE: take the write lock up front, so a busy database fails here, not at COMMIT.
        conn.execute("BEGIN IMMEDIATE")
        for table, run in _runs(records, max_params):
            # One multi-row INSERT per run, not one per record: sqlite3 releases the GIL on every
            # statement, and a thread submitting in a tight loop then starves this one of it.
            params = [value for record in run for value in record.params]
            last_id = conn.execute(table.insert_sql(len(run)), params).lastrowid
            # AUTOINCREMENT gives the rows of one INSERT consecutive ids, since we hold the lock.
            row_ids.extend(range(last_id - len(run) + 1, last_id + 1))  # type: ignore[operator]
        conn.execute("COMMIT")
        return row_ids

    def _recover(self, attempt: int) -> None:
        """Leave no half-written transaction behind; reopen the connection if it seems broken."""
        conn = self._conn
        if conn is None:
            return
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error:
            logger.warning("event store %s: rollback failed; reopening", self.path, exc_info=True)
            self._close_connection()
            return
        if attempt % self.REOPEN_EVERY == 0:
            self._close_connection()

    def _notify(self, records: list[PendingRecord], row_ids: list[int]) -> None:
        for record, row_id in zip(records, row_ids):
            if record.on_committed is None:
                continue
            try:
                record.on_committed(row_id)
            except Exception:
                logger.exception("on_committed callback %r failed for row %d", record.on_committed, row_id)

    def _answer(self, control: Barrier | Inspection) -> None:
        if isinstance(control, Inspection):
            try:
                if self._conn is None:
                    self._conn = self._open()
                control.result = control.query(self._conn)
            except Exception as exc:
                control.error = exc
        control.done.set()

    def _report_error(self, message: str) -> None:
        if self._on_error is None:
            return
        try:
            self._on_error(message)
        except Exception:
            logger.exception("on_error callback %r failed", self._on_error)

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.close()
        except sqlite3.Error:
            logger.warning("event store %s: closing the connection failed", self.path, exc_info=True)


def _runs(records: list[PendingRecord], max_params: int) -> Iterator[tuple[Table, list[PendingRecord]]]:
    """Split ``records``, keeping their order, into runs for one table that fit one statement."""
    run: list[PendingRecord] = []
    for record in records:
        if run and (
            record.table is not run[0].table or (len(run) + 1) * len(record.table.columns) > max_params
        ):
            yield run[0].table, run
            run = []
        run.append(record)
    if run:
        yield run[0].table, run


class _StartReport:
    """How the writer thread tells ``start()`` whether opening worked, once, without races."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._abandoned = False
        self.error: BaseException | None = None

    def wait(self, timeout: float) -> bool:
        """True once the thread reported; False (and the thread will give up) after ``timeout``."""
        if self._done.wait(timeout):
            return True
        with self._lock:
            if self._done.is_set():
                return True
            self._abandoned = True
            return False

    def fail(self, error: BaseException) -> None:
        with self._lock:
            self.error = error
            self._done.set()

    def succeed(self) -> bool:
        """Report success; False if ``start()`` already gave up waiting."""
        with self._lock:
            if self._abandoned:
                return False
            self._done.set()
            return True


def _read_settings(conn: sqlite3.Connection) -> dict[str, Any]:
    def pragma(name: str) -> Any:
        return conn.execute(f"PRAGMA {name}").fetchone()[0]

    return {
        "journal_mode": str(pragma("journal_mode")).lower(),
        "synchronous": int(pragma("synchronous")),  # 2 = FULL
        "busy_timeout_ms": int(pragma("busy_timeout")),
        "foreign_keys": bool(pragma("foreign_keys")),
        "schema_version": int(pragma("user_version")),
    }


def _stop_at_exit(ref: weakref.ReferenceType[StoreWriter]) -> None:
    writer = ref()
    if writer is not None:
        writer.stop(timeout=writer.EXIT_TIMEOUT)
