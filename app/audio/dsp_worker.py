"""The DSP worker: live signaling decoders on the receive inputs, off the audio callback (no Qt).

The audio callback already writes every receive input at 8 kHz into the instant-recall ring
(app/dsp/recall.py; shared memory when the callback runs in the audio process). This thread wakes
every ``period_s`` (20 ms), copies each decoded channel's new samples out of the ring and feeds that
channel's decoders (app/dsp/signaling.py). What they find goes to the event sink as ``SignalDecoded``
records, stamped with the monotonic time the signal started.

A decoder that raises is logged with its channel and kind and replaced by a fresh one; after
``MAX_FAILURES`` failures in a row it is switched off (logged), and the other decoders keep running.
If the worker falls behind by more than the ring holds, it skips to what the ring still has (logged).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from app.dsp.recall import FULL_SCALE, OUT_RATE
from app.dsp.signal_event import SignalEvent
from app.dsp.signaling import Decoder, make_decoder
from hardware.events import SignalDecoded

log = logging.getLogger(__name__)

PERIOD_S = 0.02
MAX_FAILURES = 3  # in a row; then the decoder is switched off
PHONE_DEVICE = "phone"


class Ring(Protocol):
    """What the worker reads of app.dsp.recall.RecallRecorder."""

    capacity: int

    @property
    def written(self) -> int: ...

    def samples(self, channel: int, start: int, end: int) -> np.ndarray: ...


@dataclass(frozen=True)
class DecodeInput:
    """One ring channel to decode: ``device`` (a radio id, or "phone") and the decoder kinds it runs."""

    device: str
    channel: int
    kinds: tuple[str, ...]


DecoderFactory = Callable[..., Decoder]


class _Running:
    """One decoder on one channel, with the sample index its stream started at."""

    def __init__(self, source: DecodeInput, kind: str, factory: DecoderFactory, start: int,
                 options: dict[str, Any]) -> None:
        self.source, self.kind, self.start = source, kind, start
        self.decoder = factory(kind, OUT_RATE, **options)
        self.failures = 0
        self.off = False


class DspWorker:
    def __init__(self, ring: Ring, inputs: Sequence[DecodeInput], sink: Callable[[SignalDecoded], None], *,
                 period_s: float = PERIOD_S, factory: DecoderFactory = make_decoder) -> None:
        self.ring = ring
        self.inputs = tuple(inputs)
        self._sink = sink
        self.period_s = period_s
        self._factory = factory
        self._pos: dict[int, int] = {}  # ring channel -> next sample index to read
        self._running: list[_Running] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.polls = 0
        self.samples_fed = 0  # per channel, summed (for tests and the technician)
        self._lock = threading.Lock()  # poll() from a test and the thread never overlap
        self._live_t = 0.0  # monotonic time matching the ring's current end, for live TTY callbacks
        self._live_written = 0

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._setup()
        self._thread = threading.Thread(target=self._run, name="dsp-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> bool:
        self._stop.set()
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _setup(self) -> None:
        """Decoders start at the ring's current end: what came before they started is not theirs."""
        now = self.ring.written
        self._running = []
        for source in self.inputs:
            self._pos[source.channel] = now
            for kind in source.kinds:
                try:
                    self._running.append(_Running(source, kind, self._factory, now, self._options(source, kind)))
                except Exception as err:  # noqa: BLE001 - a decoder that cannot be made must not stop the rest
                    log.error("signaling: %s decoder on %s could not start: %s", kind, source.device, err)

    def _run(self) -> None:
        next_t = time.monotonic()
        while not self._stop.is_set():
            try:
                self.poll()
            except Exception:  # noqa: BLE001 - the worker never dies; poll() already names decoders
                log.exception("signaling: DSP worker pass failed")
            next_t += self.period_s
            delay = next_t - time.monotonic()
            if delay < 0:
                next_t = time.monotonic()  # fell behind: no burst of catch-up passes
                delay = 0
            self._stop.wait(delay)

    # -- one pass -------------------------------------------------------------------------------
    def poll(self) -> int:
        """Read what is new on every channel and feed it to the decoders; the number of events sent."""
        with self._lock:
            if not self._running and not self._pos:
                self._setup()
            written = self.ring.written
            now = time.monotonic()
            self._live_t, self._live_written = now, written
            blocks: dict[int, np.ndarray] = {}
            for channel, pos in self._pos.items():
                if written - pos > self.ring.capacity:
                    lost = written - self.ring.capacity - pos
                    log.warning("signaling: DSP worker fell %.2f s behind on ring channel %d; skipped it",
                                lost / OUT_RATE, channel)
                    pos = written - self.ring.capacity
                if written > pos:
                    blocks[channel] = self.ring.samples(channel, pos, written).astype(np.float32) / FULL_SCALE
                    self.samples_fed += written - pos
                self._pos[channel] = written
            sent = 0
            for running in self._running:
                block = blocks.get(running.source.channel)
                if running.off or block is None:
                    continue
                sent += self._feed(running, block, written, now)
            self.polls += 1
            return sent

    def _feed(self, running: _Running, block: np.ndarray, written: int, now: float) -> int:
        try:
            events = running.decoder.feed(block)
            running.failures = 0
        except Exception as err:  # noqa: BLE001 - one decoder's bug must not stop the channel or the worker
            running.failures += 1
            source = running.source
            log.error("signaling: %s decoder on %s (ring channel %d) failed: %s: %s", running.kind, source.device,
                      source.channel, type(err).__name__, err)
            if running.failures >= MAX_FAILURES:
                running.off = True
                log.error("signaling: %s decoder on %s switched off after %d failures in a row", running.kind,
                          source.device, running.failures)
                return 0
            try:  # a fresh decoder from here on
                fresh = _Running(source, running.kind, self._factory, written, self._options(source, running.kind))
                running.decoder, running.start = fresh.decoder, written
            except Exception:  # noqa: BLE001
                running.off = True
            return 0
        for event in events:
            self._send(running, event, written, now)
        return len(events)

    def _send(self, running: _Running, event: SignalEvent, written: int, now: float) -> None:
        at = running.start + event.t * OUT_RATE  # ring index where the signal began
        t = now - max(0.0, written - at) / OUT_RATE
        self._sink(SignalDecoded(running.source.device, event.kind, event.value, dict(event.extra), t))

    # -- TTY: characters and carrier as they happen, for the call-taker's panel ----------------
    def _options(self, source: DecodeInput, kind: str) -> dict[str, Any]:
        if kind != "tty":
            return {}
        device = source.device

        def on_char(t: float, text: str) -> None:
            self._sink(SignalDecoded(device, "tty", text, {"live": "char"}, self._live_t))

        def on_carrier(t: float, on: bool) -> None:
            self._sink(SignalDecoded(device, "tty", "", {"live": "carrier", "carrier": on}, self._live_t))

        return {"on_char": on_char, "on_carrier": on_carrier}
