"""Modem-line watcher and ring-line driver against real peers: pyserial ``loop://`` ports and pseudo-terminals.

A ``loop://`` port reflects its own RTS on CTS and DTR on DSR, so a test toggles RTS on the very port
object the watcher reads (handed over by the opener) and the watcher sees CTS change.
Timing is waited for on events and conditions, never slept.
"""

from __future__ import annotations

import os
import pty
import threading
import time

import pytest

from app.config.schema import Calls
from app.drivers import build_ring_line
from hardware.events import LinkChanged, LinkState, RingChanged
from hardware.serial.modem_lines import (
    LineChange,
    LineWatcher,
    ModemLines,
    NoModemLines,
    WatchedLine,
    choose_mode,
    read_lines,
)
from hardware.serial.ports import open_port
from hardware.serial.ring_line import RingLineWatcher
from tests.events import Recorder


def wait_until(condition, timeout: float = 5.0) -> None:
    """Like qtbot.waitUntil, for plain threads: re-check every millisecond until true or time-out."""
    deadline = time.monotonic() + timeout
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        pause.wait(0.001)


def link(state: LinkState):
    return lambda e: isinstance(e, LinkChanged) and e.state is state


def ring(ringing: bool):
    return lambda e: isinstance(e, RingChanged) and e.ringing is ringing


@pytest.fixture
def loop_port():
    port = open_port("loop://", rts=False, dtr=False)
    yield port
    port.close()


@pytest.fixture
def pty_path():
    master, slave = pty.openpty()
    yield os.ttyname(slave)
    os.close(slave)
    os.close(master)


@pytest.fixture
def pty_port(pty_path):
    port = open_port(pty_path, rts=None, dtr=None)
    yield port, pty_path
    port.close()


# -- reading and watching -------------------------------------------------------------------------


def test_read_lines_reflects_rts_on_cts_and_dtr_on_dsr(loop_port):
    assert read_lines(loop_port) == ModemLines(cts=False, dsr=False, cd=True, ri=False)
    loop_port.rts = True
    assert read_lines(loop_port).cts is True
    loop_port.dtr = True
    assert read_lines(loop_port) == ModemLines(cts=True, dsr=True, cd=True, ri=False)
    assert read_lines(loop_port).get("DSR") is True


def test_a_change_is_reported_with_when_it_was_first_seen(loop_port):
    watcher = LineWatcher(loop_port, [WatchedLine("CTS")])
    assert watcher.mode == "poll" and watcher.active("cts") is False
    assert watcher.wait(0) == []
    before = time.monotonic()
    loop_port.rts = True
    changes = watcher.wait(1.0)
    assert [(c.line, c.active) for c in changes] == [("cts", True)]
    assert before <= changes[0].t <= time.monotonic()
    assert watcher.active("cts") is True
    loop_port.rts = False
    assert [(c.line, c.active) for c in watcher.wait(1.0)] == [("cts", False)]


def test_only_watched_lines_are_reported(loop_port):
    watcher = LineWatcher(loop_port, [WatchedLine("dsr")])
    loop_port.rts = True  # CTS changes: not watched
    assert watcher.wait(0.05) == []
    loop_port.dtr = True
    assert [(c.line, c.active) for c in watcher.wait(1.0)] == [("dsr", True)]


def test_lines_that_change_together_are_reported_together(loop_port):
    watcher = LineWatcher(loop_port, [WatchedLine("cts"), WatchedLine("dsr")])
    loop_port.rts = True
    loop_port.dtr = True
    changes = watcher.wait(1.0)
    assert all(isinstance(c, LineChange) for c in changes)
    assert sorted((c.line, c.active) for c in changes) == [("cts", True), ("dsr", True)]


def test_debounce_drops_a_short_blip_and_reports_a_held_change(loop_port):
    watcher = LineWatcher(loop_port, [WatchedLine("cts", debounce_ms=50)])
    loop_port.rts = True
    assert watcher.wait(0) == []  # seen once, not yet held
    loop_port.rts = False
    assert watcher.wait(0.1) == []  # the blip is gone: nothing to report, ever
    assert watcher.active("cts") is False

    loop_port.rts = True
    changes = watcher.wait(2.0)
    reported = time.monotonic()
    assert [(c.line, c.active) for c in changes] == [("cts", True)]
    assert reported - changes[0].t >= 0.05  # it had to hold for the debounce time


