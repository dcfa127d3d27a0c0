"""The soak's reference: xruns timed as jackd logs them, and underflows matched to them."""

from __future__ import annotations

import time

from app.bench.soak_reference import XrunTail, coincident
from hardware.audio.jack_server import is_xrun

MS = 1_000_000


def test_only_late_cycles_count_as_xruns():
    assert is_xrun("JackTimedDriver::Process XRun = 3791 usec")
    assert is_xrun("JackEngine::XRun: client = PortAudio was not finished, state = Triggered")
    assert not is_xrun("JACK server starting in realtime mode with priority 10")
    assert not is_xrun("")


def test_underflows_near_a_reference_xrun_are_counted_once_each():
    reference = [1000 * MS, 5000 * MS]
    underflows = [980 * MS, 1049 * MS, 1051 * MS, 3000 * MS, 4950 * MS, 4949 * MS]
    assert coincident(underflows, reference, window_ms=50) == 3  # 980, 1049 and 4950
    assert coincident(underflows, [], window_ms=50) == 0
    assert coincident([], reference) == 0


def test_the_tail_times_only_xrun_lines_written_after_it_started(tmp_path, qtbot):
    log = tmp_path / "ref.jackd.log"
    log.write_text("JackTimedDriver::Process XRun = 20 usec\n")  # before: not counted
    tail = XrunTail(log, "ref")
    try:
        before = time.perf_counter_ns()
        with log.open("a") as out:
            out.write("JACK server starting\nJackEngine::XRun: client = m was not finished, state = Running\n")
            out.write("JackTimedDriver::Process XRun = 4")  # half a line: waits for the rest
            out.flush()
            qtbot.waitUntil(lambda: len(tail.times_ns) == 1, timeout=2000)
            out.write("1 usec\n")
    finally:
        tail.stop()
    assert len(tail.times_ns) == 2 and all(t >= before for t in tail.times_ns)
    assert tail.lines[1] == "JackTimedDriver::Process XRun = 41 usec"
