"""Opening SQLite connections with the settings the event store relies on.

The writer's connection is the only one that writes; readers open the file read-only so a tool
looking at the log can never change it or take the write lock away from the console.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .errors import StoreError

#: How long a connection waits for a lock held by another connection before giving up.
DEFAULT_BUSY_TIMEOUT = 5.0


def open_for_writing(path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> sqlite3.Connection:
    """Open (creating it and its folder if needed) the store at ``path`` for the writer thread.

    The connection is in autocommit mode (``isolation_level=None``): the writer issues BEGIN/COMMIT
    itself, so it knows exactly when a transaction is durable.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreError(f"cannot create the folder for event store {path}: {exc}") from exc
    conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        # WAL lets readers run while the writer commits; it is a property of the file, so check
        # that SQLite really switched (it refuses on some network filesystems).
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"event store {path} cannot use write-ahead logging (journal mode stayed {mode!r}); "
                "put it on a local disk"
            )
        # FULL: in WAL mode every COMMIT is fsynced, so "committed" means "survives power loss".
        # NORMAL would be faster but could lose the last transactions; not for a 9-1-1 log.
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def open_for_reading(path: Path, *, busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> sqlite3.Connection:
    """Open an existing store read-only; safe while the writer runs (WAL readers never block it)."""
    if not path.is_file():
        raise StoreError(f"no event store at {path}")
    uri = path.resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    except BaseException:
        conn.close()
        raise
    return conn
