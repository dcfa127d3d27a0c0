"""What waits in the writer's queue: records to insert, and markers the writer thread acts on.

Records are checked and normalised here, in the submitting thread, so that a bad argument is an
error for the caller, and nothing that reaches the queue can fail to be written for its own sake
(a record that could never be stored would block every record behind it).
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CommitCallback = Callable[[int], None]

@dataclass(frozen=True, slots=True)
class Table:
    """A table the writer inserts into, and the columns a record supplies, in order."""

    name: str
    columns: tuple[str, ...]

    def insert_sql(self, rows: int) -> str:
        """One INSERT statement for ``rows`` rows (the writer inserts a run of records at once)."""
        one_row = "(" + ", ".join("?" * len(self.columns)) + ")"
        return f"INSERT INTO {self.name} ({', '.join(self.columns)}) VALUES " + ", ".join([one_row] * rows)


EVENTS = Table("events", ("wall", "mono", "kind", "channel", "source", "detail"))
RAW_SPILLS = Table("raw_spills", ("wall", "mono", "device", "data"))
CALL_EVENTS = Table("call_events", ("wall", "mono", "call_uid", "kind", "line", "detail"))


@dataclass(slots=True)
class PendingRecord:
    """One row to insert, and who to tell once it is committed."""

    table: Table
    params: tuple[Any, ...]
    on_committed: CommitCallback | None


@dataclass(slots=True)
class Barrier:
    """Set by the writer once every record queued before it is committed (``flush``)."""

    done: threading.Event = field(default_factory=threading.Event)


@dataclass(slots=True)
class Inspection:
    """Asks the writer thread to run ``query`` on its own connection (diagnostics and tests)."""

    query: Callable[[sqlite3.Connection], Any]
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    error: BaseException | None = None


class Stop:
    """The last item ever queued: the writer commits what came before and exits."""


STOP = Stop()

QueueItem = PendingRecord | Barrier | Inspection | Stop


def event_record(
    kind: str,
    channel: str,
    source: str,
    detail: str,
    wall: float | None,
    mono: float | None,
    on_committed: CommitCallback | None,
) -> PendingRecord:
    """A row for ``events``; times default to now, taken at submission, not at the later write."""
    wall, mono = _times(wall, mono)
    params = (
        wall,
        mono,
        storable_text(kind, "kind"),
        storable_text(channel, "channel"),
        storable_text(source, "source"),
        storable_text(detail, "detail"),
    )
    return PendingRecord(EVENTS, params, _callback(on_committed))


def raw_spill_record(
    device: str,
    data: bytes | bytearray | memoryview,
    wall: float | None,
    mono: float | None,
    on_committed: CommitCallback | None,
) -> PendingRecord:
    """A row for ``raw_spills``; the bytes are copied so the caller may reuse its buffer."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"raw spill data must be bytes, not {type(data).__name__}")
    wall, mono = _times(wall, mono)
    params = (wall, mono, storable_text(device, "device"), bytes(data))
    return PendingRecord(RAW_SPILLS, params, _callback(on_committed))


def call_event_record(
    call_uid: str,
    kind: str,
    line: str,
    detail: dict[str, Any],
    wall: float | None,
    mono: float | None,
    on_committed: CommitCallback | None,
) -> PendingRecord:
    """A row for ``call_events``; ``detail`` is stored as JSON (checked here, in the caller's thread)."""
    if not call_uid:
        raise ValueError("a call event needs the call's uid")
    wall, mono = _times(wall, mono)
    text = json.dumps(detail, ensure_ascii=False, allow_nan=False, sort_keys=True)
    params = (
        wall,
        mono,
        storable_text(call_uid, "call_uid"),
        storable_text(kind, "kind"),
        storable_text(line, "line"),
        storable_text(text, "detail"),
    )
    return PendingRecord(CALL_EVENTS, params, _callback(on_committed))


def storable_text(value: str, name: str) -> str:
    """``value`` as text SQLite can store.

    Lone surrogates (e.g. from ``surrogateescape`` decoding of device output) cannot be encoded as
    UTF-8; they are kept visibly as backslash escapes rather than failing the write.
    """
    if not isinstance(value, str):
        raise TypeError(f"{name} must be str, not {type(value).__name__}")
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _times(wall: float | None, mono: float | None) -> tuple[float, float | None]:
    if wall is None:
        wall = time.time()
        if mono is None:
            mono = time.monotonic()
    wall = float(wall)
    if not math.isfinite(wall):
        raise ValueError(f"wall time must be a finite number of seconds, not {wall!r}")
    return wall, None if mono is None else float(mono)


def _callback(on_committed: CommitCallback | None) -> CommitCallback | None:
    if on_committed is not None and not callable(on_committed):
        raise TypeError(f"on_committed must be callable, not {type(on_committed).__name__}")
    return on_committed
