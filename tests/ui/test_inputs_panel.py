"""The Technician INPUTS tab: each input event with its time, device, control and the console action
the profile binds it to: the demo's simulated footswitch, and a control surface on a real JACK MIDI
virtual port through a Position. Also the monitor's bounded list on its own."""

from __future__ import annotations

import time

import pytest

from app.console.input_monitor import UNBOUND, InputMonitor
from hardware.events import ControlValue, InputChanged
from ui.technician.inputs_panel import InputsPanel


def test_monitor_keeps_the_newest_entries_and_numbers_them():
    monitor = InputMonitor(limit=3)
    for i in range(5):
        monitor.record(InputChanged("pedal", i % 2 == 0, control=f"note{i}"), "ptt" if i else None)
    entries = monitor.since(0)
    assert [e.control for e in entries] == ["note2", "note3", "note4"]
    assert [e.seq for e in entries] == [3, 4, 5] and monitor.since(5) == []
    assert monitor.since(4)[0].state == "down" and monitor.since(3)[0].state == "up"
    fader = monitor.record(ControlValue("surface", "cc7", 0.4213), None)
    assert (fader.state, fader.action) == ("0.42", UNBOUND)
    assert abs(fader.wall - time.time()) < 5 and len(fader.clock) == len("12:34:56.789")
    with pytest.raises(ValueError, match="limit"):
        InputMonitor(limit=0)


def test_demo_footswitch_shows_its_time_and_ptt_action(qtbot, demo_window):
    position, window = demo_window
    window.show_role("technician")
    panel: InputsPanel = window.technician.inputs
    window.technician.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.running, timeout=2000)
    assert ("footswitch", "any", "ptt") in [tuple(c.text for c in panel.bindings_model.row(i))
                                           for i in range(panel.bindings_model.rowCount())]
    footswitch = position.driver("footswitch")
    qtbot.waitUntil(lambda: any(d.id == "footswitch" and d.state == "up" for d in position.status.devices),
                    timeout=5000)
    before = time.time()
    footswitch.press()
    qtbot.waitUntil(lambda: bool(panel.rows()) and panel.rows()[0][1:] == ("footswitch", "ptt", "down", "ptt"),
                    timeout=3000)
    footswitch.release()
    qtbot.waitUntil(lambda: panel.rows()[0][1:] == ("footswitch", "ptt", "up", "ptt"), timeout=3000)
    entry = position.input_monitor.since(0)[-1]
    assert before - 0.5 <= entry.wall <= time.time() and panel.rows()[0][0] == entry.clock
    assert panel.last.text() == "last: footswitch ptt up → ptt"

    window.technician.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: not panel.running, timeout=1000)
    panel.clear_button.click()
    assert panel.rows() == []


SURFACE_PROFILE = """
schema_version = 1
[position]
name = "MIDI-1"
role = "technician"
[[radios]]
id = "fire"
name = "FIRE DISP"
kind = "sim"
bursts_per_minute = 0.0
[[radios]]
id = "ems"
name = "EMS"
kind = "sim"
bursts_per_minute = 0.0
[[inputs]]
id = "surface"
kind = "midi"
port = "inputs tester"
api = "jack"
bindings = [
  { note = 40, action = "select:fire" },
  { note = 60, action = "ptt" },
  { cc = 7, action = "volume:ems" },
]
"""


def test_midi_surface_events_show_their_mapped_actions(jack_server, qtbot, tmp_path):
    pytest.importorskip("rtmidi")
    from app.config import load_profile
    from app.position import Position
    from tests.integration.test_midi_input import Surface

    path = tmp_path / "position.toml"
    path.write_text(SURFACE_PROFILE)
    surface = Surface("inputs tester")
    position = Position(load_profile(path), profile_path=str(path), data_path=tmp_path / "pos.sqlite3")
    panel = InputsPanel(position)
    qtbot.addWidget(panel)
    panel.show()
    started = time.time()
    position.start()
    try:
        qtbot.waitUntil(lambda: any(d.id == "surface" and d.state == "up" for d in position.status.devices),
                        timeout=5000)
        surface.send(0x90, 40, 100)
        qtbot.waitUntil(lambda: bool(panel.rows()) and panel.rows()[0][1:] == ("surface", "note40", "down",
                                                                              "select:fire"), timeout=3000)
        surface.send(0x90, 60, 100)
        qtbot.waitUntil(lambda: panel.rows()[0][1:] == ("surface", "note60", "down", "ptt"), timeout=3000)
        surface.send(0x80, 60, 0)
        qtbot.waitUntil(lambda: panel.rows()[0][1:] == ("surface", "note60", "up", "ptt"), timeout=3000)
        surface.send(0xB0, 7, 127)  # the fader to the top
        qtbot.waitUntil(lambda: panel.rows()[0][1:] == ("surface", "cc7", "1.00", "volume:ems"), timeout=3000)
        entries = position.input_monitor.since(0)
        assert [(e.control, e.state) for e in entries] == [("note40", "down"), ("note60", "down"),
                                                            ("note60", "up"), ("cc7", "1.00")]
        assert all(started <= e.wall <= time.time() for e in entries)
        assert [r[0] for r in panel.rows()] == [e.clock for e in reversed(entries)]
    finally:
        position.stop()
        surface.close()
