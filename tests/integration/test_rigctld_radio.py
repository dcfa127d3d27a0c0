"""The rigctld radio driver against a real ``rigctld`` (Hamlib dummy rig) on a free local port.

What the driver believes is always checked against rigctld itself through a second, independent
client (``RigctldServer.ask`` opens its own connection), so an acknowledgement the driver reported
is one the server really gave. Waits are on events, never sleeps.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from app.config import load_profile
from app.drivers import build_radio
from hardware.events import CarrierChanged, KeyStateChanged, LinkState
from hardware.radio.rigctld import RigctldRadio, parse_reply
from tests.conftest import require_peer
from tests.rigctld import RigctldServer
from tests.events import Recorder, is_link, is_key

ROOT = Path(__file__).resolve().parents[2]
CHANNELS = [("FIRE DISP", 154_430_000, "FM"), ("EMS TAC", 155_340_000, "AM")]


@pytest.fixture
def radio_on(rigctld_server):
    """Factory: a started RigctldRadio on the fixture's rigctld; stopped at teardown."""
    made = []

    def make(sink, **kw):
        kw.setdefault("poll_ms", 50)
        radio = RigctldRadio("hf", sink, host=rigctld_server.host, port=rigctld_server.port, channels=CHANNELS, **kw)
        radio.start()
        made.append(radio)
        return radio

    yield make
    for radio in made:
        radio.stop(3.0)


def test_reply_parsing():
    reply = parse_reply("get_mode:|Mode: FM|Passband: 15000|RPRT 0\n")
    assert reply.ok and reply.values == {"Mode": "FM", "Passband": "15000"} and reply.echo == "get_mode:"
    assert parse_reply("set_ptt: 1|RPRT -1\n").code == -1
    with pytest.raises(ValueError, match="RPRT"):
        parse_reply("146520000\n")  # default protocol, not an extended response


def test_key_and_unkey_are_acknowledged_by_rigctld(rigctld_server, radio_on):
    rec = Recorder()
    radio = radio_on(rec)
    rec.wait_for(is_link(LinkState.UP))
    assert not rigctld_server.ptt()
    radio.key(True)
    rec.wait_for(is_key(True, error=False))
    assert rigctld_server.ptt(), "rigctld itself says PTT is on"
    mark = rec.mark()
    radio.key(False)
    rec.wait_for(is_key(False, error=False), after=mark)
    assert not rigctld_server.ptt()


def test_refused_key_reports_rigctlds_error(rigctld_server):
    require_peer("rigctld")
    with RigctldServer(ptt_type="NONE") as refusing:
        rec = Recorder()
        radio = RigctldRadio("hf", rec, host=refusing.host, port=refusing.port, poll_ms=50)
        radio.start()
        try:
            rec.wait_for(is_link(LinkState.UP))
            radio.key(True)
            failed = rec.wait_for(is_key(False, error=True))
            assert "RPRT -1" in failed.error and refusing.address in failed.error and "T 1" in failed.error
            assert not any(isinstance(e, KeyStateChanged) and e.keyed for e in rec.events)
        finally:
            radio.stop(3.0)


def test_tune_sets_frequency_and_mode(rigctld_server, radio_on):
    rec = Recorder()
    radio = radio_on(rec)
    rec.wait_for(is_link(LinkState.UP))
    for name, freq, mode in CHANNELS:
        radio.tune(name)
        deadline = time.monotonic() + 5
        while radio.tuned != name and time.monotonic() < deadline:
            radio.thread.join(0.01)  # the radio thread sets it; wait without a fixed sleep
        assert radio.tuned == name
        assert rigctld_server.ask("f")["Frequency"] == str(freq)
        assert rigctld_server.ask("m")["Mode"] == mode
    with pytest.raises(ValueError, match="no channel 'PD NORTH'.*FIRE DISP, EMS TAC"):
        radio.tune("PD NORTH")


def test_unkey_goes_before_queued_commands(rigctld_server, radio_on):
    """key(False) jumps the queue: tunes queued before it wait until T 0 is acknowledged."""
    freq_at_unkey = []

    def look(event):
        if isinstance(event, KeyStateChanged) and not event.keyed:
            freq_at_unkey.append(rigctld_server.ask("f")["Frequency"])

    rec = Recorder(look)
    radio = radio_on(rec, timeout_s=5.0)
    rec.wait_for(is_link(LinkState.UP))
    radio.key(True)
    rec.wait_for(is_key(True))
    before = rigctld_server.ask("f")["Frequency"]
    rigctld_server.pause()  # the radio thread blocks on its next poll; the requests below queue up
    try:
        radio.tune("FIRE DISP")
        radio.tune("EMS TAC")
        radio.key(False)
    finally:
        rigctld_server.resume()
    rec.wait_for(is_key(False))
    assert freq_at_unkey == [before], "T 0 was sent before the queued F/M commands"
    assert not rigctld_server.ptt()


