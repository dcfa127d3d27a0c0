"""AudioSupervisor with both PortAudio backends against a real JACK server, and with the null device.

A wedged server (SIGSTOP) is the recoverable failure: the stream is reported DOWN, closed, and
reopened once the server runs again. A killed server is not recoverable inside the process with
Debian's PortAudio 19.6 (its Pa_Terminate aborts once the JACK server has gone, PortAudio #819), so
that test runs the supervisor in a child process and checks it reports DOWN, then FAULT, and that
the process neither hangs nor crashes.
"""

from __future__ import annotations

import json
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from hardware.audio.base import StreamSpec, open_backend
from hardware.audio.supervisor import AudioSupervisor
from hardware.events import LinkChanged, LinkState
from tests.jack import portaudio_backend  # noqa: F401 - fixture

RATE = 48000
SPEC = StreamSpec(device="system", samplerate=RATE, blocksize=128, latency="low", inputs=2, outputs=2)
UP_DETAIL = re.compile(r"^system in (\d+\.\d) ms / out (\d+\.\d) ms$")
ROOT = Path(__file__).resolve().parents[2]


class Events:
    """The supervisor's sink: a queue, read with deadlines."""

    def __init__(self) -> None:
        self.queue: queue.Queue[LinkChanged] = queue.Queue()
        self.seen: list[LinkChanged] = []

    def __call__(self, event) -> None:
        self.queue.put(event)

    def next(self, state: LinkState, timeout: float) -> LinkChanged:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {state.name} within {timeout} s; events: {self.seen}")
            try:
                event = self.queue.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(event)
            if event.state is state:
                return event


def silence(inp: np.ndarray, out: np.ndarray, status: int) -> None:
    out.fill(0.0)


@pytest.fixture
def supervise():
    started = []

    def make(backend, callback=silence, spec=SPEC) -> tuple[AudioSupervisor, Events]:
        events = Events()
        supervisor = AudioSupervisor(backend, spec, callback, events)
        started.append(supervisor)
        supervisor.start()
        return supervisor, events

    yield make
    for supervisor in started:
        supervisor.stop()


def test_up_event_names_the_device_and_its_latency(portaudio_backend, supervise):
    supervisor, events = supervise(portaudio_backend)
    up = events.next(LinkState.UP, 3)
    assert up.device == "audio"
    match = UP_DETAIL.match(up.detail)
    assert match, up.detail
    assert float(match.group(2)) == pytest.approx(supervisor.latency[1] * 1000, abs=0.05)
    assert supervisor.latency[1] >= 128 / RATE
    assert supervisor.device_name == "system" and supervisor.blocks > 0
    assert supervisor.thread.name == "audio-supervisor"


def test_wedged_server_goes_down_and_the_stream_comes_back(portaudio_backend, jack_server, supervise):
    supervisor, events = supervise(portaudio_backend)
    events.next(LinkState.UP, 3)
    jack_server.pause()
    paused = time.monotonic()
    down = events.next(LinkState.DOWN, 2)
    assert time.monotonic() - paused < 1.5  # stall bound 0.5 s, polled every 50 ms
    assert "no audio callback" in down.detail
    jack_server.resume()
    events.next(LinkState.UP, 8)
    blocks = supervisor.blocks
    wait_until(lambda: supervisor.blocks > blocks + 50, 3)
    assert supervisor.restarts == 1


def test_callback_that_raises_is_recorded_and_the_stream_restarted(portaudio_backend, supervise):
    calls = {"n": 0}

    def fails_once(inp, out, status):
        calls["n"] += 1
        out.fill(0.25)
        if calls["n"] == 30:
            raise ValueError("mix plan has 3 columns, device has 2")

    supervisor, events = supervise(portaudio_backend, fails_once)
    events.next(LinkState.UP, 3)
    down = events.next(LinkState.DOWN, 2)
    assert "ValueError: mix plan has 3 columns, device has 2" in down.detail
    assert supervisor.last_error == "ValueError: mix plan has 3 columns, device has 2"
    assert supervisor.callback_errors == 1
    events.next(LinkState.UP, 3)
    wait_until(lambda: calls["n"] > 100, 3)
    assert supervisor.restarts == 1


