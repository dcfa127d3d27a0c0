"""A simulated radio: scripted receive bursts (carrier + audio) and a transmitter that can be keyed.

Bursts arrive at random (a Poisson process at ``bursts_per_minute``), each with a random length and,
when ``unit_ids`` are given, the ID of the unit talking. With ``emergencies_per_hour`` a unit now and
then presses its emergency button (also a Poisson process; ``inject_emergency`` does it at once). The radio is half-duplex like a real one:
while keyed it hears nothing, and a burst that is due waits until it is unkeyed. Key requests are
served on the radio's own thread after a small random delay, as a real interface would answer.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

import numpy as np

from hardware.events import (
    CarrierChanged, EmergencyDeclared, EventSink, KeyStateChanged, LinkChanged, LinkState, now,
)
from hardware.sim.speech import SpeechLikeSource
from hardware.worker import DriverThread



class SimulatedRadio(DriverThread):
    def __init__(
        self,
        device_id: str,
        sink: EventSink,
        *,
        bursts_per_minute: float = 4.0,
        burst_seconds: tuple[float, float] = (1.5, 6.0),
        seed: int | None = None,
        jitter_ms: float = 3.0,
        unit_ids: tuple[str, ...] | list[str] = (),
        samplerate: int = 8000,
        emergencies_per_hour: float = 0.0,
        signal_encoder: Callable[[str, str], np.ndarray] | None = None,
    ) -> None:
        """``signal_encoder(what, unit)`` -> float32 audio at the stream rate ("ptt_id" or "emergency"):
        given, a burst with a unit starts with that unit's ID in its audio (MDC1200 PTT ID) instead of
        naming it in CarrierChanged, and an emergency is sent as signaling audio, for the decoders."""
        super().__init__(device_id, sink)
        self.bursts_per_minute = bursts_per_minute
        self.burst_seconds = burst_seconds
        self.jitter_s = jitter_ms / 1000.0
        self.unit_ids = tuple(unit_ids)
        self.emergencies_per_hour = emergencies_per_hour
        self._rng = random.Random(seed)
        self._keyed = threading.Event()  # read by any thread; written by key() and the radio thread
        # Every key request gets a number; an unkey bumps it so a key-up still queued is void.
        self._key_request = 0
        self._key_lock = threading.Lock()
        self._carrier = False
        self._speech = SpeechLikeSource(samplerate, seed=seed or 0)
        self.signal_encoder = signal_encoder
        # Signaling audio at the start of the current burst: set by the radio thread before carrier
        # rises, read (and its position advanced) by the audio callback only.
        self._signal: np.ndarray | None = None
        self._signal_pos = 0

    # -- what the console calls ----------------------------------------------------------------
    def key(self, on: bool) -> None:
        with self._key_lock:
            self._key_request += 1
            request = self._key_request
            if not on:
                # Fail-safe path: drop the transmitter now, from whatever thread asks, then confirm.
                was_keyed = self._keyed.is_set()
                self._keyed.clear()
        if not on:
            if was_keyed:
                self.post(self._confirm, False)
            return
        self.post(self._key_up, request)

    @property
    def keyed(self) -> bool:
        return self._keyed.is_set()

    @property
    def carrier(self) -> bool:
        return self._carrier

    def fill_rx(self, out: np.ndarray) -> None:
        """Receive audio for one block: speech-like while carrier is up, silence otherwise."""
        if self._carrier:
            self._speech.fill(out)
            signal = self._signal
            if signal is not None:
                pos = self._signal_pos
                take = min(len(out), len(signal) - pos)
                if take > 0:
                    out[:take] = signal[pos:pos + take]
                    self._signal_pos = pos + take
        else:
            out.fill(0.0)

    def inject_burst(self, seconds: float, unit_id: str | None = None) -> None:
        """Start a receive burst now (tests, technician demos)."""
        self.post(self._burst, seconds, unit_id)

    def inject_emergency(self, unit_id: str = "") -> None:
        """A unit presses its emergency button now (tests, demos)."""
        self.post(self._emergency, unit_id)

    # -- the radio's thread -------------------------------------------------------------------
    def run_loop(self) -> None:
        self.emit(LinkChanged(self.device_id, LinkState.UP, "simulated"))
        while not self.stopping:
            gap = self._next_gap()
            emergency_gap = self._next_emergency_gap()
            self.run_commands_until(time.monotonic() + min(gap, emergency_gap))
            if self.stopping:
                break
            if emergency_gap < gap:
                self._emergency(self._rng.choice(self.unit_ids) if self.unit_ids else "")
                continue
            if self.bursts_per_minute > 0:
                low, high = self.burst_seconds
                unit = self._rng.choice(self.unit_ids) if self.unit_ids else None
                self._burst(self._rng.uniform(low, high), unit)

    def on_exit(self) -> None:
        self._keyed.clear()
        self._carrier = False

    def _next_gap(self) -> float:
        if self.bursts_per_minute <= 0:
            return 3600.0
        return self._rng.expovariate(self.bursts_per_minute / 60.0)

    def _next_emergency_gap(self) -> float:
        if self.emergencies_per_hour <= 0:
            return float("inf")
        return self._rng.expovariate(self.emergencies_per_hour / 3600.0)

    def _emergency(self, unit_id: str) -> None:
        if self.signal_encoder is not None and unit_id:
            signal = self.signal_encoder("emergency", unit_id)
            self._burst(len(signal) / self._speech.samplerate + 0.5, None, signal)
            return
        self.emit(EmergencyDeclared(self.device_id, unit_id, now(), "sim"))

    def _burst(self, seconds: float, unit_id: str | None, signal: np.ndarray | None = None) -> None:
        # Half duplex: wait out our own transmission before the channel can be heard.
        while self._keyed.is_set() and not self.stopping:
            self.wait_command(0.05)
        if self.stopping:
            return
        self._jitter()
        if signal is None and unit_id and self.signal_encoder is not None:
            signal = self.signal_encoder("ptt_id", unit_id)
            unit_id = None  # the decoders name the unit, from the audio
        self._signal_pos = 0
        self._signal = signal
        self._carrier = True
        self.emit(CarrierChanged(self.device_id, True, now(), unit_id))
        self.run_commands_until(time.monotonic() + seconds)
        self._carrier = False
        self._signal = None
        self.emit(CarrierChanged(self.device_id, False, now(), unit_id))

    def _key_up(self, request: int) -> None:
        if self.stopping:
            return
        self._jitter()
        with self._key_lock:
            if request != self._key_request:
                return  # unkeyed (or re-keyed) since this was asked
            self._keyed.set()
        self._confirm(True)

    def _confirm(self, keyed: bool) -> None:
        self.emit(KeyStateChanged(self.device_id, keyed, now()))

    def _jitter(self) -> None:
        if self.jitter_s > 0:
            time.sleep(self._rng.uniform(0, self.jitter_s))