def test_killed_rigctld_goes_down_and_comes_back_unkeyed(rigctld_server, radio_on):
    rec = Recorder()
    radio = radio_on(rec, backoff_s=(0.05, 0.2))
    rec.wait_for(is_link(LinkState.UP))
    radio.key(True)
    rec.wait_for(is_key(True))
    mark = rec.mark()
    rigctld_server.kill()
    down = rec.wait_for(is_link(LinkState.DOWN), after=mark)
    assert rigctld_server.address in down.detail
    dropped = rec.wait_for(is_key(False), after=mark)
    assert dropped.error  # the console is told the transmitter is gone, and why
    radio.key(True)  # while down: refused at once with the reason, not kept for later
    refused = rec.wait_for(lambda e: isinstance(e, KeyStateChanged) and e.error.startswith("not keyed"), after=mark)
    assert rigctld_server.address in refused.error
    mark = rec.mark()
    rigctld_server.restart()
    rec.wait_for(is_link(LinkState.UP), after=mark, timeout=10)
    assert not rigctld_server.ptt() and not radio.keyed


def test_rigctld_that_stops_answering_is_reported_down_naming_the_command(rigctld_server, radio_on):
    rec = Recorder()
    radio_on(rec, timeout_s=0.3, backoff_s=(0.05, 0.2))
    rec.wait_for(is_link(LinkState.UP))
    mark = rec.mark()
    rigctld_server.pause()
    try:
        down = rec.wait_for(is_link(LinkState.DOWN), after=mark)
        assert f"rigctld {rigctld_server.address} did not answer" in down.detail
        assert "get_dcd" in down.detail  # the poll is what it stopped answering
    finally:
        rigctld_server.resume()
    rec.wait_for(is_link(LinkState.UP), after=mark, timeout=10)


def test_stop_unkeys_and_waits_for_the_ack(rigctld_server):
    rec = Recorder()
    radio = RigctldRadio("hf", rec, host=rigctld_server.host, port=rigctld_server.port, poll_ms=50)
    radio.start()
    rec.wait_for(is_link(LinkState.UP))
    radio.key(True)
    rec.wait_for(is_key(True))
    assert radio.stop(3.0) is True
    assert not rigctld_server.ptt()
    assert isinstance(rec.events[-1], KeyStateChanged) and not rec.events[-1].keyed


CHILD = textwrap.dedent("""
    import sys, threading, time
    from hardware.events import KeyStateChanged
    from hardware.radio.rigctld import RigctldRadio
    keyed = threading.Event()
    def sink(ev):
        if isinstance(ev, KeyStateChanged) and ev.keyed:
            keyed.set()
    radio = RigctldRadio("hf", sink, host="127.0.0.1", port=int(sys.argv[1]), poll_ms=50)
    radio.start()
    time.sleep(0.1)
    while not keyed.is_set():
        radio.key(True)
        keyed.wait(0.5)
    print("KEYED", flush=True)
    time.sleep(600)
""")


def test_sigkilled_while_keyed_next_start_finds_radio_keyed_and_unkeys_it(rigctld_server):
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(rigctld_server.port)], cwd=ROOT,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "KEYED"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)
        child.stdout.close()
    # Nobody unkeyed it: rigctld (the radio) stays keyed after the console died.
    assert rigctld_server.ptt(), "rigctld still reports PTT on after the SIGKILL"
    rec = Recorder()
    radio = RigctldRadio("hf", rec, host=rigctld_server.host, port=rigctld_server.port, poll_ms=50)
    radio.start()  # the next start
    try:
        up = rec.wait_for(is_link(LinkState.UP))
        assert "found keyed" in up.detail
        rec.wait_for(is_key(False, error=False))
        assert not rigctld_server.ptt()
    finally:
        radio.stop(3.0)


