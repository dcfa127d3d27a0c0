"""Motorola Quick Call II two-tone sequential paging: decoder and encoder (pure NumPy, no Qt).

Timing and the tone table are signaling-specs.md 3.1 (``app.dsp.tones.QC2_TABLE``): tone A 1 s then
tone B 3 s with no gap; the all-call is one tone for 8 s. The reference found no published receiver
tolerance; this decoder takes +-1.5 % (its guess) and these durations:
tone A 0.6-1.6 s, tone B >= 1.5 s (reported as soon as it has lasted that long), all-call >= 5 s,
at most 0.25 s between A and B.

How: 200 ms windows every 10 ms (``app.dsp.goertzel``) at all 80 table frequencies, each following a
tone up to the tolerance off. The closest table tones are 2.5 % apart (8 Hz at 290 Hz), closer than
the tolerance is wide, so a window votes for the table tone nearest the frequency measured in its
strongest bin, when that tone stands 12 dB over the 80 bins' median, carries a good share of the
window's energy and lies within tolerance. A run of windows voting for one tone is that tone when its
frequency offset measured over the whole run (a precise figure over a second) is within tolerance.

Events: ``value`` is the table pair ``(hz_a, hz_b)`` (``(hz, hz)`` for the all-call); ``extra`` holds
the cap code (group then the two code digits, "461" = group 4 code 61; a page whose tones come from two
groups reads "46/11"), ``all_call`` and the measured frequencies.
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
from app.dsp.tones import (
    QC2_A_S,
    QC2_ALL_CALL_S,
    QC2_B_S,
    QC2_LEVEL_DBFS,
    QC2_TABLE,
    Segment,
    ToneError,
    ToneGenerator,
    qc2_page,
)

HOP_S = 0.010  # sub-blocks: the phase step of a tone 1.5 % off 2468 Hz stays within +-pi
WINDOW_HOPS = 20
CODE_DIGITS = "1234567890"  # tone n of a group is code digit n; the tenth tone is digit 0
# Every table tone -> (group, code digit); the 80 frequencies are all different.
TONE_CODES: dict[float, tuple[str, str]] = {
    hz: (group, CODE_DIGITS[i]) for group, tones in QC2_TABLE.items() for i, hz in enumerate(tones)
}
TABLE_HZ: tuple[float, ...] = tuple(TONE_CODES)


@dataclass(frozen=True)
class Qc2Limits:
    freq_tolerance: float = 0.015
    a_min_s: float = 0.6
    a_max_s: float = 1.6
    b_min_s: float = 1.5
    all_call_min_s: float = 5.0
    max_gap_s: float = 0.25  # between tone A and tone B
    min_level_dbfs: float = -50.0
    above_floor_db: float = 12.0
    min_energy_share: float = 0.3
    bridge_s: float = 0.1  # a fade this short does not end a tone


def capcode(hz_a: float, hz_b: float) -> str:
    ga, da = TONE_CODES[hz_a]
    if hz_a == hz_b:
        return f"{ga}{da}{da}"
    gb, db = TONE_CODES[hz_b]
    return f"{ga}{da}{db}" if ga == gb else f"{ga}{da}/{gb}{db}"


class Qc2Decoder:
    """Stateful Quick Call II decoder: ``feed`` blocks of any size, ``flush`` at the end of the stream."""

    kind = "qc2"

    def __init__(self, samplerate: int, **options: float) -> None:
        self.samplerate = check_rate(samplerate, "Quick Call II decoder")
        try:
            self.limits = Qc2Limits(**options)
        except TypeError as err:
            raise SignalDecodeError(f"Quick Call II decoder: {err}") from None
        self.m = WINDOW_HOPS
        self.hop = round(samplerate * HOP_S)
        self.window_n = self.hop * self.m
        self._hop_s = self.hop / samplerate
        self._dft = SubBlockDft(samplerate, TABLE_HZ, self.hop, round(BATCH_S * samplerate))
        self._table = np.asarray(TABLE_HZ)
        self._order = np.argsort(self._table)
        self._sorted = self._table[self._order]
        max_step = 2.0 * math.pi * self.limits.freq_tolerance * self._table * self.hop / samplerate
        self._win = SlidingWindows(len(TABLE_HZ), self.m, max_step)
        lim = self.limits
        self._bridge = int(lim.bridge_s / self._hop_s)
        self._max_gap = int(lim.max_gap_s / self._hop_s)
        self._floor_ratio = 10 ** (lim.above_floor_db / 10)
        self._min_amp = 10 ** (lim.min_level_dbfs / 20)
        self._norm = 2.0 / self.window_n
        self._per_radian = samplerate / (2.0 * math.pi * self.hop * self._table)  # relative offset per radian
        self._window_index = 0
        self._run: ToneRun | None = None
        self._gap = 0
        self._tone_a: ToneRun | None = None  # a finished run that qualifies as tone A
        self._a_end = 0  # window index of tone A's last window

    def _votes(self, x: np.ndarray, energy: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        power = self._win.power  # follows a tone up to the frequency tolerance off
        rows = np.arange(x.shape[0])
        best = np.argmax(power, axis=1)
        pb = power[rows, best]
        # Neighbouring table tones are closer than the tolerance is wide, so the vote goes to the table
        # tone nearest the frequency measured in the strongest bin, not to the strongest bin itself.
        measured = self._table[best] * (1.0 + np.angle(inside[rows, best]) * self._per_radian[best])
        pos = np.clip(np.searchsorted(self._sorted, measured), 1, self._sorted.shape[0] - 1)
        below, above = self._sorted[pos - 1], self._sorted[pos]
        nearest = np.where(measured - below < above - measured, self._order[pos - 1], self._order[pos])
        near_hz = self._table[nearest]
        floor = np.median(x.real ** 2 + x.imag ** 2, axis=1)  # plain sums: noise is not tracked
        amp = np.sqrt(pb) * self._norm
        share = pb / np.maximum(energy * self.window_n / 2.0, 1e-30)
        ok = ((pb > self._floor_ratio * floor) & (amp >= self._min_amp)
              & (share >= self.limits.min_energy_share)
              & (np.abs(measured - near_hz) <= self.limits.freq_tolerance * near_hz))
        return np.where(ok, nearest, -1), amp

    def feed(self, block: np.ndarray) -> list[SignalEvent]:
        return self._feed(block, force=False)

    def _feed(self, block: np.ndarray, *, force: bool) -> list[SignalEvent]:
        x = as_mono(block, "Quick Call II decoder")
        s, e = self._dft.feed(x, force=force)
        if s.shape[0] == 0:
            return []
        xw, ew, zw = self._win.feed(s, e)
        votes, amp = self._votes(xw, ew, zw)
        first = self._window_index
        self._window_index += votes.shape[0]
        events: list[SignalEvent] = []
        if self._run is None and self._tone_a is None and bool((votes < 0).all()):
            return events
        for i, v in enumerate(votes.tolist()):
            w = first + i
            run = self._run
            if run is not None and v == run.tone:
                self._gap = 0
                run.add(float(amp[i]), zw[i, v], w)
            elif v >= 0:
                self._end_run()
                self._run = run = ToneRun(v, w)
                run.add(float(amp[i]), zw[i, v], w)
                self._gap = 0
            else:
                self._gap += 1
                if run is not None and self._gap > self._bridge:
                    self._end_run()
                if self._tone_a is not None and w - self._a_end > self._max_gap + self._bridge:
                    self._tone_a = None
                continue
            event = self._check(run)
            if event is not None:
                events.append(event)
        return events

    def _duration(self, run: ToneRun) -> float:
        return run.duration(self._hop_s)

    def _in_tolerance(self, run: ToneRun) -> bool:
        return abs(run.offset(self._hop_s, TABLE_HZ[run.tone])) <= self.limits.freq_tolerance

    def _measured(self, run: ToneRun) -> float:
        hz = TABLE_HZ[run.tone]
        return round(hz * (1.0 + run.offset(self._hop_s, hz)), 1)

    def _start_s(self, run: ToneRun) -> float:
        return run.start_sample(self.m, self.hop) / self.samplerate

    def _check(self, run: ToneRun) -> SignalEvent | None:
        """Report the run once it makes a page (as tone B) or an all-call."""
        if run.emitted:
            return None
        lim = self.limits
        d = self._duration(run)
        a = self._tone_a
        follows_a = a is not None and a.tone != run.tone and run.start - self._a_end <= self._max_gap + 1
        if follows_a and d >= lim.b_min_s and self._in_tolerance(run):
            run.emitted = True
            self._tone_a = None
            hz_a, hz_b = TABLE_HZ[a.tone], TABLE_HZ[run.tone]
            return SignalEvent(self._start_s(a), self.kind, (hz_a, hz_b), {
                "capcode": capcode(hz_a, hz_b), "all_call": False,
                "measured_hz": [self._measured(a), self._measured(run)]})
        if d >= lim.all_call_min_s and self._in_tolerance(run):
            run.emitted = True
            hz = TABLE_HZ[run.tone]
            return SignalEvent(self._start_s(run), self.kind, (hz, hz), {
                "capcode": capcode(hz, hz), "all_call": True, "measured_hz": [self._measured(run)]})
        return None

    def _end_run(self) -> None:
        run, self._run = self._run, None
        if run is None or run.emitted:
            return
        d = self._duration(run)
        if self.limits.a_min_s <= d <= self.limits.a_max_s and self._in_tolerance(run):
            self._tone_a = run
            self._a_end = run.last
        elif self._tone_a is not None and run.tone != self._tone_a.tone:
            self._tone_a = None  # something else followed tone A

    def flush(self) -> list[SignalEvent]:
        """End of stream: push the last windows through (silence after the signal)."""
        events = self._feed(np.zeros((self.m + self._bridge + 2) * self.hop), force=True)
        self._run = None
        self._tone_a = None
        return events


def encode_qc2(samplerate: int, *, group: str | None = None, code: str | None = None,
               b_group: str | None = None, tones: tuple[float, float] | None = None,
               level_dbfs: float = QC2_LEVEL_DBFS) -> np.ndarray:
    """A page as float32: by ``group`` and two-digit ``code`` (``b_group`` for tone B from another
    group; the same digit twice is the all-call), or by explicit ``tones`` (hz_a, hz_b), equal = all-call."""
    check_rate(samplerate, "Quick Call II encoder")
    try:
        if tones is not None:
            if group is not None or code is not None:
                raise ToneError("give either tones or group and code, not both")
            hz_a, hz_b = (float(t) for t in tones)
            segments = ([Segment((hz_a,), level_dbfs, QC2_ALL_CALL_S)] if hz_a == hz_b else
                        [Segment((hz_a,), level_dbfs, QC2_A_S), Segment((hz_b,), level_dbfs, QC2_B_S)])
        elif group is not None and code is not None:
            segments = qc2_page(group, code, b_group=b_group, level_dbfs=level_dbfs)
        else:
            raise ToneError("give the page as group and code, or as tones")
        return ToneGenerator(segments, samplerate).render()
    except (ToneError, ValueError) as err:
        raise SignalDecodeError(f"Quick Call II encoder: {err}") from None
