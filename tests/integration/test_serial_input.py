"""The serial-line input (footswitch, headset PTT, jackbox presence) against real ports: ``loop://``
(the test's RTS drives the CTS the driver watches, its DTR the DSR) and an RFC 2217 server over a loop
port (tests/rfc2217_peer.py), whose modem-state notifications carry the switch. Waits are on events.
"""

from __future__ import annotations

import os
import pty
import statistics
import threading
import time

import pytest

from app.config import load_profile
from app.drivers import build_input
from hardware.events import InputChanged, LinkState
from hardware.inputs.serial_line import SerialLineInput
from hardware.serial.ports import open_port
from tests.events import Recorder, is_input, is_link, started_drivers
from tests.rfc2217_peer import Rfc2217Peer


def is_press(pressed):
    return is_input(None, pressed)


@pytest.fixture
def inputs():
    """Factory: a started SerialLineInput; every one made is stopped at teardown."""
    yield from started_drivers(lambda sink, **kw: SerialLineInput("footswitch", sink, **kw))


def test_footswitch_on_cts_presses_and_releases(inputs):
    rec = Recorder()
    switch = inputs(rec, url="loop://", line="cts", debounce_ms=5)
    up = rec.wait_for(is_link(LinkState.UP))
    assert "CTS" in up.detail
    assert switch.port.rts is False and switch.port.dtr is False, "the port drives nothing by default"
    t = time.monotonic()
    switch.port.rts = True  # the switch closes (RTS is looped back to CTS)
    pressed = rec.wait_for(is_press(True))
    assert pressed.control == "cts" and pressed.device == "footswitch"
    assert pressed.t - t < 0.02, "stamped when the edge was first seen, not after the debounce"
    switch.port.rts = False
    rec.wait_for(is_press(False))
    assert [e.pressed for e in rec.events if isinstance(e, InputChanged)] == [True, False]


def test_active_low_line_and_debounce(inputs):
    rec = Recorder()
    switch = inputs(rec, url="loop://", line="dsr", active_high=False, debounce_ms=150, power=True)
    rec.wait_for(is_link(LinkState.UP))  # DTR asserted (power) -> DSR high -> released (active low)
    port = switch.port
    port.dtr = False  # a bounce far shorter than the debounce
    port.dtr = True
    t = time.monotonic()
    port.dtr = False
    rec.wait_for(is_press(True))
    assert time.monotonic() - t >= 0.15
    assert len([e for e in rec.events if isinstance(e, InputChanged)]) == 1, "the bounce was not reported"
    port.dtr = True
    rec.wait_for(is_press(False))


def test_line_active_at_open_is_reported_pressed_after_up(inputs):
    rec = Recorder()
    inputs(rec, url="loop://", line="cts", power=True)  # RTS asserted -> CTS active from the start
    up = rec.wait_for(is_link(LinkState.UP))
    pressed = rec.wait_for(is_press(True))
    assert rec.events.index(up) < rec.events.index(pressed)


def test_lost_while_pressed_releases_before_down_and_is_found_again():
    rec = Recorder()
    ports = []

    def opener():
        port = open_port("loop://", rts=False, dtr=False)
        ports.append(port)
        return port

    switch = SerialLineInput("footswitch", rec, url="loop://", opener=opener, debounce_ms=0, backoff_s=(0.05, 0.2))
    switch.start()
    try:
        rec.wait_for(is_link(LinkState.UP))
        ports[0].rts = True
        rec.wait_for(is_press(True))
        mark = rec.mark()
        ports[0].close()  # the USB adapter is pulled while the pedal is down
        down = rec.wait_for(is_link(LinkState.DOWN), after=mark)
        lost = rec.since(mark)
        assert isinstance(lost[0], InputChanged) and lost[0].pressed is False and lost[1] is down, lost
        rec.wait_for(is_link(LinkState.UP), after=mark)  # found again without a restart
        ports[1].rts = True
        rec.wait_for(is_press(True), after=mark)
    finally:
        assert switch.stop(5.0)
    assert isinstance(rec.events[-1], InputChanged) and rec.events[-1].pressed is False, "stop lets go of the switch"


def test_terminal_server_session_lost_while_pressed(inputs):
    with Rfc2217Peer() as peer:
        rec = Recorder()
        inputs(rec, url=peer.url, line="cts", debounce_ms=0, backoff_s=(0.05, 0.2))
        rec.wait_for(is_link(LinkState.UP), timeout=10)
        peer.set_lines(rts=True)  # the pedal, wired to the server port's CTS
        rec.wait_for(is_press(True))
        mark = rec.mark()
        peer.drop_session()
        released = rec.wait_for(is_press(False), after=mark)
        down = rec.wait_for(is_link(LinkState.DOWN), after=mark)
        assert rec.events.index(released) < rec.events.index(down)
        rec.wait_for(is_link(LinkState.UP), after=mark, timeout=10)
        peer.set_lines(rts=True)
        rec.wait_for(is_press(True), after=mark)