def test_active_low_inverts_the_line(loop_port):
    watcher = LineWatcher(loop_port, [WatchedLine("cts", active_low=True)])
    assert watcher.active("cts") is True  # CTS not asserted = active
    loop_port.rts = True
    assert [(c.line, c.active) for c in watcher.wait(1.0)] == [("cts", False)]


def test_wait_returns_promptly_when_woken(loop_port):
    watcher = LineWatcher(loop_port, [WatchedLine("cts")])
    result: list = []
    waiting = threading.Thread(target=lambda: result.append(watcher.wait(30.0)))
    waiting.start()
    wait_until(lambda: watcher.samples > 2)  # it is inside wait()
    started = time.monotonic()
    watcher.wake()
    waiting.join(1.0)
    assert not waiting.is_alive()
    assert time.monotonic() - started < 1.0
    assert result == [[]]


def test_a_closed_port_makes_wait_raise(loop_port):
    watcher = LineWatcher(loop_port, [WatchedLine("cts")])
    loop_port.close()
    with pytest.raises(Exception, match="not open"):
        watcher.wait(1.0)


def test_bad_line_specs_get_clear_errors(loop_port):
    with pytest.raises(ValueError, match="unknown modem line 'RTS'"):
        WatchedLine("RTS")
    with pytest.raises(ValueError, match="negative"):
        WatchedLine("cts", debounce_ms=-1)
    with pytest.raises(ValueError, match="once"):
        LineWatcher(loop_port, [WatchedLine("cts"), WatchedLine("CTS")])
    with pytest.raises(ValueError, match="DSR is not watched"):
        LineWatcher(loop_port, [WatchedLine("cts")]).active("dsr")


def test_a_pty_is_polled_not_waited_on_and_has_no_modem_lines(pty_port):
    port, path = pty_port
    assert choose_mode(port) == "poll"  # decided without blocking in TIOCMIWAIT
    with pytest.raises(NoModemLines, match=f"{path} has no modem lines"):
        LineWatcher(port, [WatchedLine("ri")])


def test_url_handlers_are_polled(loop_port):
    assert choose_mode(loop_port) == "poll"


# -- the ring-line driver -------------------------------------------------------------------------


def make_ring(sink, ports, **kwargs) -> RingLineWatcher:
    """A ring watcher on CTS whose opener hands out ``ports`` in turn (an exception is raised)."""
    queue = list(ports)

    def opener():
        item = queue.pop(0) if queue else open_port("loop://", rts=False)
        if isinstance(item, Exception):
            raise item
        return item

    kwargs.setdefault("backoff_s", (0.01, 0.05))
    kwargs.setdefault("debounce_ms", 0)
    return RingLineWatcher("ring", sink, opener, line="CTS", trunk="911-1", describe="test loop", **kwargs)


def test_one_ring_lasts_through_the_silent_gaps_of_its_cadence(loop_port):
    sink = Recorder()
    driver = make_ring(sink, [loop_port], ring_off_s=0.5)
    driver.start()
    try:
        up = sink.wait_for(link(LinkState.UP))
        assert "ring on 911-1 (CTS, polling every 2 ms)" in up.detail
        loop_port.rts = True
        start = sink.wait_for(ring(True))
        assert (start.device, start.line) == ("ring", "911-1") and start.call_ref.startswith("911-1-")
        for pulse in (2, 3):  # the cadence: off (a silent gap), on again
            loop_port.rts = False
            wait_until(lambda: not driver.line_active)
            loop_port.rts = True
            wait_until(lambda n=pulse: driver.pulses == n)
        loop_port.rts = False
        wait_until(lambda: not driver.line_active)
        quiet_from = driver._quiet_since
        end = sink.wait_for(ring(False))
        assert end.call_ref == start.call_ref
        assert end.t - quiet_from >= 0.5
        assert [e.ringing for e in sink.of(RingChanged)] == [True, False]

        loop_port.rts = True  # the next call
        second = sink.wait_for(ring(True), after=sink.events.index(end))
        assert second.call_ref != start.call_ref
    finally:
        assert driver.stop()


def test_a_line_already_active_at_open_is_a_ring(loop_port):
    loop_port.rts = True
    sink = Recorder()
    driver = make_ring(sink, [loop_port], ring_off_s=0.2)
    driver.start()
    try:
        sink.wait_for(ring(True))
    finally:
        driver.stop()


