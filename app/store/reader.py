"""Read-only views of a store: recent events, events after an id, raw spills, and one-line formatting.

Each call opens its own read-only connection, so it is safe from any thread or process while a
writer runs (WAL readers see the last committed state and never block the writer).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .connection import open_for_reading
from .errors import StoreError
from .schema import schema_version


@dataclass(frozen=True, slots=True)
class EventRow:
    """One row of the event log."""

    id: int
    wall: float
    kind: str
    channel: str
    source: str
    detail: str
    mono: float | None = None


@dataclass(frozen=True, slots=True)
class RawSpillRow:
    """Bytes received from a data link, exactly as received, and what the parser made of them."""

    id: int
    wall: float
    device: str
    data: bytes
    parsed: str | None = None
    mono: float | None = None


_EVENT_COLUMNS = "id, wall, kind, channel, source, detail, mono"
_RAW_COLUMNS = "id, wall, device, data, parsed, mono"


def tail_events(path: str | os.PathLike[str], n: int = 20) -> list[EventRow]:
    """The last ``n`` events, oldest first."""
    with reading(path) as conn:
        if conn is None:
            return []
        rows = conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY id DESC LIMIT ?", (n,)).fetchall()
    return [EventRow(*row) for row in reversed(rows)]


def events_since(path: str | os.PathLike[str], after_id: int, limit: int = 1000) -> list[EventRow]:
    """Up to ``limit`` events with ``id > after_id``, oldest first (for following the log)."""
    with reading(path) as conn:
        if conn is None:
            return []
        rows = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
        ).fetchall()
    return [EventRow(*row) for row in rows]


def raw_spills(
    path: str | os.PathLike[str], limit: int = 100, *, after_id: int | None = None
) -> list[RawSpillRow]:
    """Raw spills oldest first: the last ``limit``, or the first ``limit`` with ``id > after_id``."""
    with reading(path) as conn:
        if conn is None:
            return []
        if after_id is None:
            rows = conn.execute(
                f"SELECT {_RAW_COLUMNS} FROM raw_spills ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
            rows.reverse()
        else:
            rows = conn.execute(
                f"SELECT {_RAW_COLUMNS} FROM raw_spills WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
            ).fetchall()
    return [RawSpillRow(*row) for row in rows]


def format_event(row: EventRow) -> str:
    """One human line: local ISO time with milliseconds and UTC offset, kind, channel, source, detail.

    Empty channel or source shows as ``-``. Control and other non-printable characters (and
    backslash) are escaped, so text from outside can neither break the line nor disguise itself.
    """
    try:
        when = datetime.fromtimestamp(row.wall).astimezone().isoformat(timespec="milliseconds")
    except (OverflowError, OSError, ValueError):
        when = f"@{row.wall!r}"
    fields = (row.kind, row.channel or "-", row.source or "-", row.detail)
    return "  ".join((when, *(escape_text(field) for field in fields)))


def escape_text(text: str) -> str:
    """``text`` with backslash and every non-printable character written as a Python-style escape."""
    if text.isprintable() and "\\" not in text:
        return text
    return "".join(_escape_char(ch) for ch in text)


_NAMED_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(ch: str) -> str:
    if ch in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[ch]
    if ch == " " or ch.isprintable():
        return ch
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


@contextmanager
def reading(path: str | os.PathLike[str]) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection (safe while the writer runs), or None if the store has no schema yet;
    a missing file and SQLite errors become StoreError naming the file."""
    path = Path(path)
    try:
        conn = open_for_reading(path)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open event store {path} for reading: {exc}") from exc
    try:
        yield conn if schema_version(conn) > 0 else None
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read event store {path}: {exc}") from exc
    finally:
        conn.close()
