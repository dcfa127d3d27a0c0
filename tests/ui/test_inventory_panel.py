"""The INVENTORY tab, live: a JACK MIDI port plugged in and pulled out while the panel scans, a
configured MIDI input found and opened by the running position, and the JACK sound device listed
by the child-process scan."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import load_profile
from app.position import Position
from ui.technician.inventory_panel import InventoryPanel

PEDAL = "Hotplug Pedal H10"


def _profile(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.toml"
    path.write_text('schema_version = 1\n[position]\nname = "BENCH-1"\nrole = "technician"\n[audio]\nbackend = "null"\n'
                    f'[[inputs]]\nid = "pedal"\nkind = "midi"\nport = "{PEDAL}"\napi = "jack"\nnote = 60\n',
                    encoding="utf-8")
    return path


def _row(panel: InventoryPanel, device_id: str) -> dict[str, str]:
    ids = panel.configured.column_texts(1)
    i = ids.index(device_id)
    return {h: panel.configured.column_texts(c)[i] for c, h in enumerate(("label", "id", "kind", "address", "found",
                                                                         "open", "healthy", "detail"))}


def test_hot_plugged_midi_port_is_found_and_opened(qtbot, tmp_path, jack_server):
    rtmidi = pytest.importorskip("rtmidi")
    position = Position(load_profile(_profile(tmp_path)), data_path=tmp_path / "inv.sqlite3")
    panel = InventoryPanel(position, interval_ms=200)
    qtbot.addWidget(panel)
    panel.show()
    position.start()
    try:
        qtbot.waitUntil(lambda: panel.inventory is not None, timeout=20000)
        assert any("jack" in a.hostapi.lower() for a in panel.discovery.audio_devices), panel.discovery.problems
        assert _row(panel, "pedal")["found"] == "NO"
        surface = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "pedal")
        surface.open_virtual_port(PEDAL)
        try:
            qtbot.waitUntil(lambda: _row(panel, "pedal")["found"] == "yes", timeout=5000)
            assert any(c.startswith("+ MIDI in") and PEDAL in c for c in panel.changes), panel.changes
            qtbot.waitUntil(lambda: _row(panel, "pedal")["open"] == "yes", timeout=5000)  # the driver reopened it
            assert any(PEDAL in n for n in panel.discovered.column_texts(1))
        finally:
            surface.close_port()
            surface.delete()
        qtbot.waitUntil(lambda: _row(panel, "pedal")["found"] == "NO", timeout=5000)
        assert any(c.startswith("- MIDI in") and PEDAL in c for c in panel.changes)
        qtbot.waitUntil(lambda: _row(panel, "pedal")["healthy"] == "NO", timeout=5000)
    finally:
        panel.timer.stop()
        assert position.stop(timeout=3.0)


def test_a_failing_scan_does_not_stop_scanning(qtbot):
    from hardware.discovery import Discovery

    calls: list[bool] = []

    def scan(with_audio: bool) -> Discovery:
        calls.append(with_audio)
        if len(calls) == 1:
            raise OSError("enumeration failed")
        return Discovery()

    class NoPosition:
        profile = None
        status = None

    panel = InventoryPanel(NoPosition(), scan=scan, interval_ms=50)
    qtbot.addWidget(panel)
    assert calls == [], "nothing is scanned while the tab is not shown"
    panel.show()
    qtbot.waitUntil(lambda: len(calls) >= 3, timeout=3000)
    assert calls[0] is True and calls[1] is False, "the first scan lists sound devices, the timer's do not"
    panel.timer.stop()
    qtbot.waitUntil(lambda: not panel._busy, timeout=3000)
    panel.rescan()
    qtbot.waitUntil(lambda: calls[-1] is True, timeout=3000)
