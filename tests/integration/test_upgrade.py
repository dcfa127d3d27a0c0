"""Upgrading a position: a new console reads the previous version's profile and database and loses nothing.

The database test is real: a store made with schema version 1 (this console's first format, event log
and raw spills) is opened by the current writer and a whole position. The profile format is still at
version 1, so its test installs a version-2 step the way a future release will, and loads a version-1
file through it.
"""

from __future__ import annotations

import sqlite3

import pytest

from app.calls.registry import RegistryIndex, import_registry_csv
from app.config import load_profile
from app.config import migrate as profile_migrate
from app.config import schema as profile_schema
from app.config.check import check_profile
from app.config.load import ProfileError
from app.config.migrate import ProfileMigration, migrate_profile_data
from app.position import Position
from app.store import StoreWriter
from app.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version


def make_v1_store(path):
    """A store exactly as the first release left it: schema 1, some events and raw spill bytes."""
    conn = sqlite3.connect(path)
    migrate(conn, MIGRATIONS[:1])
    with conn:
        conn.execute("INSERT INTO events (wall, mono, kind, channel, source, detail) VALUES "
                     "(1700000000.5, 1.0, 'call.answer', '911-1', 'console', 'call 1 answered after 4.0 s')")
        conn.execute("INSERT INTO raw_spills (wall, mono, device, data) VALUES (1700000001.0, 2.0, 'ali', ?)",
                     (b"\x02" + b"2001\r\n(719) 555-0101 RESD" + b"\x03\x17",))
    assert schema_version(conn) == 1
    conn.close()


def test_writer_upgrades_a_v1_store_and_keeps_every_row(tmp_path):
    db = tmp_path / "pos.sqlite3"
    make_v1_store(db)
    writer = StoreWriter(db)
    writer.start()
    try:
        assert writer.connection_settings()["schema_version"] == SCHEMA_VERSION == 2
        writer.log_call_event("c1", "ring", line="911-1", detail={"ani": "7195550101", "source": "phone"})
        writer.flush()
    finally:
        writer.stop()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT kind, detail FROM events").fetchall() == [
            ("call.answer", "call 1 answered after 4.0 s")]
        (raw,) = conn.execute("SELECT data FROM raw_spills").fetchone()
        assert raw.startswith(b"\x02" + b"2001") and raw.endswith(b"\x03\x17")
        assert conn.execute("SELECT call_uid, kind FROM call_events").fetchall() == [("c1", "ring")]
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            conn.execute("DELETE FROM events")


def test_a_position_starts_on_a_v1_store_with_its_registry(qtbot, tmp_path):
    db = tmp_path / "pos.sqlite3"
    make_v1_store(db)
    registry = tmp_path / "registry.csv"
    registry.write_text("phone,address,community,name,category,notes\n7195550101,,,\"Doe, John\",oxygen in use,O2\n")
    profile_path = tmp_path / "position.toml"
    profile_path.write_text(f'[position]\nname = "UP"\n[registry]\nfile = "{registry.name}"\n')
    position = Position(load_profile(profile_path), data_path=db)
    position.start()
    try:
        qtbot.waitUntil(lambda: any(d.id == "store" for d in position.status.devices), timeout=3000)
    finally:
        position.stop()
    assert len(RegistryIndex.load(db)) == 1
    assert import_registry_csv(db, registry).status == "unchanged"
    with sqlite3.connect(db) as conn:
        kinds = [k for (k,) in conn.execute("SELECT kind FROM events ORDER BY id")]
    assert kinds[0] == "call.answer" and "position.start" in kinds and "registry.import" in kinds


RENAME_BAUD = ProfileMigration(2, "[ali] baud is now baudrate",
                               lambda data: {**data, "ali": {("baudrate" if k == "baud" else k): v
                                                             for k, v in data.get("ali", {}).items()}})


@pytest.fixture
def next_profile_version(monkeypatch):
    """This console as the next release will be: profile schema 2 with one migration step."""
    monkeypatch.setattr(profile_schema, "CURRENT_SCHEMA_VERSION", 2)
    monkeypatch.setattr(profile_migrate, "PROFILE_MIGRATIONS", (RENAME_BAUD,))


V1_PROFILE = """# a version-1 profile, as a technician wrote it
schema_version = 1
[position]
name = "CT-3"
[ali]
url = "/dev/ttyUSB0"
baud = 19200   # the version-1 name
"""


def test_a_v1_profile_is_read_by_the_next_version_and_left_as_written(tmp_path, next_profile_version):
    path = tmp_path / "position.toml"
    path.write_text(V1_PROFILE)
    profile = load_profile(path)
    assert profile.ali.baudrate == 19200 and profile.schema_version == 2
    assert profile.migration_notes == ("read as schema 2: [ali] baud is now baudrate",)
    assert path.read_text() == V1_PROFILE  # comments and all: the older console can still read it
    code, lines = check_profile(path)
    assert code == 0 and "read as schema 2" in lines[1] and "unchanged" in lines[1]


def test_a_failing_migration_names_the_step(tmp_path, monkeypatch):
    broken = ProfileMigration(2, "split the radios", lambda data: data["radios"][5])
    monkeypatch.setattr(profile_schema, "CURRENT_SCHEMA_VERSION", 2)
    monkeypatch.setattr(profile_migrate, "PROFILE_MIGRATIONS", (broken,))
    path = tmp_path / "position.toml"
    path.write_text('[position]\nname = "X"\n')
    with pytest.raises(ProfileError, match=r"schema_version: upgrading the profile to schema 2 \(split the radios\)"):
        load_profile(path)


def test_migration_leaves_current_and_newer_data_alone_and_never_mutates():
    data = {"schema_version": 1, "position": {"name": "X"}, "ali": {"url": "COM3", "baud": 9600}}
    upgraded, notes = migrate_profile_data(data, (RENAME_BAUD,), current=2)
    assert upgraded["ali"] == {"url": "COM3", "baudrate": 9600} and upgraded["schema_version"] == 2
    assert data["ali"] == {"url": "COM3", "baud": 9600} and notes
    assert migrate_profile_data(upgraded, (RENAME_BAUD,), current=2) == (upgraded, [])
    newer = {"schema_version": 3}
    assert migrate_profile_data(newer, (RENAME_BAUD,), current=2) == (newer, [])
    with pytest.raises(ValueError, match="without gaps"):
        migrate_profile_data(data, (ProfileMigration(3, "x", dict),), current=3)
