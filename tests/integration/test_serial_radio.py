"""The serial-line radio against real ports: pyserial ``loop://``, an RFC 2217 server over a loop port
(tests/rfc2217_peer.py, pyserial's own PortManager), and pseudo-terminals for the tty-only parts.

A ``loop://`` port shows its RTS on CTS and its DTR on DSR: keying the radio on RTS raises its own
carrier on CTS, and a test plays a receiving radio's COR by setting DTR (seen on DSR). The RFC 2217 peer
records every RTS/DTR level the client sets, so "no key-up edge while opening" is checked on the wire.
Waits are on events and conditions, never sleeps.
"""

from __future__ import annotations

import itertools
import os
import pty
import termios
import threading
import time

import pytest
import serial

from app.config import load_profile
from app.drivers import build_radio
from hardware.events import CarrierChanged, KeyStateChanged, LinkState
from hardware.radio.serial_line import SerialLineRadio, set_hangup_on_close
from hardware.serial.ports import open_port
from tests.rfc2217_peer import Rfc2217Peer
from tests.events import Recorder, is_carrier, is_key, is_link, started_drivers


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        pause.wait(0.001)


@pytest.fixture
def radios():
    """Factory: a started SerialLineRadio; every one made is stopped at teardown."""
    yield from started_drivers(lambda sink, **kw: SerialLineRadio("radio", sink, **kw))


@pytest.fixture
def peer():
    with Rfc2217Peer() as p:
        yield p


# -- loop:// -----------------------------------------------------------------------------------------
def test_keying_rts_raises_own_carrier_on_cts(radios):
    rec = Recorder()
    radio = radios(rec, url="loop://", ptt_line="rts", carrier_line="cts", debounce_ms=5)
    up = rec.wait_for(is_link(LinkState.UP))
    assert "PTT on RTS" in up.detail and "carrier on CTS" in up.detail
    assert radio.port.rts is False and not radio.keyed
    radio.key(True)
    keyed = rec.wait_for(is_key(True, error=False))
    carrier = rec.wait_for(is_carrier(True))
    assert radio.port.rts is True
    assert carrier.t >= keyed.t - 0.01  # CTS followed RTS
    radio.key(False)
    rec.wait_for(is_key(False, error=False))
    rec.wait_for(is_carrier(False))
    assert radio.port.rts is False


def test_active_low_dtr_ptt_and_active_low_carrier(radios):
    rec = Recorder()
    radio = radios(rec, url="loop://", ptt_line="dtr", ptt_active_high=False, carrier_line="dsr",
                   carrier_active_high=False, debounce_ms=0)
    rec.wait_for(is_link(LinkState.UP))
    assert radio.port.dtr is True and radio.port.rts is True, "idle level of active-low PTT is high, on both lines"
    assert not any(isinstance(e, CarrierChanged) for e in rec.events)  # DSR high = no carrier
    radio.key(True)
    rec.wait_for(is_key(True, error=False))
    assert radio.port.dtr is False
    rec.wait_for(is_carrier(True))  # DSR low = carrier (active low)
    radio.key(False)
    rec.wait_for(is_carrier(False))
    assert radio.port.dtr is True


def test_carrier_is_debounced_and_stamped_when_first_seen(radios):
    rec = Recorder()
    radio = radios(rec, url="loop://", ptt_line="rts", carrier_line="dsr", debounce_ms=150)
    rec.wait_for(is_link(LinkState.UP))
    port = radio.port
    port.dtr = True  # the receiver's COR (DTR is looped to DSR): a blip far shorter than the debounce
    port.dtr = False
    t_on = time.monotonic()
    port.dtr = True
    carrier = rec.wait_for(is_carrier(True))
    assert time.monotonic() - t_on >= 0.15, "reported before the debounce time"
    assert abs(carrier.t - t_on) < 0.02, "the event carries the time the edge was first seen"
    assert len([e for e in rec.events if isinstance(e, CarrierChanged)]) == 1  # the blip was dropped
    port.dtr = False
    rec.wait_for(is_carrier(False))


def test_no_carrier_line_keys_only(radios):
    rec = Recorder()
    radio = radios(rec, url="loop://", carrier_line="none")
    up = rec.wait_for(is_link(LinkState.UP))
    assert "carrier" not in up.detail
    radio.key(True)
    rec.wait_for(is_key(True, error=False))
    assert radio.port.rts is True
    assert not any(isinstance(e, CarrierChanged) for e in rec.events)


