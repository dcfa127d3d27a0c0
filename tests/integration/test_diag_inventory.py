"""`diag list` and the inventory on real parts: a private JACK server (its device shows in PortAudio's list
and its MIDI ports in rtmidi's), a pseudo-terminal and a missing device path for configured serial ports."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from app.config import load_profile
from app.inventory import build_inventory
from app.snapshots import DeviceStatus, StatusSnapshot
from hardware.discovery import Discovery, discover, list_midi_ports

ROOT = Path(__file__).resolve().parents[2]
PEDAL = "Bench Pedal H10"


def _profile(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "inventory.toml"
    path.write_text('schema_version = 1\n[position]\nname = "BENCH-1"\nrole = "technician"\n'
                    '[audio]\nbackend = "null"\n' + body, encoding="utf-8")
    return path


def _diag_list(*args: str) -> dict:
    done = subprocess.run([sys.executable, "-m", "ui.cli", "diag", "list", "--json", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def jack_pedal(jack_server):
    """A JACK MIDI output port named PEDAL, as a USB MIDI footswitch bridged into JACK would show."""
    rtmidi = pytest.importorskip("rtmidi")
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "pedal")
    out.open_virtual_port(PEDAL)
    try:
        yield jack_server
    finally:
        out.close_port()
        out.delete()


def test_the_jack_device_and_midi_port_are_listed(tmp_path, jack_pedal):
    config = _profile(tmp_path, '[[inputs]]\nid = "pedal"\nkind = "midi"\nport = "bench pedal"\napi = "jack"\nnote = 60\n'
                                '[[inputs]]\nid = "gone"\nkind = "midi"\nport = "No Such Surface"\nnote = 60\n')
    data = _diag_list("--config", str(config))
    jack_devices = [d for d in data["audio_devices"] if "jack" in d["hostapi"].lower()]
    assert jack_devices, f"PortAudio lists the JACK server: {data['audio_devices']} {data['problems']}"
    assert any(d["max_outputs"] >= 2 and d["default_samplerate"] == 48000 for d in jack_devices)
    ports = [(m["api"], m["direction"], m["name"]) for m in data["midi_ports"]]
    assert any(api == "jack" and direction == "in" and PEDAL in name for api, direction, name in ports), ports
    configured = {c["id"]: c for c in data["configured"]}
    assert configured["pedal"]["found"] is True and PEDAL in configured["pedal"]["found_as"]
    assert configured["gone"]["found"] is False
    assert configured["pedal"]["open"] is None, "no position is running: open is not known"


def test_a_midi_port_that_goes_away_leaves_the_list(jack_server):
    rtmidi = pytest.importorskip("rtmidi")
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "surface")
    out.open_virtual_port("Hotplug Surface")
    try:
        ports, _ = list_midi_ports(["jack"])
        assert any("Hotplug Surface" in p.name for p in ports)
    finally:
        out.close_port()
        out.delete()
    ports, _ = list_midi_ports(["jack"])
    assert not any("Hotplug Surface" in p.name for p in ports)


def test_no_midi_system_is_a_problem_line_not_an_error(monkeypatch, tmp_path):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "no-such-server-h10")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    ports, problems = list_midi_ports(["jack"])
    assert ports == [] and any(p.startswith("midi jack") for p in problems)


def test_configured_serial_ports_found_or_not(tmp_path):
    master, slave = pty.openpty()
    try:
        path = os.ttyname(slave)
        config = _profile(tmp_path, f'[[radios]]\nid = "here"\nname = "HERE"\nkind = "serial"\nurl = "{path}"\n'
                                    '[[radios]]\nid = "gone"\nname = "GONE"\nkind = "serial"\nurl = "/dev/ttyUSB-h10-none"\n'
                                    '[[radios]]\nid = "ts"\nname = "TS"\nkind = "serial"\nurl = "rfc2217://10.0.0.9:4001"\n')
        inventory = build_inventory(discover(audio=False), load_profile(config),
                                    StatusSnapshot((DeviceStatus("here", "HERE", "radio", "fault", "no modem lines"),
                                                    DeviceStatus("ts", "TS", "radio", "up", "open"))))
        here, gone, ts = (inventory.device(i) for i in ("here", "gone", "ts"))
        assert here.found is True and (here.open, here.healthy) == (False, False) and here.detail == "no modem lines"
        assert gone.found is False and gone.found_as == "not plugged in"
        assert ts.found is None and (ts.open, ts.healthy) == (True, True)
        assert inventory.device("audio").found is True  # the null device needs no card
    finally:
        os.close(master)
        os.close(slave)


def test_text_output_and_a_bad_profile(tmp_path):
    done = subprocess.run([sys.executable, "-m", "ui.cli", "diag", "list", "--no-audio"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "SERIAL PORTS" in done.stdout and "MIDI PORTS" in done.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text('[position]\nname = "X"\nrole = "nobody"\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "ui.cli", "diag", "list", "--config", str(bad)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2 and "bad.toml" in done.stderr


def test_the_dict_form_round_trips():
    from hardware.discovery import discovery_from_dict

    scan = discover(audio=False)
    assert discovery_from_dict(json.loads(json.dumps(scan.as_dict()))) == scan
    assert Discovery().as_dict()["serial_ports"] == []
