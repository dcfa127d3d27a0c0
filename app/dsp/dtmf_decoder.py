"""DTMF decoder to the Q.24 receiver limits in signaling-specs.md 3.2, and the encoder (pure NumPy, no Qt).

Receiver parameter set chosen (the Bell/AMBE values the reference quotes):
- frequency: accept within +-1.5 %, reject beyond +-3.5 % (limit set at 2.5 %);
- twist: normal (low group stronger) accept 8 dB, reverse accept 4 dB (limits 9 and 6 dB; both reject
  the 10 dB the reference names);
- duration: accept tones >= 40 ms, reject < 23 ms (limit 30 ms); interruptions <= 10 ms are bridged, a
  pause of >= 40 ms separates two presses of the same key.

How: 25 ms windows every 5 ms (``app.dsp.goertzel``) at the eight DTMF frequencies and eleven probe
frequencies between them. A window votes for a key when the strongest low and high tones each stand
12 dB above the probes' median (the in-band noise floor), 6 dB above the others of their group, are
loud enough, within the twist limits, and carry a share of the window's energy (talk-off: voice spreads
its energy, a key puts it in two bins). Consecutive windows voting for the same key form a run; the run
is one key press when its duration passes the limit and the frequency offset measured over the whole
run (phase progression from window to window) is within tolerance. Duration is measured from the tone
amplitude in each window relative to the run's peak, so noise that drops a window or two at the edges
does not change it, and a tone shorter than a window reads as one window (25 ms), below the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.dsp.goertzel import (
    BATCH_S,
    SignalDecodeError,
    SlidingWindows,
    SubBlockDft,
    as_mono,
    check_rate,
    keep_loudest,
)
from app.dsp.signal_event import SignalEvent
from app.dsp.tones import (
    DTMF_HIGH,
    DTMF_HIGH_OFFSET_DB,
    DTMF_KEYS,
    DTMF_LEVEL_DBFS,
    DTMF_LOW,
    DTMF_OFF_S,
    DTMF_ON_S,
    ToneError,
    ToneGenerator,
    dtmf,
)

HOP_S = 0.005
WINDOW_HOPS = 5  # 25 ms windows: 40 Hz bins, the DTMF tones 1.8 bins apart and more
# Noise-floor probes: between and around the DTMF tones, at least one bin (40 Hz) from any of them.
PROBES_HZ = (560.0, 640.0, 733.0, 811.0, 896.0, 1020.0, 1100.0, 1272.0, 1406.0, 1555.0, 1720.0)
KEYS = "".join(DTMF_KEYS)


@dataclass(frozen=True)
class DtmfLimits:
    freq_tolerance: float = 0.025  # relative; Q.24 accept 1.5 %, reject 3.5 %
    normal_twist_db: float = 9.0  # low group louder than high: accept 8, reject 10
    reverse_twist_db: float = 6.0  # high group louder than low: accept 4, reject 10
    min_on_s: float = 0.028  # accept 40 ms, reject 23 ms (a tone shorter than a window reads ~26 ms)
    bridge_s: float = 0.010  # interruptions this short are part of the tone
    min_level_dbfs: float = -50.0  # each tone's peak level
    above_floor_db: float = 10.0  # each tone over the probes' median
    relative_peak_db: float = 6.0  # each tone over the next strongest of its group
    min_energy_share: float = 0.15  # both tones' share of the window's energy (talk-off)


class DtmfDecoder:
    """Stateful DTMF decoder: ``feed`` blocks of any size, ``flush`` at the end of the stream."""

    kind = "dtmf"

    def __init__(self, samplerate: int, **options: float) -> None:
        self.samplerate = check_rate(samplerate, "DTMF decoder")
        try:
            self.limits = DtmfLimits(**options)
        except TypeError as err:
            raise SignalDecodeError(f"DTMF decoder: {err}") from None
        self.hop = round(samplerate * HOP_S)
        self.m = WINDOW_HOPS
        self.window_n = self.hop * self.m
        freqs = DTMF_LOW + DTMF_HIGH + PROBES_HZ
        self._dft = SubBlockDft(samplerate, freqs, self.hop, round(BATCH_S * samplerate))
        max_step = 2.0 * math.pi * self.limits.freq_tolerance * np.asarray(freqs) * self.hop / samplerate
        self._win = SlidingWindows(len(freqs), self.m, max_step)
        self._bridge = int(self.limits.bridge_s * samplerate // self.hop)
        self._norm = 2.0 / self.window_n  # |X| -> peak amplitude
        lim = self.limits
        self._floor_ratio = 10 ** (lim.above_floor_db / 10)
        self._peak_ratio = 10 ** (lim.relative_peak_db / 10)
        self._min_amp = 10 ** (lim.min_level_dbfs / 20)
        self._normal = 10 ** (lim.normal_twist_db / 10)
        self._reverse = 10 ** (lim.reverse_twist_db / 10)
        self._window_index = 0  # windows seen so far (window w ends at sub-block w)
        self._run: _Run | None = None
        self._gap = 0

    # ---- per-window votes (vectorised) ----------------------------------------------------------------
    def _votes(self, x: np.ndarray, energy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        power = self._win.power  # follows a tone up to the frequency tolerance off
        low, high = power[:, :4], power[:, 4:8]
        li = np.argmax(low, axis=1)
        hi = np.argmax(high, axis=1)
        rows = np.arange(x.shape[0])
        pl, ph = low[rows, li], high[rows, hi]
        # The others from the plain window sums: tracking would pull a neighbour bin towards the tone.
        raw = x.real[:, :8] ** 2 + x.imag[:, :8] ** 2
        raw[rows, li] = 0.0
        raw[rows, 4 + hi] = 0.0
        low_next = raw[:, :4].max(axis=1)
        high_next = raw[:, 4:].max(axis=1)
        floor = np.median(x.real[:, 8:] ** 2 + x.imag[:, 8:] ** 2, axis=1)  # plain sums: noise is not tracked
        amp_l = np.sqrt(pl) * self._norm
        amp_h = np.sqrt(ph) * self._norm
        share = (pl + ph) / np.maximum(energy * self.window_n / 2.0, 1e-30)
        ok = ((pl > self._floor_ratio * floor) & (ph > self._floor_ratio * floor)
              & (pl > self._peak_ratio * low_next) & (ph > self._peak_ratio * high_next)
              & (amp_l >= self._min_amp) & (amp_h >= self._min_amp)
              & (pl <= self._normal * ph) & (ph <= self._reverse * pl)
              & (share >= self.limits.min_energy_share))
        key = np.where(ok, li * 4 + hi, -1)
        return key, amp_l + amp_h

    def feed(self, block: np.ndarray) -> list[SignalEvent]:
        return self._feed(block, force=False)

    def _feed(self, block: np.ndarray, *, force: bool) -> list[SignalEvent]:
        x = as_mono(block, "DTMF decoder")
        s, e = self._dft.feed(x, force=force)
        if s.shape[0] == 0:
            return []
        xw, ew, zw = self._win.feed(s, e)
        key, amp = self._votes(xw, ew)
        first = self._window_index
        self._window_index += key.shape[0]
        events: list[SignalEvent] = []
        if self._run is None and bool((key < 0).all()):
            return events  # silence or voice: nothing to track
        keys = key.tolist()
        for i, k in enumerate(keys):
            run = self._run
            if run is not None and k == run.key:
                self._gap = 0
                run.amp_sum += run.gap_amp  # bridged windows still carried the tone, weaker
                run.gap_amp = 0.0
                self._extend(run, i, amp, zw)
            elif k >= 0:
                self._run = _Run(k, first + i)
                self._gap = 0
                self._extend(self._run, i, amp, zw)
            elif run is not None:
                self._gap += 1
                if self._gap > self._bridge:
                    self._run = None
                else:
                    row, col = divmod(run.key, 4)
                    power = self._win.power
                    run.gap_amp += (math.sqrt(power[i, row]) + math.sqrt(power[i, 4 + col])) * self._norm
                continue
            else:
                continue
            run = self._run
            if not run.emitted and self._accept(run):
                run.emitted = True
                events.append(self._event(run))
        return events

    def _extend(self, run: _Run, i: int, amp: np.ndarray, z: np.ndarray) -> None:
        a = float(amp[i])
        if run.count == 0:
            run.first_amp = a
        run.count += 1
        run.amp_sum += a
        run.amp_max = max(run.amp_max, a)
        keep_loudest(run.top, a)
        row, col = divmod(run.key, 4)
        run.z_low += z[i, row]
        run.z_high += z[i, 4 + col]

    def _accept(self, run: _Run) -> bool:
        hop_s = self.hop / self.samplerate
        if run.count < 2 or hop_s * run.amp_sum / run.full_amp() < self.limits.min_on_s:
            return False
        row, col = divmod(run.key, 4)
        scale = self.samplerate / (2.0 * math.pi * self.hop)
        off_low = math.atan2(run.z_low.imag, run.z_low.real) * scale / DTMF_LOW[row]
        off_high = math.atan2(run.z_high.imag, run.z_high.real) * scale / DTMF_HIGH[col]
        tol = self.limits.freq_tolerance
        return abs(off_low) <= tol and abs(off_high) <= tol

    def _event(self, run: _Run) -> SignalEvent:
        # The run's first window ends at sub-block ``start``; the tone covers its last first_amp/amp_max.
        window_start = (run.start + 1 - self.m) * self.hop
        covered = min(1.0, run.first_amp / run.full_amp())
        start = max(0.0, window_start + (1.0 - covered) * self.window_n)
        return SignalEvent(start / self.samplerate, self.kind, KEYS[run.key])

    def flush(self) -> list[SignalEvent]:
        """End of stream: push the last tone through the windows (silence after it) and report it."""
        pad = np.zeros((self.m + self._bridge + 2) * self.hop)
        events = self._feed(pad, force=True)
        self._run = None
        return events


class _Run:
    """Consecutive windows voting for one key."""

    __slots__ = (
        "amp_max",
        "amp_sum",
        "count",
        "emitted",
        "first_amp",
        "gap_amp",
        "key",
        "start",
        "top",
        "z_high",
        "z_low",
    )

    def __init__(self, key: int, start: int) -> None:
        self.key = key
        self.start = start
        self.count = 0
        self.amp_sum = 0.0
        self.amp_max = 0.0
        self.first_amp = 0.0
        self.z_low = 0j
        self.z_high = 0j
        self.emitted = False
        self.top: list[float] = []  # the three loudest windows, ascending
        self.gap_amp = 0.0  # the key's amplitude in bridged windows not yet counted

    def full_amp(self) -> float:
        """The tone's amplitude in a window it fills: the mean of the three loudest windows (the
        loudest alone reads high in noise, which would make the tone seem shorter)."""
        return sum(self.top) / len(self.top)


def encode_dtmf(digits: str, samplerate: int, *, on_s: float = DTMF_ON_S, off_s: float = DTMF_OFF_S,
                level_dbfs: float = DTMF_LEVEL_DBFS, high_offset_db: float = DTMF_HIGH_OFFSET_DB) -> np.ndarray:
    """``digits`` (0-9, *, #, A-D) as DTMF, each ``on_s`` of tone then ``off_s`` of silence; float32."""
    check_rate(samplerate, "DTMF encoder")
    if not (on_s > 0 and off_s >= 0):
        raise SignalDecodeError(f"DTMF encoder: on time {on_s!r} s must be > 0 and off time {off_s!r} s >= 0")
    try:
        segments = dtmf(digits, on_s=on_s, off_s=off_s, level_dbfs=level_dbfs, high_offset_db=high_offset_db)
        return ToneGenerator(segments, samplerate).render()
    except ToneError as err:
        raise SignalDecodeError(f"DTMF encoder: {err}") from None