def test_key_from_many_threads_never_blocks_and_ends_as_last_asked(radios):
    rec = Recorder()
    radio = radios(rec, url="loop://", carrier_line="none")
    rec.wait_for(is_link(LinkState.UP))
    barrier = threading.Barrier(8)
    slowest = []

    def hammer(n: int) -> None:
        barrier.wait()
        worst = 0.0
        for i in range(200):
            t = time.perf_counter()
            radio.key((i + n) % 2 == 0)
            worst = max(worst, time.perf_counter() - t)
        slowest.append(worst)

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    radio.key(False)
    wait_until(lambda: not radio.keyed and radio.port is not None and radio.port.rts is False)
    assert max(slowest) < 0.05, f"key() blocked for {max(slowest) * 1000:.1f} ms"
    keys = [e.keyed for e in rec.events if isinstance(e, KeyStateChanged)]
    assert all(a != b for a, b in itertools.pairwise(keys)), "every report is a change of what is set"


def test_lost_port_while_keyed_reports_unkeyed_then_down_and_reconnects():
    rec = Recorder()
    ports = []

    def opener():
        port = open_port("loop://", rts=False, dtr=False)
        ports.append(port)
        return port

    radio = SerialLineRadio("radio", rec, url="loop://", opener=opener, debounce_ms=0, backoff_s=(0.05, 0.2))
    radio.start()
    try:
        rec.wait_for(is_link(LinkState.UP))
        radio.key(True)
        rec.wait_for(is_key(True, error=False))
        rec.wait_for(is_carrier(True))
        mark = rec.mark()
        ports[0].close()  # the USB adapter is pulled
        down = rec.wait_for(is_link(LinkState.DOWN), after=mark)
        lost = rec.since(mark)
        kinds = [type(e).__name__ for e in lost[:lost.index(down) + 1]]
        assert kinds == ["KeyStateChanged", "CarrierChanged", "LinkChanged"], lost
        assert lost[0].keyed is False and "loop://" in lost[0].error
        assert lost[1].active is False
        up = rec.wait_for(is_link(LinkState.UP), after=mark)  # found again, no restart
        assert len(ports) == 2 and ports[1].rts is False, "reopened unkeyed: a lost key is not resumed"
        assert not radio.keyed and up.t > down.t
        radio.key(True)
        rec.wait_for(is_key(True, error=False), after=mark)
        assert ports[1].rts is True
    finally:
        assert radio.stop(5.0)
    assert ports[1].rts is False, "stop unkeyed before closing"


def test_key_while_port_missing_is_refused_with_the_reason(radios):
    rec = Recorder()
    radio = radios(rec, url="/dev/nonexistent-ttyUSB9", backoff_s=(0.05, 0.1))
    down = rec.wait_for(is_link(LinkState.DOWN))
    assert "/dev/nonexistent-ttyUSB9" in down.detail
    radio.key(True)
    refused = rec.wait_for(is_key(False, error=True))
    assert refused.error.startswith("not keyed:") and "nonexistent-ttyUSB9" in refused.error


def test_bad_url_is_a_fault_naming_it(radios):
    rec = Recorder()
    radio = radios(rec, url="nosuch://radio")
    fault = rec.wait_for(is_link(LinkState.FAULT))
    assert "nosuch://radio" in fault.detail
    radio.thread.join(2)
    assert not radio.thread.is_alive()


def test_unknown_lines_are_refused_at_construction():
    with pytest.raises(ValueError, match="RTS or DTR"):
        SerialLineRadio("r", lambda e: None, url="loop://", ptt_line="cts")
    with pytest.raises(ValueError, match="unknown modem line"):
        SerialLineRadio("r", lambda e: None, url="loop://", carrier_line="xyz")


def test_stop_while_keyed_unkeys_and_reports():
    rec = Recorder()
    radio = SerialLineRadio("radio", rec, url="loop://", carrier_line="none")
    radio.start()
    rec.wait_for(is_link(LinkState.UP))
    port = radio.port
    radio.key(True)
    rec.wait_for(is_key(True, error=False))
    assert radio.stop(5.0)
    assert port.rts is False
    assert isinstance(rec.events[-1], KeyStateChanged) and rec.events[-1].keyed is False


# -- RFC 2217 (a terminal server) ------------------------------------------------------------------------
def test_opening_never_raises_ptt_on_the_wire(radios, peer):
    rec = Recorder()
    radios(rec, url=peer.url, ptt_line="rts", carrier_line="cts")
    rec.wait_for(is_link(LinkState.UP), timeout=10)
    assert peer.port.changes, "the client set its lines while opening (else this test checks nothing)"
    assert True not in peer.port.levels("rts"), f"RTS went high while opening: {peer.port.changes}"
    assert True not in peer.port.levels("dtr"), f"DTR went high while opening: {peer.port.changes}"


