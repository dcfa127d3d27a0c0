"""A clock-driven audio device with no sound hardware: the demo profile and tests run the engine on it.

A thread calls the callback every blocksize/samplerate seconds on absolute deadlines (so the block
rate does not drift with the callback's own run time). Inputs are silence unless ``input_source``
fills them (simulated radios); outputs are discarded. When the thread wakes more than one period
late it flags that block OUTPUT_UNDERFLOW and starts counting periods afresh, as a real device that
dropped a buffer would.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from hardware.audio.base import OUTPUT_UNDERFLOW, AudioCallback, DeviceInfo, StreamSpec, resolve_device

log = logging.getLogger(__name__)

NAME = "null"
CHANNELS = 64
InputSource = Callable[[np.ndarray], None]


class BlockDeadlines:
    """When the next block is due: absolute deadlines one period apart, re-anchored after a late wake.

    Kept apart from the thread so the schedule is checked against a made-up clock, not the machine's.
    """

    def __init__(self, period: float, start: float) -> None:
        self.period = period
        self.deadline = start + period

    def wait(self, now: float) -> float:
        """Seconds to sleep before the next block is due (0 when it is already due)."""
        return max(0.0, self.deadline - now)

    def due(self, now: float) -> int:
        """Take the block due at ``now``; OUTPUT_UNDERFLOW when the wake came more than a period late."""
        status = 0
        if now - self.deadline > self.period:
            status = OUTPUT_UNDERFLOW
            self.deadline = now  # a dropped buffer: count periods from here
        self.deadline += self.period
        return status


class NullStream:
    def __init__(self, spec: StreamSpec, device: DeviceInfo, callback: AudioCallback,
                 input_source: InputSource | None) -> None:
        self._spec = spec
        self._device = device
        self._callback = callback
        self._input_source = input_source
        self._in = np.zeros((spec.blocksize, spec.inputs), dtype=np.float32)
        self._out = np.zeros((spec.blocksize, spec.outputs), dtype=np.float32)
        self._closing = threading.Event()
        self._running = False
        self._thread = threading.Thread(target=self._run, name="audio-null", daemon=True)

    # -- AudioStream ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread.ident is None and not self._closing.is_set():
            self._running = True
            self._thread.start()

    def close(self) -> None:
        self._closing.set()
        if self._thread.ident is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
            if self._thread.is_alive():
                log.warning("null audio device: callback still running after 2 s; left behind")
        self._running = False

    @property
    def active(self) -> bool:
        return self._running and not self._closing.is_set()

    @property
    def latency(self) -> tuple[float, float]:
        return 0.0, self._spec.period_s

    @property
    def device_name(self) -> str:
        return self._device.name

    # -- the device's clock thread ------------------------------------------------------------------
    def _run(self) -> None:
        clock = BlockDeadlines(self._spec.period_s, time.monotonic())
        try:
            while not self._closing.wait(clock.wait(time.monotonic())):
                status = clock.due(time.monotonic())
                self._fill_inputs()
                self._callback(self._in, self._out, status)
        except Exception:  # noqa: BLE001 - a real device stops calling back too; say why here
            log.exception("null audio device: the callback raised; the stream stops")
        finally:
            self._running = False

    def _fill_inputs(self) -> None:
        self._in.fill(0.0)
        if self._input_source is not None:
            self._input_source(self._in)


class NullBackend:
    name = NAME

    def __init__(self, input_source: InputSource | None = None) -> None:
        self._input_source = input_source

    def devices(self) -> list[DeviceInfo]:
        return [DeviceInfo(index=0, name="null", hostapi="null", max_inputs=CHANNELS, max_outputs=CHANNELS,
                           default_samplerate=48000.0)]

    def open(self, spec: StreamSpec, callback: AudioCallback) -> NullStream:
        device = resolve_device(NAME, self.devices(), spec, default=0)
        return NullStream(spec, device, callback, self._input_source)

    def rescan(self) -> None:
        """Nothing comes or goes."""