def test_stop_is_bounded_even_when_the_server_is_wedged(portaudio_backend, jack_server, supervise):
    supervisor, events = supervise(portaudio_backend)
    events.next(LinkState.UP, 3)
    started = time.monotonic()
    supervisor.stop(timeout=1.0)
    assert time.monotonic() - started < 2.0  # bounded (a wedged PortAudio close would take minutes); slack for a loaded machine
    assert not supervisor.thread.is_alive()

    wedged, events = supervise(portaudio_backend)
    events.next(LinkState.UP, 3)
    jack_server.pause()  # closing the stream now waits for a JACK cycle that does not come
    started = time.monotonic()
    wedged.stop(timeout=1.0)
    assert time.monotonic() - started < 2.0  # bounded by the timeout plus the thread join, with slack for a loaded machine
    assert not wedged.thread.is_alive()
    jack_server.resume()  # the abandoned close finishes (portaudio_backend waits for it)


def test_null_device_under_supervision_restarts_after_a_stalled_engine(supervise):
    release = threading.Event()
    calls = {"n": 0}

    def hangs_once(inp, out, status):
        calls["n"] += 1
        if calls["n"] == 10:
            release.wait(2)  # the engine hangs: no more callbacks while it does

    spec = StreamSpec(device="", samplerate=RATE, blocksize=480, latency="low", inputs=4, outputs=2)
    supervisor, events = supervise(open_backend("null"), hangs_once, spec)
    up = events.next(LinkState.UP, 2)
    assert up.detail == "null in 0.0 ms / out 10.0 ms"
    down = events.next(LinkState.DOWN, 2)
    assert "no audio callback for" in down.detail
    release.set()
    events.next(LinkState.UP, 3)
    assert supervisor.restarts == 1


def test_a_device_that_cannot_open_is_retried_with_backoff(supervise):
    spec = StreamSpec(device="headset", samplerate=RATE, blocksize=480, latency="low", inputs=1, outputs=1)
    supervisor, events = supervise(open_backend("null"), silence, spec)
    times = []
    for _ in range(3):
        down = events.next(LinkState.DOWN, 3)
        times.append(down.t)
        assert down.detail.startswith("cannot open null device headset: null: no audio device matches 'headset'")
    assert times[1] - times[0] == pytest.approx(0.5, abs=0.15)
    assert times[2] - times[1] == pytest.approx(1.0, abs=0.15)
    assert "'headset'" in supervisor.last_error and supervisor.blocks == 0


@pytest.mark.parametrize("backend_name", ["sounddevice", "pyaudio"])
def test_killed_server_is_reported_down_then_fault_without_crashing(jack_server, backend_name):
    child = subprocess.Popen([sys.executable, "-m", "tests.integration.test_audio_supervisor", backend_name],
                             cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=dict(os.environ, JACK_DEFAULT_SERVER=jack_server.name))
    lines: queue.Queue[dict] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(json.loads(line)) for line in child.stdout], daemon=True).start()

    def next_event(state: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = lines.get(timeout=remaining)
            except queue.Empty:
                break
            if event.get("state") == state:
                return event
        child.kill()
        raise AssertionError(f"child never reported {state}: {child.stderr.read()[-2000:]}")

    try:
        next_event("up", 10)
        jack_server.kill()
        killed = time.monotonic()
        down = next_event("down", 3)
        assert time.monotonic() - killed < 2.0
        assert "system" in down["detail"]
        fault = next_event("fault", 5)
        assert "restart the console" in fault["detail"]
        jack_server.restart()  # the child must stay alive and quiet: nothing in it can use JACK now
        child.stdin.write("stop\n")
        child.stdin.flush()
        stopped = next_event("stopped", 5)
        assert stopped["seconds"] < 2.0
        assert child.wait(5) == 0, child.stderr.read()[-2000:]
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def wait_until(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        threading.Event().wait(0.02)


def _child(backend_name: str) -> None:
    """Run a supervisor until "stop" arrives on stdin; print its events as JSON lines."""

    def sink(event) -> None:
        print(json.dumps({"state": event.state.value, "detail": event.detail}), flush=True)

    backend = open_backend(backend_name)
    backend.rescan()
    supervisor = AudioSupervisor(backend, SPEC, silence, sink)
    supervisor.start()
    sys.stdin.readline()
    started = time.monotonic()
    supervisor.stop(timeout=2.0)
    print(json.dumps({"state": "stopped", "seconds": time.monotonic() - started}), flush=True)


if __name__ == "__main__":
    _child(sys.argv[1])