def test_opening_active_low_never_lowers_dtr_on_the_wire(radios):
    with Rfc2217Peer(rts=True, dtr=True) as idle_high:
        rec = Recorder()
        radio = radios(rec, url=idle_high.url, ptt_line="dtr", ptt_active_high=False, carrier_line="none")
        rec.wait_for(is_link(LinkState.UP), timeout=10)
        assert idle_high.port.changes and False not in idle_high.port.levels("dtr"), idle_high.port.changes
        radio.key(True)
        idle_high.port.wait_level("dtr", False)
        radio.key(False)
        idle_high.port.wait_level("dtr", True)


def test_the_glitch_check_sees_a_plain_open(peer):
    """A plain pyserial open raises RTS and DTR: the recording peer sees it (so the checks above can fail)."""
    port = serial.serial_for_url(peer.url)
    try:
        peer.wait_sessions(accepted=1)
        assert True in peer.port.levels("rts")
    finally:
        port.close()


def test_keyed_over_rfc2217_carrier_comes_back_as_a_notification(radios, peer):
    rec = Recorder()
    radio = radios(rec, url=peer.url, ptt_line="rts", carrier_line="cts", debounce_ms=0)
    rec.wait_for(is_link(LinkState.UP), timeout=10)
    radio.key(True)
    peer.port.wait_level("rts", True)
    rec.wait_for(is_key(True, error=False))
    rec.wait_for(is_carrier(True))  # the server's CTS, notified by RFC 2217
    radio.key(False)
    peer.port.wait_level("rts", False)
    rec.wait_for(is_carrier(False))


def test_cor_from_the_terminal_server(radios, peer):
    rec = Recorder()
    radios(rec, url=peer.url, carrier_line="dsr", debounce_ms=10)
    rec.wait_for(is_link(LinkState.UP), timeout=10)
    t = peer.set_lines(dtr=True)  # the receiver's COR, wired to the server port's DSR
    carrier = rec.wait_for(is_carrier(True))
    assert carrier.t >= t
    peer.set_lines(dtr=False)
    rec.wait_for(is_carrier(False))


def test_terminal_server_lost_while_keyed_then_back(radios, peer):
    rec = Recorder()
    radio = radios(rec, url=peer.url, carrier_line="none", backoff_s=(0.05, 0.2))
    rec.wait_for(is_link(LinkState.UP), timeout=10)
    radio.key(True)
    rec.wait_for(is_key(True, error=False))
    mark = rec.mark()
    peer.refuse()
    peer.drop_session()
    lost = rec.wait_for(is_key(False, error=True), after=mark)
    down = rec.wait_for(is_link(LinkState.DOWN), after=mark)
    assert lost.t <= down.t and peer.url.split("//")[1] in down.detail
    peer.port.wait_level("rts", False)  # the server dropped it with the session
    radio.key(True)
    refused = rec.wait_for(is_key(False, error=True), after=rec.mark())
    assert refused.error.startswith("not keyed:")
    peer.listen()
    rec.wait_for(is_link(LinkState.UP), after=mark, timeout=10)
    assert not radio.keyed and peer.port.rts is False


def test_stop_over_rfc2217_leaves_the_line_low(peer):
    rec = Recorder()
    radio = SerialLineRadio("radio", rec, url=peer.url, carrier_line="none")
    radio.start()
    rec.wait_for(is_link(LinkState.UP), timeout=10)
    radio.key(True)
    peer.port.wait_level("rts", True)
    assert radio.stop(5.0)
    assert peer.port.rts is False
    # Unkeyed by the driver itself, before the session ended (not only by the server's hang-up).
    assert [level for name, level, _ in peer.port.changes if name == "rts"][-2:] in ([True, False], [False, False])
    assert rec.events[-1] == KeyStateChanged("radio", False, rec.events[-1].t)


# -- pseudo-terminals: the tty parts ----------------------------------------------------------------------
@pytest.fixture
def pty_path():
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    yield path, slave
    os.close(master)
    os.close(slave)


def _hupcl(fd: int) -> bool:
    return bool(termios.tcgetattr(fd)[2] & termios.HUPCL)


def test_set_hangup_on_close_on_a_real_tty(pty_path):
    path, slave = pty_path
    attrs = termios.tcgetattr(slave)
    attrs[2] &= ~termios.HUPCL  # as `stty -hupcl` by an earlier program would leave it
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    port = open_port(path, rts=None, dtr=None)
    try:
        assert set_hangup_on_close(port, True) is True
        assert _hupcl(slave)
        assert set_hangup_on_close(port, False) is True
        assert not _hupcl(slave)
    finally:
        port.close()
    loop = open_port("loop://")
    try:
        assert set_hangup_on_close(loop, True) is False  # not a tty: nothing to set
    finally:
        loop.close()