def test_carrier_from_dcd_polling():
    """DCD from a rigctld-protocol peer whose squelch opens and closes (the dummy rig's DCD is always 0)."""
    dcd = threading.Event()
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve():
        conn, _ = server.accept()
        with conn, conn.makefile("rwb", buffering=0) as f:
            while not stop.is_set():
                line = f.readline().decode().strip()
                if not line:
                    return
                if line == "|\\get_dcd":
                    f.write(f"get_dcd:|DCD: {int(dcd.is_set())}|RPRT 0\n".encode())
                elif line == "|t":
                    f.write(b"get_ptt:|PTT: 0|RPRT 0\n")
                else:
                    f.write(f"{line[1:]}|RPRT 0\n".encode())

    peer = threading.Thread(target=serve, daemon=True)
    peer.start()
    rec = Recorder()
    radio = RigctldRadio("hf", rec, host="127.0.0.1", port=port, poll_ms=20)
    radio.start()
    try:
        rec.wait_for(is_link(LinkState.UP))
        dcd.set()
        rec.wait_for(lambda e: isinstance(e, CarrierChanged) and e.active)
        mark = rec.mark()
        dcd.clear()
        rec.wait_for(lambda e: isinstance(e, CarrierChanged) and not e.active, after=mark)
    finally:
        radio.stop(3.0)
        stop.set()
        server.close()


HAMLIB_PROFILE = """
schema_version = 1
[position]
name = "TEST-1"
role = "dispatcher"
[[radios]]
id = "hf"
name = "HF NET"
kind = "hamlib"
host = "127.0.0.1"
port = {port}
poll_ms = 50
channels = [{{ name = "FIRE DISP", freq_hz = 154430000, mode = "FM" }}]
"""


def test_profile_with_kind_hamlib_builds_the_rigctld_driver(rigctld_server, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(HAMLIB_PROFILE.format(port=rigctld_server.port))
    built = build_radio(load_profile(path).radios[0], lambda ev: None)
    assert built.problem == ""
    assert isinstance(built.driver, RigctldRadio)
    assert built.driver.address == rigctld_server.address and list(built.driver.channels) == ["FIRE DISP"]


def test_position_keys_a_hamlib_radio_through_ptt(qtbot, rigctld_server, tmp_path):
    from app.position import Position

    path = tmp_path / "p.toml"
    path.write_text(HAMLIB_PROFILE.format(port=rigctld_server.port))
    pos = Position(load_profile(path), profile_path=str(path), data_path=tmp_path / "pos.sqlite3")
    pos.start()
    try:
        channel = lambda: next(c for c in pos.console.channels if c.id == "hf")  # noqa: E731
        qtbot.waitUntil(lambda: channel().link == "up", timeout=5000)
        pos.select_channel("hf", True)
        pos.ptt("console", True)
        qtbot.waitUntil(lambda: channel().transmitting, timeout=5000)
        assert rigctld_server.ptt()
        pos.ptt("console", False)
        qtbot.waitUntil(lambda: not channel().transmitting, timeout=5000)
        assert not rigctld_server.ptt()
        pos.ptt("console", True)
        qtbot.waitUntil(lambda: channel().transmitting, timeout=5000)
    finally:
        assert pos.stop(timeout=3.0)
    assert not rigctld_server.ptt(), "stopping the position unkeyed the rigctld radio"


def test_the_dispatcher_switches_a_hamlib_radio_to_one_of_its_channels(qtbot, rigctld_server, tmp_path):
    from app.position import Position

    path = tmp_path / "p.toml"
    path.write_text(HAMLIB_PROFILE.format(port=rigctld_server.port).replace(
        'mode = "FM" }]', 'mode = "FM" }, { name = "EMS TAC", freq_hz = 155340000, mode = "FMN" }]'))
    pos = Position(load_profile(path), profile_path=str(path), data_path=tmp_path / "pos.sqlite3")
    logged: list = []
    pos.event_logged.connect(logged.append)
    pos.start()
    try:
        channel = lambda: next(c for c in pos.console.channels if c.id == "hf")  # noqa: E731
        qtbot.waitUntil(lambda: channel().link == "up", timeout=5000)
        assert channel().channels == ("FIRE DISP", "EMS TAC") and channel().tuned == ""
        pos.tune("hf", "EMS TAC")
        qtbot.waitUntil(lambda: channel().tuned == "EMS TAC", timeout=3000)
        # The driver's own record: rigctld acknowledged both F and M. Then ask rigctld itself, once
        # (a second client polling a busy rigctld 4.5 now and then gets its connection reset).
        qtbot.waitUntil(lambda: pos.driver("hf").tuned == "EMS TAC", timeout=5000)
        assert rigctld_server.ask("f")["Frequency"] == "155340000"
        assert rigctld_server.ask("m")["Mode"] == "FMN"
        pos.tune("hf", "PD NORTH")  # not one of its channels: refused, nothing changes
        qtbot.waitUntil(lambda: any(e.kind == "radio.tune.refused" for e in logged), timeout=3000)
        assert channel().tuned == "EMS TAC"
    finally:
        assert pos.stop(timeout=3.0)