def test_polarity_inverted_ring_line():
    port = open_port("loop://", rts=True)
    sink = Recorder()
    driver = make_ring(sink, [port], ring_off_s=0.2, active_low=True)
    driver.start()
    try:
        sink.wait_for(link(LinkState.UP))
        assert sink.of(RingChanged) == []
        port.rts = False  # active low: asserted is idle, dropped is ringing
        sink.wait_for(ring(True))
    finally:
        driver.stop()


def test_a_failed_port_goes_down_ends_the_ring_and_is_reopened(loop_port):
    sink = Recorder()
    spare = open_port("loop://", rts=False)
    driver = make_ring(sink, [loop_port, spare], ring_off_s=30.0)
    driver.start()
    try:
        sink.wait_for(link(LinkState.UP))
        loop_port.rts = True
        start = sink.wait_for(ring(True))
        loop_port.close()  # the port dies under the watcher
        down = sink.wait_for(link(LinkState.DOWN))
        assert "test loop: modem lines unreadable" in down.detail and "not open" in down.detail
        end = sink.wait_for(ring(False))
        assert end.call_ref == start.call_ref  # nothing can follow the ring any more
        up = sink.wait_for(link(LinkState.UP), after=sink.events.index(down))
        assert sink.events.index(end) < sink.events.index(up)  # ended with the link, not after it
        spare.rts = True
        sink.wait_for(ring(True), after=sink.events.index(end))
    finally:
        assert driver.stop()


def test_a_port_that_cannot_be_opened_is_retried(loop_port):
    sink = Recorder()
    driver = make_ring(sink, [OSError(2, "No such file or directory: '/dev/ttyUSB9'"), loop_port])
    driver.start()
    try:
        down = sink.wait_for(link(LinkState.DOWN))
        assert down.detail.startswith("cannot open test loop:") and "/dev/ttyUSB9" in down.detail
        sink.wait_for(link(LinkState.UP))
    finally:
        driver.stop()


@pytest.mark.parametrize("while_", ["watching", "backing off"])
def test_stop_is_prompt(loop_port, while_):
    sink = Recorder()
    if while_ == "watching":
        driver = make_ring(sink, [loop_port])
        expected = link(LinkState.UP)
    else:
        driver = make_ring(sink, [OSError("gone")], backoff_s=(60.0, 60.0))
        expected = link(LinkState.DOWN)
    driver.start()
    sink.wait_for(expected)
    started = time.monotonic()
    assert driver.stop(timeout=2.0)
    assert time.monotonic() - started < 1.0
    assert not driver.thread.is_alive()


def test_a_pty_ring_line_is_a_fault_not_a_retry(pty_path):
    path = pty_path
    sink = Recorder()
    driver = RingLineWatcher("ring", sink, lambda: open_port(path, rts=None, dtr=None), describe=path,
                             backoff_s=(0.01, 0.01))
    driver.start()
    fault = sink.wait_for(link(LinkState.FAULT))
    assert path in fault.detail and "no modem lines" in fault.detail
    driver.thread.join(2.0)
    assert not driver.thread.is_alive()
    assert sink.of(LinkChanged) == [fault]


def test_a_url_pyserial_rejects_is_a_fault():
    sink = Recorder()
    driver = RingLineWatcher("ring", sink, lambda: open_port("lopo://", rts=None, dtr=None), describe="lopo://")
    driver.start()
    fault = sink.wait_for(link(LinkState.FAULT))
    assert "cannot open lopo://" in fault.detail and "lopo" in fault.detail
    driver.thread.join(2.0)
    assert not driver.thread.is_alive()


# -- building it from the profile -----------------------------------------------------------------


def test_build_ring_line_only_for_ring_source_ri():
    sink = Recorder()
    assert build_ring_line(None, sink) is None
    assert build_ring_line(Calls(ring_source="phone"), sink) is None
    built = build_ring_line(Calls(ring_source="ri", ring_url="loop://", ring_line="DSR"), sink)
    assert built is not None and built.problem == ""
    assert (built.id, built.kind, built.driver_kind) == ("ring", "phone", "ri")
    built.driver.start()
    try:
        up = sink.wait_for(link(LinkState.UP))
        assert "loop://" in up.detail and "ring on DSR" in up.detail
    finally:
        assert built.driver.stop()