@pytest.mark.parametrize("active_high", [True, False])
def test_radio_sets_hupcl_for_active_high_and_clears_it_for_active_low(pty_path, active_high):
    path, slave = pty_path
    attrs = termios.tcgetattr(slave)
    attrs[2] = (attrs[2] & ~termios.HUPCL) if active_high else (attrs[2] | termios.HUPCL)
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    rec = Recorder()
    # A pseudo-terminal has no modem lines, so it is opened without setting any (only HUPCL is looked at).
    radio = SerialLineRadio("radio", rec, url=path, ptt_active_high=active_high, carrier_line="none",
                            opener=lambda: open_port(path, rts=None, dtr=None))
    radio.start()
    try:
        rec.wait_for(is_link(LinkState.UP))
        assert radio.hangup_on_close is active_high
        assert _hupcl(slave) is active_high
        radio.key(True)  # a pty cannot set RTS: a fault, reported unkeyed with the reason
        refused = rec.wait_for(is_key(False, error=True))
        assert "RTS" in refused.error
        rec.wait_for(is_link(LinkState.FAULT))
    finally:
        assert radio.stop(5.0)


def test_radio_on_a_pseudo_terminal_is_a_fault(radios, pty_path):
    path, _ = pty_path
    rec = Recorder()
    radios(rec, url=path)
    fault = rec.wait_for(is_link(LinkState.FAULT))
    assert path in fault.detail and "no modem lines" in fault.detail


# -- from a profile ---------------------------------------------------------------------------------------
PROFILE = """schema_version = 1
[position]
name = "SERIAL-1"
role = "dispatcher"
[[radios]]
id = "fire"
name = "FIRE DISP"
kind = "serial"
url = "loop://"
ptt_line = "rts"
carrier_line = "dsr"
debounce_ms = 5
"""


def test_profile_with_kind_serial_builds_the_serial_radio(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(PROFILE)
    built = build_radio(load_profile(path).radios[0], lambda ev: None)
    assert built.problem == ""
    assert isinstance(built.driver, SerialLineRadio)
    assert built.driver.url == "loop://" and built.driver.ptt_line == "rts" and built.driver.carrier.name == "dsr"


def test_position_keys_a_serial_radio_through_ptt(qtbot, tmp_path):
    from app.position import Position

    path = tmp_path / "p.toml"
    path.write_text(PROFILE)
    pos = Position(load_profile(path), profile_path=str(path), data_path=tmp_path / "pos.sqlite3")
    pos.start()
    driver = pos.driver("fire")
    try:
        channel = lambda: next(c for c in pos.console.channels if c.id == "fire")
        qtbot.waitUntil(lambda: channel().link == "up", timeout=5000)
        port = driver.port
        assert port.rts is False
        pos.select_channel("fire", True)
        pos.ptt("console", True)
        qtbot.waitUntil(lambda: channel().transmitting, timeout=5000)
        assert port.rts is True
        pos.ptt("console", False)
        qtbot.waitUntil(lambda: not channel().transmitting, timeout=5000)
        assert port.rts is False
        port.dtr = True  # COR on DSR (DTR looped back): the channel hears a carrier
        qtbot.waitUntil(lambda: channel().receiving, timeout=5000)
        port.dtr = False
        qtbot.waitUntil(lambda: not channel().receiving, timeout=5000)
        pos.ptt("console", True)
        qtbot.waitUntil(lambda: channel().transmitting, timeout=5000)
    finally:
        assert pos.stop(timeout=3.0)
    assert port.rts is False and not driver.keyed, "stopping the position unkeyed the serial radio"


def test_a_port_whose_lines_cannot_be_set_is_not_left_open(pty_path):
    """A pseudo-terminal refuses RTS/DTR after open: open_port closes it again instead of leaving
    the descriptor (and its exclusive lock) open until the garbage collector finds it."""
    from hardware.serial.ports import open_port

    path, _slave = pty_path
    real = os.path.realpath(path)

    def descriptors_on_path() -> int:
        count = 0
        for fd in os.listdir("/proc/self/fd"):
            try:
                count += os.path.realpath(f"/proc/self/fd/{fd}") == real
            except OSError:
                pass
        return count

    before = descriptors_on_path()
    with pytest.raises(OSError) as caught:
        open_port(path)
    assert caught.tb is not None  # the traceback keeps open_port's frame, and a leaked port, alive
    assert descriptors_on_path() == before
