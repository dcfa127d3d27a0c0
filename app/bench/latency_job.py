"""The Technician's round-trip latency test as a job: app/audio/latency.py on a worker thread, with
progress, a prompt cancel, and (on JACK) the loop wired by the job itself (no Qt).

The console's own stream keeps running: the test opens a second stream of its own on the same
device, as ``diag audio-latency`` does. JACK and most PortAudio host APIs allow that; a device only
one client may open says so, and the message tells the technician the console holds it.

On JACK there is no cable to plug: ``jack_loop`` connects the test stream's output port to its own
input port once PortAudio has registered them and auto-connected them to ``system`` (those connections
are removed first, so the loop hears only the probe). The ports live only as long as the stream, so
cancelling or finishing leaves nothing connected.

Cancel: the stream's ``active`` reads False from the moment ``cancel`` is called, so
``measure_round_trip`` stops within one of its 10 ms waits and closes the stream in its ``finally``.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.audio.latency import (
    SETTLE_SECONDS,
    LatencyError,
    LatencyResult,
    measure_round_trip,
)

JACK_SETTLE_S = 1.0  # silence before the first probe while the job rewires the new ports
WIRE_TIMEOUT_S = 5.0
Progress = Callable[[int, int], None]


class LatencyCancelled(Exception):
    """The technician cancelled the test; the stream is closed."""


@dataclass(frozen=True)
class LatencyRequest:
    backend: str
    device: str
    samplerate: int
    blocksize: int
    latency: str | float
    output: int  # 0-based device channels
    input: int
    repeats: int = 5
    jack_loop: bool = False  # wire output -> input on the JACK server (no cable)
    settle_s: float = SETTLE_SECONDS

    def problem(self) -> str | None:
        """Why this request cannot run, or None."""
        if self.backend == "null":
            return "the null sound device has no real inputs to loop back to; the test needs a real device or JACK"
        if self.output < 0 or self.input < 0:
            return "choose an output and an input channel"
        if self.repeats < 1:
            return f"repeats must be at least 1, got {self.repeats}"
        return None


def request_from_profile(audio: Any, *, output: int | None = None, input: int | None = None,
                         repeats: int = 5, jack_loop: bool = False) -> LatencyRequest:
    """The profile's [audio] device and rate; channels default to headset_left -> headset_mic (0-based here)."""
    channels = dict(audio.channels)
    out = output if output is not None else channels.get("headset_left", 1) - 1
    inp = input if input is not None else channels.get("headset_mic", 1) - 1
    return LatencyRequest(audio.backend, audio.device, audio.samplerate, audio.blocksize, audio.latency,
                          out, inp, repeats, jack_loop, JACK_SETTLE_S if jack_loop else SETTLE_SECONDS)


class _CancellableStream:
    def __init__(self, stream: Any, cancelled: threading.Event) -> None:
        self._stream, self._cancelled = stream, cancelled

    def start(self) -> None:
        self._stream.start()

    def close(self) -> None:
        self._stream.close()

    @property
    def active(self) -> bool:
        return not self._cancelled.is_set() and self._stream.active

    @property
    def latency(self) -> tuple[float, float]:
        return self._stream.latency

    @property
    def device_name(self) -> str:
        return self._stream.device_name


class _CancellableBackend:
    """The backend with streams that stop counting as active once the job is cancelled."""

    def __init__(self, backend: Any, cancelled: threading.Event, opened: Callable[[], None]) -> None:
        self._backend, self._cancelled, self._opened = backend, cancelled, opened
        self.name = backend.name

    def devices(self) -> list:
        return self._backend.devices()

    def rescan(self) -> None:
        self._backend.rescan()

    def open(self, spec: Any, callback: Any) -> _CancellableStream:
        if self._cancelled.is_set():
            raise LatencyCancelled("cancelled before the stream opened")
        stream = self._backend.open(spec, callback)
        self._opened()
        return _CancellableStream(stream, self._cancelled)


