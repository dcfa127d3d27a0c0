"""The storage layer: ordered, durable, never-dropping writes; schema migrations; read helpers."""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from app.store import (
    SCHEMA_VERSION,
    EventRow,
    StoreError,
    StoreWriter,
    events_since,
    format_event,
    raw_spills,
    tail_events,
)
from app.store import connection as store_connection
from app.store.schema import MIGRATIONS, Migration, migrate, schema_version


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "events.sqlite3"  # "store/" does not exist yet: the writer makes it


@pytest.fixture
def writer(db_path: Path) -> Iterator[StoreWriter]:
    w = StoreWriter(db_path)
    w.start()
    yield w
    assert w.stop(), "writer did not stop"


def details(path: Path) -> list[str]:
    return [row.detail for row in events_since(path, 0, limit=1_000_000)]


# ---------------------------------------------------------------------------- order and durability


def test_order_is_submission_order_across_threads(writer: StoreWriter, db_path: Path) -> None:
    threads_n, per_thread = 6, 300
    order_lock = threading.Lock()
    submitted: list[str] = []  # the global submission order, as serialised by order_lock
    committed_ids: list[int] = []

    def submit(t: int) -> None:
        for i in range(per_thread):
            with order_lock:
                detail = f"{t}:{i}"
                writer.log_event("test", source=f"thread{t}", detail=detail, on_committed=committed_ids.append)
                submitted.append(detail)

    threads = [threading.Thread(target=submit, args=(t,)) for t in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writer.flush()

    assert details(db_path) == submitted
    assert len(committed_ids) == threads_n * per_thread
    assert committed_ids == sorted(set(committed_ids)), "callbacks must come in commit order, ids increasing"


def test_wal_and_synchronous_full_are_set(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Hand the writer a connection already set to synchronous=OFF and journal_mode=DELETE, so the
    # test passes only if the writer sets both itself rather than trusting SQLite's defaults.
    real_connect = sqlite3.connect

    def connect_with_weak_defaults(*args, **kwargs):
        conn = real_connect(*args, **kwargs)
        if not kwargs.get("uri"):
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA journal_mode = DELETE")
        return conn

    monkeypatch.setattr(store_connection.sqlite3, "connect", connect_with_weak_defaults)
    w = StoreWriter(db_path, busy_timeout=2.5)
    w.start()
    try:
        settings = w.connection_settings()
        assert settings["synchronous"] == 2  # FULL
        assert settings["journal_mode"] == "wal"
        assert settings["busy_timeout_ms"] == 2500
        # journal_mode is a property of the file: a separate reader connection sees it too.
        reader = real_connect(db_path)
        try:
            assert reader.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        finally:
            reader.close()
    finally:
        assert w.stop()


def test_on_committed_fires_in_order_after_row_is_visible_to_another_connection(
    writer: StoreWriter, db_path: Path
) -> None:
    seen: list[tuple[int, str | None]] = []

    def check_visible(row_id: int) -> None:
        # Runs on the writer thread: a separate read-only connection must already see the row.
        rows = events_since(db_path, row_id - 1, limit=1)
        seen.append((row_id, rows[0].detail if rows and rows[0].id == row_id else None))

    for i in range(50):
        writer.log_event("visible", detail=str(i), on_committed=check_visible)
    assert writer.flush()

    assert [row_id for row_id, _ in seen] == sorted({row_id for row_id, _ in seen})
    assert [detail for _, detail in seen] == [str(i) for i in range(50)]


def test_raw_spills_are_stored_byte_exact_with_their_own_ids(writer: StoreWriter, db_path: Path) -> None:
    payloads = [b"\x02ANI 5551234\r\n\x03", bytes(range(256)), b""]
    buffer = bytearray(payloads[0])
    spill_ids: list[int] = []
    writer.save_raw("ali-a", buffer, wall=1700000000.25, on_committed=spill_ids.append)
    buffer[:] = b"X" * len(buffer)  # the caller reuses its buffer; the stored copy must not change
    for data in payloads[1:]:
        writer.save_raw("ali-a", data, on_committed=spill_ids.append)
    writer.log_event("ali.frame", detail="parsed after raw")
    assert writer.flush()

    rows = raw_spills(db_path)
    assert [row.data for row in rows] == payloads
    assert [row.id for row in rows] == spill_ids == [1, 2, 3]
    assert rows[0].wall == 1700000000.25 and rows[0].device == "ali-a" and rows[0].parsed is None


def test_reported_row_ids_match_content_in_one_large_mixed_batch(db_path: Path) -> None:
    reported: list[tuple[str, int, int]] = []
    w = StoreWriter(db_path, batch_max=100_000)
    # Queued before start, so the writer takes them as one batch: a run of events longer than one
    # INSERT statement may carry, then events and raw spills interleaved.
    for i in range(7000):
        if i >= 6000 and i % 3 == 0:
            w.save_raw("dev", b"%d" % i, on_committed=lambda row_id, i=i: reported.append(("raw", row_id, i)))
        else:
            w.log_event("k", detail=str(i), on_committed=lambda row_id, i=i: reported.append(("event", row_id, i)))
    w.start()
    assert w.stop()

    assert [i for _, _, i in reported] == list(range(7000))
    events = {row.id: row.detail for row in events_since(db_path, 0, limit=100_000)}
    spills = {row.id: row.data for row in raw_spills(db_path, limit=100_000)}
    for table, row_id, i in reported:
        if table == "event":
            assert events[row_id] == str(i)
        else:
            assert spills[row_id] == b"%d" % i
    assert len(events) + len(spills) == 7000


def test_flush_waits_for_commit(writer: StoreWriter, db_path: Path) -> None:
    for i in range(2000):
        writer.log_event("burst", detail=str(i))
    assert writer.flush()
    assert writer.committed_count == 2000
    assert len(details(db_path)) == 2000


def test_stop_drains_everything_then_refuses(db_path: Path) -> None:
    w = StoreWriter(db_path, batch_max=64)  # several batches still queued when stop() is called
    w.start()
    for i in range(3000):
        w.log_event("drain", detail=str(i))
    assert w.stop()
    assert w.committed_count == 3000
    assert details(db_path) == [str(i) for i in range(3000)]
    with pytest.raises(StoreError, match="stopped"):
        w.log_event("late")
    with pytest.raises(StoreError):
        w.save_raw("dev", b"late")


def test_records_submitted_before_start_are_kept(db_path: Path) -> None:
    w = StoreWriter(db_path)
    w.log_event("early", detail="before start")
    w.start()
    assert w.stop()
    assert details(db_path) == ["before start"]


def test_callback_exception_does_not_kill_the_writer(
    writer: StoreWriter, db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(row_id: int) -> None:
        raise RuntimeError("callback bug")

    later: list[int] = []
    with caplog.at_level(logging.ERROR, logger="app.store"):
        writer.log_event("first", on_committed=explode)
        writer.log_event("second", on_committed=later.append)
        assert writer.flush()
        writer.log_event("third", on_committed=later.append)  # a later batch: the thread is alive
        assert writer.flush()
    assert later == [2, 3]
    assert "callback bug" in caplog.text
    assert [row.kind for row in tail_events(db_path)] == ["first", "second", "third"]


def test_locked_database_is_retried_and_reported_not_dropped(
    db_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(StoreWriter, "RETRY_FIRST_DELAY", 0.01)
    monkeypatch.setattr(StoreWriter, "RETRY_MAX_DELAY", 0.05)
    errors: list[str] = []
    w = StoreWriter(db_path, on_error=errors.append, busy_timeout=0.02)
    w.start()
    w.log_event("before lock")
    assert w.flush()

    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holding the write lock
    try:
        with caplog.at_level(logging.ERROR, logger="app.store"):
            for i in range(20):
                w.log_event("during lock", detail=str(i))
            assert not w.flush(timeout=0.3), "flush must not claim success while the write fails"
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert w.flush()
    assert w.stop()

    assert errors and all(str(db_path) in message for message in errors)
    assert "locked" in errors[0]
    assert "locked" in caplog.text
    assert details(db_path) == [""] + [str(i) for i in range(20)]


def test_stop_that_times_out_says_so_and_names_the_thread(
    db_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(StoreWriter, "RETRY_MAX_DELAY", 0.02)
    w = StoreWriter(db_path, busy_timeout=0.01)
    w.start()
    blocker = sqlite3.connect(db_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        w.log_event("stuck")
        with caplog.at_level(logging.WARNING, logger="app.store"):
            assert not w.stop(timeout=0.2)
        assert "store-writer[events.sqlite3]" in caplog.text and "did not stop" in caplog.text
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert w.stop(timeout=5)  # it kept trying, and finishes once the lock is gone
    assert [row.kind for row in tail_events(db_path)] == ["stuck"]


def test_bad_arguments_fail_in_the_caller_and_odd_text_is_stored(writer: StoreWriter, db_path: Path) -> None:
    with pytest.raises(TypeError):
        writer.log_event(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        writer.save_raw("dev", "not bytes")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        writer.log_event("k", wall=float("nan"))
    # A lone surrogate cannot be UTF-8 encoded; it must not become a record that blocks the queue.
    writer.log_event("k", detail="bad \udcff byte")
    writer.log_event("k", detail="after")
    assert writer.flush(timeout=2)
    assert details(db_path) == ["bad \\udcff byte", "after"]


def test_event_log_is_append_only(writer: StoreWriter, db_path: Path) -> None:
    writer.log_event("k", detail="original")
    writer.save_raw("dev", b"raw")
    assert writer.flush()
    conn = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET detail = 'rewritten'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM events")
        with pytest.raises(sqlite3.DatabaseError, match="raw bytes"):
            conn.execute("UPDATE raw_spills SET data = x'00'")
        conn.execute("UPDATE raw_spills SET parsed = '{}'")  # the parser may annotate later
        conn.commit()
    finally:
        conn.close()
    assert details(db_path) == ["original"]


# ---------------------------------------------------------------------------- schema migrations


# What migration 1 created, written out by hand: a store made by the first release. Do not
# derive it from app.store.schema, or the test could no longer notice migration 1 being edited.
V1_SCHEMA_BY_HAND = """
CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, wall REAL NOT NULL, mono REAL,
    kind TEXT NOT NULL, channel TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '');
CREATE TABLE raw_spills (id INTEGER PRIMARY KEY AUTOINCREMENT, wall REAL NOT NULL, mono REAL,
    device TEXT NOT NULL, data BLOB NOT NULL, parsed TEXT);
INSERT INTO events (wall, kind, channel, source, detail) VALUES (1700000000.5, 'old', 'F1', 'v1', 'from v1');
INSERT INTO raw_spills (wall, device, data) VALUES (1700000000.5, 'ali', x'0203');
PRAGMA user_version = 1;
"""


def make_v1_store(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    try:
        conn.executescript(V1_SCHEMA_BY_HAND)
    finally:
        conn.close()


def test_fresh_store_gets_current_schema_version(writer: StoreWriter, db_path: Path) -> None:
    assert writer.connection_settings()["schema_version"] == SCHEMA_VERSION
    conn = sqlite3.connect(db_path)
    try:
        assert schema_version(conn) == SCHEMA_VERSION
    finally:
        conn.close()


def test_store_made_at_version_1_opens_keeps_its_rows_and_takes_new_ones(db_path: Path) -> None:
    make_v1_store(db_path)
    w = StoreWriter(db_path)
    w.start()
    w.log_event("new", detail="from current")
    assert w.stop()
    assert [(row.kind, row.channel, row.detail) for row in tail_events(db_path)] == [
        ("old", "F1", "from v1"),
        ("new", "", "from current"),
    ]
    assert raw_spills(db_path)[0].data == b"\x02\x03"
    conn = sqlite3.connect(db_path)
    try:
        assert schema_version(conn) == SCHEMA_VERSION
    finally:
        conn.close()


def test_version_1_store_is_migrated_forward_by_later_migrations(db_path: Path) -> None:
    make_v1_store(db_path)

    def backfill_tags(conn: sqlite3.Connection) -> None:
        conn.execute("UPDATE event_tags SET tag = 'v' || event_id")

    later = (
        *MIGRATIONS,
        Migration(
            SCHEMA_VERSION + 1,
            "tags",
            (
                "CREATE TABLE event_tags (event_id INTEGER REFERENCES events(id), tag TEXT)",
                "INSERT INTO event_tags (event_id) SELECT id FROM events",
                backfill_tags,
            ),
        ),
    )
    conn = sqlite3.connect(db_path)
    try:
        assert migrate(conn, later) == SCHEMA_VERSION + 1
        assert conn.execute("SELECT event_id, tag FROM event_tags").fetchall() == [(1, "v1")]
        assert conn.execute("SELECT detail FROM events").fetchall() == [("from v1",)]
        assert migrate(conn, later) == SCHEMA_VERSION + 1  # running again changes nothing
    finally:
        conn.close()


def test_failed_migration_rolls_back_completely(db_path: Path) -> None:
    make_v1_store(db_path)
    broken = (
        *MIGRATIONS,
        Migration(SCHEMA_VERSION + 1, "half done", ("CREATE TABLE half (x)", "NOT SQL AT ALL")),
    )
    conn = sqlite3.connect(db_path)
    try:
        with pytest.raises(StoreError, match=rf"{re.escape(str(db_path))}.*version {SCHEMA_VERSION + 1}"):
            migrate(conn, broken)
        assert schema_version(conn) == SCHEMA_VERSION
        tables = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "half" not in tables
    finally:
        conn.close()


def test_store_newer_than_the_code_is_refused_with_a_clear_error(db_path: Path) -> None:
    make_v1_store(db_path)
    conn = sqlite3.connect(db_path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 7}")
    conn.close()

    w = StoreWriter(db_path)
    with pytest.raises(StoreError) as caught:
        w.start()
    message = str(caught.value)
    assert str(db_path) in message
    assert str(SCHEMA_VERSION + 7) in message and str(SCHEMA_VERSION) in message
    assert "newer" in message
    w.stop()


def test_unopenable_path_raises_store_error_in_the_caller(tmp_path: Path) -> None:
    w = StoreWriter(tmp_path)  # a directory, not a database file
    with pytest.raises(StoreError, match=re.escape(str(tmp_path))):
        w.start()
    w.stop()


# ---------------------------------------------------------------------------- reading and formatting


def test_tail_and_events_since(writer: StoreWriter, db_path: Path) -> None:
    for i in range(30):
        writer.log_event("k", detail=str(i))
    assert writer.flush()
    assert [row.detail for row in tail_events(db_path, 3)] == ["27", "28", "29"]
    assert [row.id for row in events_since(db_path, after_id=25, limit=2)] == [26, 27]
    assert events_since(db_path, after_id=30) == []


def test_reading_a_missing_store_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.sqlite3"
    with pytest.raises(StoreError, match=re.escape(str(missing))):
        tail_events(missing)
    assert not missing.exists(), "a reader must never create a store"


def test_format_event_is_one_line_with_local_iso_time_and_escaped_controls() -> None:
    wall = 1700000123.456
    row = EventRow(
        id=1, wall=wall, kind="ali.raw", channel="", source="com3\tport",
        detail="123 MAIN ST\r\nAPT 4\x1b[31m\x00 \u2028end\\",
    )
    line = format_event(row)

    assert "\n" not in line and "\r" not in line and "\x1b" not in line and "\x00" not in line
    assert "\u2028" not in line and "\t" not in line
    assert line.endswith(r"123 MAIN ST\r\nAPT 4\x1b[31m\x00 \u2028end\\")
    assert r"com3\tport" in line
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d)  ali\.raw  -  ", line)
    assert match, line
    assert abs(datetime.fromisoformat(match.group(1)).timestamp() - wall) < 0.001
