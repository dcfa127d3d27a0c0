"""A whole position on simulated hardware: real driver threads, the control thread, the store writer."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from PySide6.QtCore import QObject, Slot

from app.config import load_profile
from app.position import Position

PROFILE = """
schema_version = 1
[position]
name = "TEST-1"
role = "dispatcher"
[[radios]]
id = "fire"
name = "FIRE DISP"
kind = "sim"
bursts_per_minute = 0.0
seed = 1
unit_ids = ["1234"]
[[radios]]
id = "pd"
name = "PD NORTH"
kind = "sim"
bursts_per_minute = 0.0
seed = 2
[[inputs]]
id = "footswitch"
kind = "sim"
[ali]
url = "sim://phone"
heartbeat_timeout_s = {heartbeat_timeout}
[phone]
kind = "sim"
calls_per_minute = 0.0
transport = "{transport}"
seed = 3
"""


def make_position(tmp_path, *, transport="memory", heartbeat_timeout=90.0) -> Position:
    path = tmp_path / "position.toml"
    path.write_text(PROFILE.format(transport=transport, heartbeat_timeout=heartbeat_timeout))
    return Position(load_profile(path), profile_path=str(path), data_path=tmp_path / "pos.sqlite3")


@pytest.fixture
def position(qtbot, tmp_path):
    pos = make_position(tmp_path)
    pos.start()
    qtbot.waitUntil(lambda: _state(pos, "ali") == "up" and _state(pos, "fire") == "up", timeout=5000)
    yield pos
    pos.stop()


def _state(pos: Position, device: str) -> str:
    return next((d.state for d in pos.status.devices if d.id == device), "missing")


def _channel(pos: Position, channel_id: str):
    return next(c for c in pos.console.channels if c.id == channel_id)


class ThreadProbe(QObject):
    """Records which thread a queued driver event is delivered on."""

    def __init__(self) -> None:
        super().__init__()
        self.delivered_on: list[int] = []

    @Slot(object)
    def on_event(self, _event) -> None:
        self.delivered_on.append(threading.get_ident())


def test_simulator_events_arrive_on_the_control_thread(qtbot, position):
    probe = ThreadProbe()
    probe.moveToThread(position.hub.thread())
    position.bridge.event.connect(probe.on_event)
    radio = position.driver("fire")
    radio.inject_burst(0.2, "1234")
    qtbot.waitUntil(lambda: _channel(position, "fire").receiving, timeout=3000)
    qtbot.waitUntil(lambda: not _channel(position, "fire").receiving, timeout=3000)
    assert _channel(position, "fire").unit_id == "1234"
    control_ident = position.control_thread_ident
    assert probe.delivered_on and set(probe.delivered_on) == {control_ident}
    assert control_ident not in (threading.get_ident(), radio.thread.ident)


def test_answered_call_pops_raw_spill_only_once_durable(qtbot, position, tmp_path):
    position.driver("phone").ring(0)
    qtbot.waitUntil(lambda: len(position.calls.ringing) == 1, timeout=3000)
    position.answer_call()
    qtbot.waitUntil(lambda: bool(position.calls.active and position.calls.active.spills), timeout=3000)
    spill = position.calls.active.current_spill
    assert spill.stored_id is not None, "popped before the store committed it"
    assert spill.bcc_ok is True and "555-0101" in spill.raw_text
    # The raw bytes are in the database, exactly as sent, before the pop.
    with sqlite3.connect(tmp_path / "pos.sqlite3") as db:
        raw = b"".join(row[0] for row in db.execute("SELECT data FROM raw_spills ORDER BY id"))
    assert b"\x02" + b"2001" in raw and b"(719) 555-0101 RESD" in raw
    position.release_call()
    qtbot.waitUntil(lambda: position.calls.active is None and bool(position.calls.recent), timeout=3000)
    assert position.calls.recent[0].state == "released"


def test_unanswered_call_is_abandoned(qtbot, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(PROFILE.format(transport="memory", heartbeat_timeout=90.0).replace(
        'calls_per_minute = 0.0', 'calls_per_minute = 0.0\nabandon_after_s = 0.3'))
    pos = Position(load_profile(path), data_path=tmp_path / "p.sqlite3")
    pos.start()
    try:
        pos.driver("phone").ring()
        qtbot.waitUntil(lambda: bool(pos.calls.recent) and pos.calls.recent[0].state == "abandoned", timeout=3000)
        assert pos.calls.ringing == ()
    finally:
        pos.stop()


def test_footswitch_keys_selected_channel_and_release_unkeys(qtbot, position):
    position.select_channel("pd", True)
    qtbot.waitUntil(lambda: _channel(position, "pd").selected, timeout=2000)
    position.driver("footswitch").press()
    qtbot.waitUntil(lambda: _channel(position, "pd").transmitting, timeout=2000)
    assert position.driver("pd").keyed and not position.driver("fire").keyed
    position.driver("footswitch").release()
    qtbot.waitUntil(lambda: not _channel(position, "pd").transmitting, timeout=2000)
    assert not position.driver("pd").keyed


def test_footswitch_lost_while_pressed_unkeys(qtbot, position):
    position.select_channel("fire", True)
    position.driver("footswitch").press()
    qtbot.waitUntil(lambda: _channel(position, "fire").transmitting, timeout=2000)
    position.driver("footswitch").unplug()
    qtbot.waitUntil(lambda: not position.driver("fire").keyed, timeout=2000)
    qtbot.waitUntil(lambda: not _channel(position, "fire").transmitting, timeout=2000)


def test_ptt_with_nothing_selected_keys_nothing(qtbot, position):
    logged = []
    position.event_logged.connect(logged.append)
    position.ptt("console", True)
    qtbot.waitUntil(lambda: any(e.kind == "ptt.refused" for e in logged), timeout=2000)
    assert not position.driver("fire").keyed and not position.driver("pd").keyed
    position.ptt("console", False)


def test_stop_while_keyed_unkeys_every_transmitter(qtbot, tmp_path):
    pos = make_position(tmp_path)
    pos.start()
    pos.select_channel("fire", True)
    pos.select_channel("pd", False)
    pos.ptt("console", True)
    qtbot.waitUntil(lambda: pos.driver("fire").keyed and pos.driver("pd").keyed, timeout=3000)
    radios = (pos.driver("fire"), pos.driver("pd"))
    assert pos.stop(timeout=3.0) is True
    assert not any(r.keyed for r in radios)
    assert not any(r.thread.is_alive() for r in radios)
    rows = sqlite3.connect(tmp_path / "pos.sqlite3").execute(
        "SELECT kind, channel, source, detail FROM events").fetchall()
    unkeys = {(channel, detail) for kind, channel, source, detail in rows if kind == "ptt.unkey"}
    assert {("fire", "shutdown"), ("pd", "shutdown")} <= unkeys
    assert any(kind == "position.stop" for kind, *_ in rows)


def test_spill_over_a_real_pseudo_terminal(qtbot, tmp_path):
    pytest.importorskip("termios")
    pos = make_position(tmp_path, transport="pty")
    pos.start()
    try:
        qtbot.waitUntil(lambda: _state(pos, "ali") == "up", timeout=5000)
        assert "/dev/pts/" in next(d.detail for d in pos.status.devices if d.id == "ali")
        pos.driver("phone").ring(3)
        qtbot.waitUntil(lambda: bool(pos.calls.ringing), timeout=3000)
        pos.answer_call()
        qtbot.waitUntil(lambda: bool(pos.calls.active and pos.calls.active.spills), timeout=3000)
        assert "WPH2" in pos.calls.active.current_spill.raw_text
    finally:
        pos.stop()


def test_heartbeat_silence_marks_ali_link_down(qtbot, tmp_path):
    pos = make_position(tmp_path, heartbeat_timeout=0.5)
    pos.start()
    try:
        qtbot.waitUntil(lambda: _state(pos, "ali") == "up", timeout=3000)
        qtbot.waitUntil(lambda: _state(pos, "ali") == "down", timeout=4000)
        assert "no heartbeat" in next(d.detail for d in pos.status.devices if d.id == "ali")
        pos.driver("phone").send_raw(b"\x02H\x03\x4b")
        qtbot.waitUntil(lambda: _state(pos, "ali") == "up", timeout=3000)
    finally:
        pos.stop()


def test_spill_with_no_call_answered_is_kept_unassigned(qtbot, position):
    position.driver("phone").send_raw(b"junk\x02" + b"2001\r\nLOOSE SPILL <b>x</b>" + b"\x03\x00")
    qtbot.waitUntil(lambda: bool(position.calls.unassigned_spills), timeout=3000)
    spill = position.calls.unassigned_spills[0]
    assert spill.bcc_ok is False and spill.errors and "<b>x</b>" in spill.raw_text


def test_missing_driver_kind_shows_fault_and_console_runs(qtbot, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(PROFILE.format(transport="memory", heartbeat_timeout=90.0) + """
[[radios]]
id = "hf"
name = "HF"
kind = "hamlib"
port = 1
# The same channel twice: the rigctld driver refuses to be built, so the radio has no driver.
channels = [{ name = "A", freq_hz = 1 }, { name = "A", freq_hz = 2 }]
""")
    pos = Position(load_profile(path), data_path=tmp_path / "p.sqlite3")
    pos.start()
    try:
        qtbot.waitUntil(lambda: _state(pos, "fire") == "up", timeout=3000)
        assert _state(pos, "hf") == "fault"
        pos.select_channel("hf", True)
        pos.ptt("console", True)
        qtbot.waitUntil(lambda: _channel(pos, "hf").failed_to_key != "", timeout=2000)
        pos.ptt("console", False)
    finally:
        pos.stop()