class LatencyJob:
    """One latency test. ``run`` blocks (call it on a worker thread); ``cancel`` from any thread."""

    def __init__(self, request: LatencyRequest, progress: Progress | None = None,
                 backend: Any = None) -> None:
        self.request = request
        self._progress = progress
        self._backend = backend  # hardware.audio backend; opened from request.backend when None
        self._cancelled = threading.Event()
        self.loop: tuple[str, str] | None = None  # the JACK ports it connected
        self.wire_error = ""

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        self._cancelled.set()

    def run(self) -> LatencyResult:
        """The measurement; raises LatencyCancelled, LatencyError (probe not found, with why),
        AudioDeviceError (the stream cannot open) or ValueError (impossible channels)."""
        from hardware.audio.base import AudioDeviceError, StreamSpec, open_backend

        req = self.request
        problem = req.problem()
        if problem:
            raise ValueError(problem)
        backend = self._backend if self._backend is not None else open_backend(req.backend)
        spec = StreamSpec(device=req.device, samplerate=req.samplerate, blocksize=req.blocksize,
                          latency=req.latency, inputs=req.input + 1, outputs=req.output + 1)
        wirer = _JackLoopWirer(req.output, req.input, self._cancelled) if req.jack_loop else None
        wrapped = _CancellableBackend(backend, self._cancelled, wirer.start if wirer else lambda: None)

        def progress(done: int, total: int) -> None:
            if self._progress is not None:
                self._progress(done, total)

        try:
            progress(0, req.repeats)
            return measure_round_trip(wrapped, spec, req.output, req.input, repeats=req.repeats,
                                      progress=progress, settle_s=req.settle_s)
        except LatencyError as err:
            if self.cancelled:
                raise LatencyCancelled("cancelled; the test stream is closed") from None
            if wirer is not None and wirer.error:
                raise LatencyError(f"{err} (JACK loop: {wirer.error})") from None
            raise
        except AudioDeviceError as err:
            raise AudioDeviceError(f"{err}; if the device takes one client only, the console's own stream "
                                   "holds it: loop through JACK or test from `dispatch-console diag "
                                   "audio-latency` with the console closed") from None
        finally:
            if wirer is not None:
                wirer.join(WIRE_TIMEOUT_S + 1.0)
                self.loop, self.wire_error = wirer.loop, wirer.error

    def start(self, done: Callable[[LatencyResult | None, str], None]) -> threading.Thread:
        """Run on a daemon thread; ``done(result, "")`` or ``done(None, why)`` on that thread at the end."""

        def work() -> None:
            try:
                result = self.run()
            except LatencyCancelled as err:
                done(None, str(err))
            except Exception as err:  # noqa: BLE001 - every failure is reported to the technician, never raised
                done(None, str(err) or type(err).__name__)
            else:
                done(result, "")

        thread = threading.Thread(target=work, name="latency-test", daemon=True)
        thread.start()
        return thread


class _JackLoopWirer(threading.Thread):
    """Connects the test stream's output ``output`` to its input ``input`` on the JACK server."""

    def __init__(self, output: int, input: int, cancelled: threading.Event) -> None:
        super().__init__(name="latency-jack-loop", daemon=True)
        from hardware.audio.jack_server import list_ports

        self.server = os.environ.get("JACK_DEFAULT_SERVER", "default")
        self.output, self.input, self._cancelled = output, input, cancelled
        self.before = set(list_ports(self.server))  # ports that exist before the stream opens are not ours
        self.loop: tuple[str, str] | None = None
        self.error = ""

    def run(self) -> None:
        try:
            self._wire()
        except Exception as err:  # noqa: BLE001 - reported with the measurement's own error
            self.error = str(err)

    def _wire(self) -> None:
        from hardware.audio.jack_server import list_ports, run_tool

        deadline = time.monotonic() + WIRE_TIMEOUT_S
        while True:
            if self._cancelled.is_set():
                return
            new = [p for p in list_ports(self.server) if p not in self.before]
            outs = sorted((p for p in new if re.search(r":out_\d+$", p)), key=_number)
            ins = sorted((p for p in new if re.search(r":in_\d+$", p)), key=_number)
            links = _connections(self.server, new)
            # PortAudio connects every port of a started stream to a system port: wait for that, then undo it.
            if outs and ins and len(links) >= len(outs) + len(ins):
                break
            if time.monotonic() > deadline:
                raise LatencyError(f"the test stream's JACK ports never appeared connected (new ports {new})")
            time.sleep(0.02)  # polling jack_lsp: the deadline bounds it
        for source, destination in links:
            run_tool(self.server, "jack_disconnect", source, destination)
        if self.output >= len(outs) or self.input >= len(ins):
            raise LatencyError(f"the test stream has {len(outs)} output and {len(ins)} input ports")
        self.loop = (outs[self.output], ins[self.input])
        run_tool(self.server, "jack_connect", *self.loop)


def _number(port: str) -> int:
    found = re.search(r"(\d+)$", port)
    return int(found.group(1)) if found else 0


def _connections(server: str, ports: list[str]) -> set[tuple[str, str]]:
    """Connections touching ``ports`` as (source, destination), from ``jack_lsp -c``."""
    from hardware.audio.jack_server import run_tool

    ours = set(ports)
    pairs: set[tuple[str, str]] = set()
    port = ""
    for line in run_tool(server, "jack_lsp", "-c").stdout.splitlines():
        if not line.strip():
            continue
        if not line.startswith((" ", "\t")):
            port = line.strip()
        elif port in ours:
            peer = line.strip()
            # Our ports are named out_N (sources) or in_N (destinations).
            pairs.add((port, peer) if re.search(r":out_\d+$", port) else (peer, port))
    return pairs
