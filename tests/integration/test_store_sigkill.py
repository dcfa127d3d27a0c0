"""Kill -9 a process in the middle of writing: every row it reported as committed must survive.

The child logs events (and every tenth one a raw spill) as fast as it can and prints each row id
from on_committed. The parent SIGKILLs it mid-stream, then checks the file, read-only and
through a restarted writer, against every id the child printed.
"""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from app.store import StoreWriter, events_since, raw_spills

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX-only")

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMITS_BEFORE_KILL = 2000
DEADLINE_S = 20.0

# Prints "E <event id> <seq>" and "R <spill id> <seq>" lines, each only after its commit.
CHILD = textwrap.dedent(
    """
    import sys
    import threading
    from app.store import StoreWriter

    # At most this many records in flight: the writer always has work, and the submitting loop
    # blocks instead of flooding the queue (a flooding thread starves the writer of the GIL).
    in_flight = threading.BoundedSemaphore(300)

    def report(table, seq):
        def committed(row_id):
            print(table, row_id, seq, flush=True)
            in_flight.release()
        return committed

    writer = StoreWriter(sys.argv[1], batch_max=200)
    writer.start()
    seq = 0
    while True:
        seq += 1
        in_flight.acquire()
        writer.log_event("tick", channel="CH1", source="child", detail=f"seq={seq}", on_committed=report("E", seq))
        if seq % 10 == 0:
            in_flight.acquire()
            writer.save_raw("ali-a", b"\\x02spill %d\\x00\\xff\\x03" % seq, on_committed=report("R", seq))
    """
)


def spill_bytes(seq: int) -> bytes:
    return b"\x02spill %d\x00\xff\x03" % seq


def read_lines(stream, into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def test_every_reported_commit_survives_sigkill(tmp_path: Path) -> None:
    db_path = tmp_path / "killed" / "events.sqlite3"
    stderr_path = tmp_path / "child.stderr"
    with open(stderr_path, "wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(db_path)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=REPO_ROOT,
        )
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=read_lines, args=(child.stdout, lines), daemon=True)
    reader.start()

    events: dict[int, int] = {}  # event id -> seq, as reported committed by the child
    spills: dict[int, int] = {}
    killed = False
    try:
        deadline = time.monotonic() + DEADLINE_S
        while len(events) < COMMITS_BEFORE_KILL:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"child reported only {len(events)} commits in {DEADLINE_S} s"
            line = lines.get(timeout=remaining)
            assert line is not None, f"child exited early: {stderr_path.read_text()}"
            collect(line, events, spills)
        os.kill(child.pid, signal.SIGKILL)
        killed = True
        child.wait(timeout=10)
    finally:
        if not killed:
            child.kill()
            child.wait(timeout=10)

    # Lines already in the pipe were printed after their commit too: they count.
    reader.join(timeout=10)
    while (line := lines.get_nowait()) is not None:
        collect(line, events, spills)
    assert child.returncode == -signal.SIGKILL
    assert spills, "the child should have committed some raw spills"

    # Read-only first, as a technician's tool would after a crash: the WAL must be readable as left.
    check_store(db_path, events, spills)

    # Restart: a new writer recovers the WAL, keeps every row, and carries on after the last id.
    writer = StoreWriter(db_path)
    writer.start()
    new_ids: list[int] = []
    writer.log_event("restarted", on_committed=new_ids.append)
    assert writer.stop()
    check_store(db_path, events, spills)
    assert new_ids and new_ids[0] > max(events)
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        conn.close()


def collect(line: str, events: dict[int, int], spills: dict[int, int]) -> None:
    """Record one complete "E|R id seq" line; a line cut short by the kill has no newline: skip it."""
    if not line.endswith("\n"):
        return
    table, row_id, seq = line.split()
    (events if table == "E" else spills)[int(row_id)] = int(seq)


def check_store(db_path: Path, events: dict[int, int], spills: dict[int, int]) -> None:
    rows = [row for row in events_since(db_path, 0, limit=10_000_000) if row.kind == "tick"]
    # The log is a gap-free prefix of what the child submitted, in order...
    assert [row.detail for row in rows] == [f"seq={n}" for n in range(1, len(rows) + 1)]
    assert all(row.channel == "CH1" and row.source == "child" for row in rows)
    # ...and it holds every row the child was told was committed, with the right content.
    by_id = {row.id: row.detail for row in rows}
    lost = {row_id: seq for row_id, seq in events.items() if by_id.get(row_id) != f"seq={seq}"}
    assert not lost, f"{len(lost)} committed events lost or wrong, e.g. {sorted(lost.items())[:5]}"

    stored = {row.id: row.data for row in raw_spills(db_path, limit=10_000_000)}
    lost = {row_id: seq for row_id, seq in spills.items() if stored.get(row_id) != spill_bytes(seq)}
    assert not lost, f"{len(lost)} committed raw spills lost or wrong, e.g. {sorted(lost.items())[:5]}"
