"""The demo position end to end for a call-taker: registry flags, the directory, transfers, callbacks, RI ring."""

from __future__ import annotations

import sqlite3

import pytest

from app.config import load_demo_profile
from app.position import Position


@pytest.fixture
def demo(qtbot, tmp_path):
    profile = load_demo_profile()
    quiet_phone = profile.phone.model_copy(update={"calls_per_minute": 0.0, "rebid_after_s": None})
    profile = profile.model_copy(update={"phone": quiet_phone, "radios": [], "inputs": []})
    pos = Position(profile, data_path=tmp_path / "demo.sqlite3", demo=True)
    pos.start()
    qtbot.waitUntil(lambda: any(d.id == "ali" and d.state == "up" for d in pos.status.devices), timeout=5000)
    yield pos
    pos.stop()


def answer(qtbot, pos, record_index):
    pos.driver("phone").ring(record_index)
    qtbot.waitUntil(lambda: bool(pos.calls.ringing), timeout=3000)
    pos.answer_call()
    qtbot.waitUntil(lambda: bool(pos.calls.active and pos.calls.active.spills), timeout=3000)
    return pos.calls.active


def test_registry_from_the_demo_csv_flags_the_caller(qtbot, demo):
    call = answer(qtbot, demo, 0)  # 1000 OAK VALLEY DR, (719) 555-0101: oxygen in use
    assert [(f.category.lower(), f.matched_on) for f in call.flags] == [("oxygen in use", "phone+address")]
    demo.release_call()
    qtbot.waitUntil(lambda: demo.calls.active is None, timeout=3000)
    call = answer(qtbot, demo, 4)  # 250 CENTER AVE is registered for another town: no flag
    assert call.flags == ()


def test_directory_is_loaded_and_a_transfer_is_stored_on_the_call(qtbot, demo, tmp_path):
    assert len(demo.directory) > 10
    entry = demo.directory[0]
    call = answer(qtbot, demo, 1)
    demo.record_transfer(entry.name, entry.number, "copy")
    qtbot.waitUntil(lambda: demo.calls.active.timeline[-1].kind == "transfer", timeout=3000)
    demo.store.flush()
    with sqlite3.connect(tmp_path / "demo.sqlite3") as db:
        kinds = [k for (k,) in db.execute("SELECT kind FROM call_events WHERE call_uid = ? ORDER BY id", (call.uid,))]
    assert kinds == ["ring", "answer", "spill", "registry_match", "transfer"]


def test_hang_up_goes_on_the_callback_list_and_an_outcome_closes_it(qtbot, demo):
    answer(qtbot, demo, 5)
    demo.release_call(hang_up=True)
    qtbot.waitUntil(lambda: len(demo.calls.callbacks) == 1, timeout=3000)
    item = demo.calls.callbacks[0]
    assert item.reason == "hang-up" and item.number == "7195550106" and "JUSTICE WAY" in item.location
    demo.record_callback(item.call_uid, "voicemail", "left message")
    qtbot.waitUntil(lambda: demo.calls.callbacks[0].closed, timeout=3000)
    assert demo.calls.callbacks[0].attempts[0].note == "left message"


def test_ri_ring_source_builds_and_runs_the_ring_line_driver(qtbot, tmp_path):
    path = tmp_path / "ri.toml"
    path.write_text('[position]\nname = "RI"\n[calls]\nring_source = "ri"\nring_url = "loop://"\nring_line = "CTS"\n')
    from app.config import load_profile

    pos = Position(load_profile(path), data_path=tmp_path / "ri.sqlite3")
    pos.start()
    try:
        qtbot.waitUntil(lambda: any(d.id == "ring" and d.state == "up" for d in pos.status.devices), timeout=5000)
    finally:
        pos.stop()
