"""The audio process: the sound device's stream and the engine's callback, away from the console's GIL.

Why a process: the callback is Python, so it needs the GIL, and in the console the GUI thread
(painting, layout) and the control thread hold the GIL for milliseconds at a time, longer than a
2.7 ms block. Here the only other Python threads are this receiver (asleep in ``recv``) and the
supervisor (waking every few ms to look at the heartbeat), so a block waits for nobody.

What runs here (``main``, started by app/audio/process.py with multiprocessing's spawn method):
- an ``Engine`` whose arrays (meters, counters, ended voices, TRC keying, instant recall, block
  timings) are the console's shared-memory block (app/audio/buffers.py);
- an ``AudioSupervisor`` that opens, watches and reopens the stream (hardware/audio/supervisor.py);
- this loop, receiving mixes (plan matrices and voices) from the console and adopting each one with
  one reference swap (``Engine.adopt``).
Reports go back as ``("event", LinkChanged, StreamInfo)``. The process ends when the console says
``stop`` or goes away (end of file on the command pipe): a console that died takes its audio along.

Nothing here imports Qt.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from app.audio.buffers import BufferLayout, EngineBuffers, SharedBuffers
from app.audio.engine import Engine
from hardware.audio import realtime
from hardware.audio.base import StreamSpec, open_backend, portaudio_jack_lost
from hardware.events import DeviceEvent


SWITCH_INTERVAL_S = 0.0002


@dataclass(frozen=True)
class HostConfig:
    """Everything the audio process needs to rebuild the engine's callback side (all picklable)."""

    backend: str
    spec: StreamSpec
    layout: BufferLayout
    shm_name: str = ""
    device_id: str = "audio"
    engine: dict[str, Any] = field(default_factory=dict)  # Engine keyword arguments after the four sizes
    realtime: bool = True  # lock memory and raise the GIL's other holders to just below the callback


@dataclass(frozen=True)
class StreamInfo:
    device_name: str = ""
    latency: tuple[float, float] = (0.0, 0.0)
    restarts: int = 0
    jack_lost: str = ""  # PortAudio lost its JACK server: only a fresh process brings sound back
    scheduling: str = ""  # the callback thread's scheduling and what was done about it (realtime.py)


class TimedCallback:
    """The engine's callback with each block's start, duration and status written to the shared
    clock arrays (benchmarks): two clock reads and three stores a block, nothing allocated."""

    def __init__(self, callback: Any, buffers: EngineBuffers) -> None:
        self._inner = callback
        self._starts, self._spans, self._flags = buffers.clock_starts, buffers.clock_spans, buffers.clock_flags
        self._state = buffers.clock_state  # [blocks timed, callback thread's native id]
        self._capacity = self._starts.shape[0]
        self._clock = time.perf_counter_ns

    def __call__(self, inp: np.ndarray, out: np.ndarray, status: int) -> None:
        start = self._clock()
        self._inner(inp, out, status)
        state = self._state
        i = int(state[0])
        if i < self._capacity:
            self._starts[i] = start
            self._spans[i] = self._clock() - start
            self._flags[i] = status
            state[0] = i + 1
        if not state[1]:
            state[1] = threading.get_native_id()


def main(config: HostConfig, commands: Connection, reports: Connection) -> None:
    """The audio process's entry point."""
    from hardware.audio.supervisor import AudioSupervisor

    # Ctrl-C in a terminal reaches the whole process group; the console decides when audio stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    shared = SharedBuffers.attach(config.layout, config.shm_name)
    n_in, n_out = config.layout.n_in, config.layout.n_out
    engine = Engine(n_in, n_out, config.spec.blocksize, config.spec.samplerate, buffers=shared.buffers,
                    **config.engine)
    callback = engine.process if not config.layout.clock_capacity else TimedCallback(engine.process, shared.buffers)
    report_lock = threading.Lock()
    supervisor: Any = None
    main_thread = threading.get_native_id()
    memory = realtime.lock_memory() if config.realtime else "memory not locked (realtime off in the profile)"
    scheduling = {"thread": 0, "text": ""}  # for the stream's current callback thread

    def report(event: DeviceEvent) -> None:
        info = StreamInfo(scheduling=memory)
        if supervisor is not None:
            callback_thread = supervisor.callback_thread_id
            if config.realtime and callback_thread and callback_thread != scheduling["thread"]:
                # On the supervisor's thread, when the stream is reported up: the callback has run.
                helpers = [main_thread, supervisor.thread.native_id or 0]
                scheduling.update(thread=callback_thread, text=realtime.share_priority(callback_thread, helpers))
            info = StreamInfo(supervisor.device_name, supervisor.latency, supervisor.restarts, portaudio_jack_lost(),
                              "; ".join(t for t in (scheduling["text"], memory) if t))
        with report_lock:
            try:
                reports.send(("event", event, info))
            except (OSError, ValueError):
                pass  # the console is gone; the command pipe's end of file stops us

    try:
        backend = open_backend(config.backend)
    except Exception as exc:  # noqa: BLE001 - no PortAudio, a broken library: say so and end
        from hardware.events import LinkChanged, LinkState

        report(LinkChanged(config.device_id, LinkState.DOWN, f"{config.backend}: {exc}"))
        _end(shared, 3)
        return
    supervisor = AudioSupervisor(backend, config.spec, callback, report, device_id=config.device_id)
    # The callback waits for the GIL whenever another thread here holds it, up to the switch interval
    # (5 ms by default, longer than a block): ask holders to let go sooner. And keep the collector
    # from walking everything made at start-up each time it runs.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    gc.collect()
    gc.freeze()
    supervisor.start()
    try:
        while True:
            try:
                message = commands.recv()
            except (EOFError, OSError):
                break  # the console has gone
            if message[0] == "mix":
                engine.adopt(message[1])
            elif message[0] == "stop":
                break
    finally:
        supervisor.stop(timeout=2.0)
        _end(shared, 0)


def _end(shared: SharedBuffers, code: int) -> None:
    shared.close()
    if portaudio_jack_lost():
        # Debian's PortAudio aborts in Pa_Terminate after its JACK server died (see hardware/audio/base.py):
        # leave without running exit handlers.
        os._exit(code)
