"""Schema versions of the event store and the forward migrations between them.

To change the schema, append a ``Migration`` with the next version number to ``MIGRATIONS``;
never edit one that has shipped. ``SCHEMA_VERSION`` follows automatically. The version is kept
in ``PRAGMA user_version`` (in the file header, so it commits or rolls back with the migration).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .errors import StoreError

#: A step is one SQL statement, or a function for changes SQL alone cannot express (e.g. reshaping
#: data in Python). Functions run inside the migration's transaction and must not commit.
MigrationStep = str | Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Migration:
    """What it takes to bring a store from ``version - 1`` to ``version``."""

    version: int
    description: str
    steps: tuple[MigrationStep, ...]


_V1_EVENT_LOG_AND_RAW_SPILLS = Migration(
    version=1,
    description="event log and raw spills",
    steps=(
        # AUTOINCREMENT: an id is never reused, so an id reported as committed names one row forever.
        """CREATE TABLE events (
            id      INTEGER PRIMARY KEY AUTOINCREMENT,
            wall    REAL NOT NULL,              -- Unix seconds, wall clock, when submitted
            mono    REAL,                       -- time.monotonic() when submitted; this boot only
            kind    TEXT NOT NULL,
            channel TEXT NOT NULL DEFAULT '',
            source  TEXT NOT NULL DEFAULT '',
            detail  TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX events_by_wall ON events (wall)",
        "CREATE INDEX events_by_kind_wall ON events (kind, wall)",
        """CREATE TABLE raw_spills (
            id      INTEGER PRIMARY KEY AUTOINCREMENT,
            wall    REAL NOT NULL,
            mono    REAL,
            device  TEXT NOT NULL,
            data    BLOB NOT NULL,              -- the bytes exactly as received
            parsed  TEXT                        -- filled in later by the ALI parser (NULL until then)
        )""",
        "CREATE INDEX raw_spills_by_wall ON raw_spills (wall)",
        "CREATE INDEX raw_spills_by_device_wall ON raw_spills (device, wall)",
        # Append-only, enforced by the database so no code path can rewrite history. A later
        # retention migration can drop these triggers deliberately.
        """CREATE TRIGGER events_append_only_update BEFORE UPDATE ON events
           BEGIN SELECT RAISE(ABORT, 'events is append-only'); END""",
        """CREATE TRIGGER events_append_only_delete BEFORE DELETE ON events
           BEGIN SELECT RAISE(ABORT, 'events is append-only'); END""",
        """CREATE TRIGGER raw_spills_keep_raw BEFORE UPDATE OF id, wall, mono, device, data ON raw_spills
           BEGIN SELECT RAISE(ABORT, 'raw_spills keeps the raw bytes as received; only parsed may change'); END""",
        """CREATE TRIGGER raw_spills_append_only_delete BEFORE DELETE ON raw_spills
           BEGIN SELECT RAISE(ABORT, 'raw_spills is append-only'); END""",
    ),
)

