"""Five-tone selcall (ZVEI1, CCIR, EEA, EIA) decoder and encoder (pure NumPy, no Qt).

Tables and tone lengths are signaling-specs.md 3.3 (multimon-ng's tables, cross-checked with SvxLink;
SvxLink's tone lengths). Digits 0-9 and A-F index the table; E is the repeat tone: a digit equal to the
one before it is sent as E ("34433" goes out as "34E3E"), so the tones of a call always change and the
decoder can split them even though they follow one another with no gap.

Decoder: windows of about half a tone (``app.dsp.goertzel``) at the sixteen table frequencies. A window
votes for the table tone that stands 12 dB over the sixteen bins' median (the noise floor), 6 dB over
the next strongest, carries a share of the window's energy and is loud enough. Consecutive windows
voting for one tone are that tone when their duration (measured from the per-window amplitude against
the run's peak) reaches half the nominal tone length and the frequency offset measured over the run
is within tolerance. A call ends when no tone has been heard for a tone length plus a window; it is
reported with its first tone's start time if it has at least ``min_digits`` tones.
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
    ToneRun,
    as_mono,
    check_rate,
)
from app.dsp.signal_event import SignalEvent
from app.dsp.tones import TEST_LEVEL_DBFS, Segment, ToneGenerator

DIGITS = "0123456789ABCDEF"
REPEAT = "E"


@dataclass(frozen=True)
class SelcallMode:
    name: str
    freqs: tuple[float, ...]  # digit 0-9, A-F
    tone_s: float  # nominal tone length
    call_gap_s: float  # minimum silence between calls
    window_s: float  # decoder window: short enough for several per tone, long enough to split the tones


MODES: dict[str, SelcallMode] = {
    "zvei1": SelcallMode("zvei1", (2400, 1060, 1160, 1270, 1400, 1530, 1670, 1830, 2000, 2200,
                                   2800, 810, 970, 885, 2600, 680), 0.070, 0.250, 0.025),
    "ccir": SelcallMode("ccir", (1981, 1124, 1197, 1275, 1358, 1446, 1540, 1640, 1747, 1860,
                                 2400, 930, 2247, 991, 2110, 1055), 0.100, 0.250, 0.030),
    "eea": SelcallMode("eea", (1981, 1124, 1197, 1275, 1358, 1446, 1540, 1640, 1747, 1860,
                               1055, 930, 2400, 991, 2110, 2247), 0.040, 0.150, 0.020),
    "eia": SelcallMode("eia", (600, 741, 882, 1023, 1164, 1305, 1446, 1587, 1728, 1869,
                               2151, 2433, 2010, 2292, 459, 1091), 0.033, 0.150, 0.015),
}
WINDOW_HOPS = 5
SELCALL_LEVEL_DBFS = TEST_LEVEL_DBFS


def selcall_mode(kind: str) -> SelcallMode:
    mode = MODES.get(kind.lower())
    if mode is None:
        raise SignalDecodeError(f"selcall mode {kind!r} is not one of {', '.join(MODES)}")
    return mode


def with_repeats(digits: str) -> str:
    """'34433' -> '34E3E', '00000' -> '0E0E0': a digit equal to the one before is sent as the repeat tone."""
    out: list[str] = []
    for i, d in enumerate(digits):
        # "00000" goes out as "0E0E0": two E tones in a row would merge into one tone too.
        out.append(REPEAT if i and d == digits[i - 1] and out[-1] != REPEAT else d)
    return "".join(out)


@dataclass(frozen=True)
class SelcallLimits:
    freq_tolerance: float = 0.025  # relative
    min_tone_fraction: float = 0.5  # of the nominal tone length
    min_digits: int = 3
    min_level_dbfs: float = -50.0
    above_floor_db: float = 12.0
    relative_peak_db: float = 6.0
    min_energy_share: float = 0.15
    bridge_s: float = 0.010


class SelcallDecoder:
    """Stateful decoder for one selcall mode: ``feed`` blocks of any size, ``flush`` at the end."""

    def __init__(self, samplerate: int, kind: str = "zvei1", **options: float) -> None:
        self.mode = selcall_mode(kind)
        self.kind = self.mode.name
        self.samplerate = check_rate(samplerate, f"{self.kind} decoder")
        try:
            self.limits = SelcallLimits(**options)
        except TypeError as err:
            raise SignalDecodeError(f"{self.kind} decoder: {err}") from None
        self.m = WINDOW_HOPS
        self.hop = max(1, round(samplerate * self.mode.window_s / self.m))
        self.window_n = self.hop * self.m
        self._dft = SubBlockDft(samplerate, self.mode.freqs, self.hop, round(BATCH_S * samplerate))
        max_step = (2.0 * math.pi * self.limits.freq_tolerance * np.asarray(self.mode.freqs, dtype=np.float64)
                    * self.hop / samplerate)
        self._win = SlidingWindows(len(self.mode.freqs), self.m, max_step)
        hop_s = self.hop / samplerate
        self._bridge = int(self.limits.bridge_s / hop_s)
        self._end_gap = math.ceil((self.mode.tone_s + self.mode.window_s) / hop_s)
        lim = self.limits
        self._floor_ratio = 10 ** (lim.above_floor_db / 10)
        self._peak_ratio = 10 ** (lim.relative_peak_db / 10)
        self._min_amp = 10 ** (lim.min_level_dbfs / 20)
        self._norm = 2.0 / self.window_n
        self._window_index = 0
        self._run: ToneRun | None = None
        self._gap = 0  # windows without a tone since the last run's last window
        self._call: list[tuple[int, float]] = []  # accepted tones (digit index, start seconds)

    def _votes(self, x: np.ndarray, energy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        power = self._win.power  # follows a tone up to the frequency tolerance off
        best = np.argmax(power, axis=1)
        rows = np.arange(x.shape[0])
        pb = power[rows, best]
        # The others from the plain window sums: tracking would pull a neighbour bin towards the tone.
        raw = x.real ** 2 + x.imag ** 2
        floor = np.median(raw, axis=1)
        raw[rows, best] = 0.0
        p2 = raw.max(axis=1)
        amp = np.sqrt(pb) * self._norm
        share = pb / np.maximum(energy * self.window_n / 2.0, 1e-30)
        ok = ((pb > self._floor_ratio * floor) & (pb > self._peak_ratio * p2) & (amp >= self._min_amp)
              & (share >= self.limits.min_energy_share))
        return np.where(ok, best, -1), amp

    def feed(self, block: np.ndarray) -> list[SignalEvent]:
        return self._feed(block, force=False)

    def _feed(self, block: np.ndarray, *, force: bool) -> list[SignalEvent]:
        x = as_mono(block, f"{self.kind} decoder")
        s, e = self._dft.feed(x, force=force)
        if s.shape[0] == 0:
            return []
        xw, ew, zw = self._win.feed(s, e)
        votes, amp = self._votes(xw, ew)
        first = self._window_index
        self._window_index += votes.shape[0]
        events: list[SignalEvent] = []
        if self._run is None and not self._call and bool((votes < 0).all()):
            return events
        for i, v in enumerate(votes.tolist()):
            run = self._run
            if run is not None and v == run.tone:
                self._gap = 0
                run.add(float(amp[i]), zw[i, v], first + i)
                continue
            if v >= 0:
                self._end_run()
                self._run = ToneRun(v, first + i)
                self._run.add(float(amp[i]), zw[i, v], first + i)
                self._gap = 0
                continue
            self._gap += 1
            if run is not None and self._gap > self._bridge:
                self._end_run()
            if self._run is None and self._call and self._gap >= self._end_gap:
                events += self._end_call()
        return events

    def _end_run(self) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        hop_s = self.hop / self.samplerate
        if run.count < 2 or run.duration(hop_s) < self.limits.min_tone_fraction * self.mode.tone_s:
            return
        if abs(run.offset(hop_s, self.mode.freqs[run.tone])) > self.limits.freq_tolerance:
            return
        if self._call and self._call[-1][0] == run.tone:
            return  # one tone heard as two runs (tones of a call always change: repeats are sent as E)
        self._call.append((run.tone, run.start_sample(self.m, self.hop) / self.samplerate))

    def _end_call(self) -> list[SignalEvent]:
        call, self._call = self._call, []
        sent = "".join(DIGITS[t] for t, _ in call)
        digits = []
        for d in sent:
            if d == REPEAT:
                if not digits:
                    continue  # a repeat tone with nothing before it repeats nothing
                d = digits[-1]
            digits.append(d)
        if len(digits) < self.limits.min_digits:
            return []
        return [SignalEvent(call[0][1], self.kind, "".join(digits))]

    def flush(self) -> list[SignalEvent]:
        """End of stream: push the last tone through the windows and report the call in progress."""
        pad = np.zeros((self.m + self._end_gap + self._bridge + 2) * self.hop)
        events = self._feed(pad, force=True)
        self._end_run()
        if self._call:
            events += self._end_call()
        return events


def encode_selcall(kind: str, digits: str, samplerate: int, *, tone_s: float | None = None,
                   level_dbfs: float = SELCALL_LEVEL_DBFS) -> np.ndarray:
    """``digits`` (0-9, A-D, F) as one selcall, repeats sent as E, tones back to back; float32."""
    mode = selcall_mode(kind)
    check_rate(samplerate, f"{mode.name} encoder")
    if not digits:
        raise SignalDecodeError(f"{mode.name} encoder: no digits given")
    for position, d in enumerate(digits.upper(), start=1):
        if d not in DIGITS or d == REPEAT:
            raise SignalDecodeError(f"{mode.name} encoder: digit {position} of {digits!r} ({d!r}) is not "
                                    f"0-9, A-D or F (E is the repeat tone, sent by itself)")
    length = mode.tone_s if tone_s is None else tone_s
    if not (length > 0 and math.isfinite(length)):
        raise SignalDecodeError(f"{mode.name} encoder: tone length {tone_s!r} s must be positive")
    segments = [Segment((float(mode.freqs[DIGITS.index(d)]),), level_dbfs, length)
                for d in with_repeats(digits.upper())]
    return ToneGenerator(segments, samplerate).render()