def _edge_to_callback(peer_or_port, set_level, rec: Recorder, samples: int) -> list[float]:
    """Microseconds from a CTS edge to the InputChanged callback, per edge (both directions)."""
    arrived: dict[int, float] = {}
    lock = threading.Condition()
    count = [0]

    def on_event(event) -> None:
        t = time.monotonic()
        if isinstance(event, InputChanged):
            with lock:
                count[0] += 1
                arrived[count[0]] = t
                lock.notify_all()

    rec.listener = on_event
    out = []
    pause = threading.Event()
    for i in range(1, samples + 1):
        pause.wait(0.002 + (i % 7) * 0.0013)  # edges at varied phases of the 4 ms polling
        t_edge = set_level(i % 2 == 1)
        with lock:
            assert lock.wait_for(lambda n=i: count[0] >= n, 2.0), f"edge {i} not reported"
            out.append((arrived[i] - t_edge) * 1e6)
    return out


class TimedRecorder(Recorder):
    listener = None

    def __call__(self, event) -> None:
        if self.listener is not None:
            self.listener(event)
        super().__call__(event)


def _summary(name: str, us: list[float]) -> str:
    us = sorted(us)
    p99 = us[min(len(us) - 1, int(len(us) * 0.99))]
    return f"{name}: median {statistics.median(us):.0f} us, p99 {p99:.0f} us, max {us[-1]:.0f} us, n={len(us)}"


def test_cts_edge_to_input_event_latency(inputs, capsys):
    """CTS edge -> InputChanged callback, on loop:// and through RFC 2217; printed, bounded loosely."""
    rec = TimedRecorder()
    switch = inputs(rec, url="loop://", line="cts", debounce_ms=0)
    rec.wait_for(is_link(LinkState.UP))
    port = switch.port

    def set_loop(level: bool) -> float:
        t = time.monotonic()
        port.rts = level
        return t

    loop_us = _edge_to_callback(port, set_loop, rec, 200)
    with Rfc2217Peer() as peer:
        rec2 = TimedRecorder()
        inputs(rec2, url=peer.url, line="cts", debounce_ms=0)
        rec2.wait_for(is_link(LinkState.UP), timeout=10)
        rfc_us = _edge_to_callback(peer, lambda level: peer.set_lines(rts=level), rec2, 200)
    with capsys.disabled():
        print("\n" + _summary("loop:// CTS edge -> InputChanged", loop_us))
        print(_summary("rfc2217 CTS edge -> InputChanged", rfc_us))
    # Polling every 2 ms: every edge is seen within 5 ms plus scheduling; generous for a loaded CI machine.
    assert statistics.median(loop_us) < 5_000 and statistics.median(rfc_us) < 10_000


def test_pseudo_terminal_is_a_fault(inputs):
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    try:
        rec = Recorder()
        switch = inputs(rec, url=path)
        fault = rec.wait_for(is_link(LinkState.FAULT))
        assert path in fault.detail
        switch.thread.join(2)
        assert not switch.thread.is_alive()
    finally:
        os.close(master)
        os.close(slave)


def test_unknown_line_is_refused():
    with pytest.raises(ValueError, match="unknown modem line"):
        SerialLineInput("fs", lambda e: None, url="loop://", line="rts")


def test_profile_with_kind_serial_line_builds_the_input(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('schema_version = 1\n[position]\nname = "FS"\nrole = "dispatcher"\n'
                    '[[inputs]]\nid = "pedal"\nkind = "serial-line"\nurl = "loop://"\nline = "dsr"\n'
                    'active_high = false\ndebounce_ms = 15\n')
    built = build_input(load_profile(path).inputs[0], lambda ev: None)
    assert built.problem == ""
    switch = built.driver
    assert isinstance(switch, SerialLineInput)
    assert switch.url == "loop://" and switch.line.name == "dsr" and switch.line.active_low
    assert switch.line.debounce_ms == 15


def test_position_keys_a_serial_radio_from_a_serial_footswitch(qtbot, tmp_path):
    from app.position import Position

    path = tmp_path / "p.toml"
    path.write_text('schema_version = 1\n[position]\nname = "FS"\nrole = "dispatcher"\n'
                    '[[radios]]\nid = "fire"\nname = "FIRE DISP"\nkind = "serial"\nurl = "loop://"\ncarrier_line = "none"\n'
                    '[[inputs]]\nid = "pedal"\nkind = "serial-line"\nurl = "loop://"\nline = "cts"\ndebounce_ms = 0\n')
    pos = Position(load_profile(path), profile_path=str(path), data_path=tmp_path / "pos.sqlite3")
    pos.start()
    radio, pedal = pos.driver("fire"), pos.driver("pedal")
    try:
        channel = lambda: next(c for c in pos.console.channels if c.id == "fire")
        qtbot.waitUntil(lambda: channel().link == "up" and pedal.port is not None, timeout=5000)
        pos.select_channel("fire", True)
        pedal.port.rts = True  # pedal down
        qtbot.waitUntil(lambda: radio.port.rts is True, timeout=5000)
        pedal.port.rts = False
        qtbot.waitUntil(lambda: radio.port.rts is False, timeout=5000)
    finally:
        assert pos.stop(timeout=3.0)