_V2_CALLS_AND_REGISTRY = Migration(
    version=2,
    description="call timelines, callback outcomes and the special-needs registry",
    steps=(
        # One row per thing that happened to a call: ring, answer, spill, rebid_request, transfer,
        # location_confirmed, release, abandon, callback_open, callback_outcome. The call's state is
        # what its rows say, so the timeline, the callback list and the statistics share one record.
        """CREATE TABLE call_events (
            id       INTEGER PRIMARY KEY AUTOINCREMENT,
            wall     REAL NOT NULL,
            mono     REAL,
            call_uid TEXT NOT NULL,             -- unique across positions and restarts
            kind     TEXT NOT NULL,
            line     TEXT NOT NULL DEFAULT '',
            detail   TEXT NOT NULL DEFAULT '{}' -- JSON object; keys depend on kind
        )""",
        "CREATE INDEX call_events_by_call ON call_events (call_uid, id)",
        "CREATE INDEX call_events_by_kind_wall ON call_events (kind, wall)",
        """CREATE TRIGGER call_events_append_only_update BEFORE UPDATE ON call_events
           BEGIN SELECT RAISE(ABORT, 'call_events is append-only'); END""",
        """CREATE TRIGGER call_events_append_only_delete BEFORE DELETE ON call_events
           BEGIN SELECT RAISE(ABORT, 'call_events is append-only'); END""",
        # Replaced as a whole by each import of the site's CSV (app.calls.registry).
        """CREATE TABLE registry (
            id          INTEGER PRIMARY KEY,
            phone       TEXT NOT NULL DEFAULT '',   -- 10 digits, '' when the entry has none
            address_key TEXT NOT NULL DEFAULT '',   -- normalized address, '' when none
            address     TEXT NOT NULL DEFAULT '',   -- as written in the CSV
            name        TEXT NOT NULL DEFAULT '',
            category    TEXT NOT NULL DEFAULT '',
            notes       TEXT NOT NULL DEFAULT '',
            source_line INTEGER NOT NULL DEFAULT 0  -- CSV line, for the technician who fixes it
        )""",
        "CREATE INDEX registry_by_phone ON registry (phone)",
        "CREATE INDEX registry_by_address ON registry (address_key)",
        """CREATE TABLE registry_imports (
            id     INTEGER PRIMARY KEY AUTOINCREMENT,
            wall   REAL NOT NULL,
            source TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            rows   INTEGER NOT NULL,
            problems TEXT NOT NULL DEFAULT ''
        )""",
    ),
)

#: Every migration, oldest first; versions run 1, 2, 3, ... without gaps.
MIGRATIONS: tuple[Migration, ...] = (_V1_EVENT_LOG_AND_RAW_SPILLS, _V2_CALLS_AND_REGISTRY)

#: The first version with the call_events table (older stores have no calls to read).
CALL_EVENTS_SCHEMA: int = _V2_CALLS_AND_REGISTRY.version

#: The schema version this code writes and expects.
SCHEMA_VERSION: int = MIGRATIONS[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    """The version recorded in the database (0 for a new, empty file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def database_file(conn: sqlite3.Connection) -> str:
    """The file behind the connection's main database, for error messages."""
    for _seq, name, file in conn.execute("PRAGMA database_list"):
        if name == "main":
            return file or ":memory:"
    return "?"


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """Apply the migrations the database is missing, one transaction each; return the final version.

    Raises ``StoreError`` if the database is newer than ``migrations`` know, or if a migration fails
    (that migration is rolled back completely; earlier ones stay applied).
    """
    _check_sequence(migrations)
    target = migrations[-1].version if migrations else 0
    if conn.in_transaction:
        raise StoreError(f"migrate() needs a connection with no open transaction ({database_file(conn)})")
    saved_isolation = conn.isolation_level
    conn.isolation_level = None  # we issue BEGIN/COMMIT ourselves
    try:
        _refuse_newer(conn, target)
        for migration in migrations:
            if migration.version > schema_version(conn):
                _apply(conn, migration, target)
    finally:
        conn.isolation_level = saved_isolation
    return schema_version(conn)


def _apply(conn: sqlite3.Connection, migration: Migration, target: int) -> None:
    # IMMEDIATE takes the write lock first, so a second process migrating the same file waits
    # here and then sees the version already raised, instead of applying the steps twice.
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = schema_version(conn)
        if found < migration.version:
            for step in migration.steps:
                if callable(step):
                    step(conn)
                else:
                    conn.execute(step)
            conn.execute(f"PRAGMA user_version = {int(migration.version)}")
        conn.execute("COMMIT")
    except BaseException as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if isinstance(exc, StoreError) or not isinstance(exc, Exception):
            raise
        raise StoreError(
            f"event store {database_file(conn)}: migration to schema version {migration.version} "
            f"({migration.description}) failed and was rolled back: {exc}"
        ) from exc
    _refuse_newer(conn, target)


def _refuse_newer(conn: sqlite3.Connection, target: int) -> None:
    found = schema_version(conn)
    if found > target:
        raise StoreError(
            f"event store {database_file(conn)} has schema version {found}, newer than this "
            f"program's version {target}; it was written by a newer Dispatch Console. "
            "Upgrade this program or use another store file."
        )


def _check_sequence(migrations: Sequence[Migration]) -> None:
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migration versions must run 1, 2, 3, ... without gaps; got {versions}")
