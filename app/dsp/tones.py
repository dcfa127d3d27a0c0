"""Tone sequences rendered block by block into preallocated float32 buffers (pure NumPy, no Qt).

A tone is a list of ``Segment``s (up to two frequencies summed, a level in dBFS, a duration).
``ToneGenerator.fill(out)`` renders the next ``len(out)`` samples into ``out`` without allocating
once its scratch buffers have grown to the block size, so it can run in the audio callback.

Levels: a sine "at L dBFS" has peak amplitude 10**(L/20) of full scale (RMS is L - 3.01 dB).
Every level is relative to the line test level ``TEST_LEVEL_DBFS`` (the alignment tone the line
is set up with), as signaling-specs.md gives them.

Phase: each oscillator slot carries its phase across blocks and across segment boundaries (a
warble switches frequency without a phase jump). Each sample's phase is computed from the integer
sample count within its segment, so the output does not depend on how the stream is cut into
blocks. After a silent segment the phase restarts at 0, so every pulse starts at a zero crossing.

Segment boundaries are sample-exact: boundary k falls at round(rate * cumulative seconds).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Line alignment test level in dBFS: the level a 1004 Hz test tone has on the line. signaling-specs.md
# section 1.6 works its example with the test tone at -10 dBFS; the TRC levels are relative to it.
TEST_LEVEL_DBFS = -10.0
TEST_TONE_HZ = 1004.0  # the "digital milliwatt" frequency, off the 8 kHz sub-harmonics

# The operator hears every transmitted tone in the headset this much quieter (sidetone).
SIDETONE_DB = -12.0

MAX_TONES_PER_SEGMENT = 2


class ToneError(ValueError):
    """A tone request that cannot be rendered (bad frequency, level, duration or digit)."""


@dataclass(frozen=True)
class Segment:
    """``freqs`` (Hz, 0-2 of them, summed) at ``level_dbfs`` each, for ``seconds``. No freqs = silence."""

    freqs: tuple[float, ...]
    level_dbfs: float
    seconds: float
    # Per-tone level offsets (dB, same length as freqs), e.g. DTMF's high-group pre-emphasis.
    offsets_db: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if len(self.freqs) > MAX_TONES_PER_SEGMENT:
            raise ToneError(f"segment has {len(self.freqs)} tones; at most {MAX_TONES_PER_SEGMENT}")
        if self.offsets_db and len(self.offsets_db) != len(self.freqs):
            raise ToneError("offsets_db must give one offset per frequency")
        if not (self.seconds >= 0 and math.isfinite(self.seconds)):
            raise ToneError(f"segment duration {self.seconds!r} s is not a finite non-negative number")
        if not math.isfinite(self.level_dbfs) or self.level_dbfs > 0:
            raise ToneError(f"level {self.level_dbfs!r} dBFS is above full scale or not a number")

    @property
    def silent(self) -> bool:
        return not self.freqs


def silence(seconds: float) -> Segment:
    return Segment((), 0.0, seconds)


class ToneGenerator:
    """Renders a segment list, once (then silence) or repeating, phase-continuously across blocks.

    ``gain_db`` offsets every level (use ``SIDETONE_DB`` for the headset copy of a transmitted tone).
    """

    def __init__(self, segments: Sequence[Segment], rate: int, *, repeat: bool = False,
                 gain_db: float = 0.0, max_block: int = 1024) -> None:
        if rate <= 0:
            raise ToneError(f"sample rate {rate!r} must be positive")
        for seg in segments:
            for f in seg.freqs:
                if not (0 < f < rate / 2):
                    raise ToneError(f"frequency {f!r} Hz is not between 0 and half the rate ({rate / 2:g} Hz)")
        self.rate = rate
        self.segments = tuple(segments)
        self.repeat = repeat
        edges = np.round(np.cumsum([0.0] + [s.seconds for s in self.segments]) * rate).astype(np.int64)
        self.lengths: tuple[int, ...] = tuple(int(n) for n in np.diff(edges))
        if repeat and sum(self.lengths) == 0:
            raise ToneError("a repeating tone needs a non-zero duration")
        gain = 10.0 ** (gain_db / 20.0)
        # Per segment, per slot: (cycles per sample, peak amplitude).
        self._params: tuple[tuple[tuple[float, float], ...], ...] = tuple(
            tuple(
                (f / rate, gain * 10.0 ** ((s.level_dbfs + (s.offsets_db[i] if s.offsets_db else 0.0)) / 20.0))
                for i, f in enumerate(s.freqs)
            )
            for s in self.segments
        )
        # State lives in arrays, updated in place, so fill() leaves no new Python objects behind.
        self._phase = np.zeros(MAX_TONES_PER_SEGMENT)  # cycles, at the current segment's start
        self._where = np.zeros(2, dtype=np.int64)  # [current segment, samples of it already rendered]
        self._ramp = np.empty(0)
        self._tmp = np.empty(0)
        self._floor = np.empty(0)
        self._tmp32 = np.empty(0, dtype=np.float32)
        self._grow(max_block)
        self._skip_empty()

    @property
    def total_samples(self) -> int:
        """Samples in one pass of the sequence."""
        return sum(self.lengths)

    @property
    def done(self) -> bool:
        return not self.repeat and self._index >= len(self.segments)

    def reset(self) -> None:
        self._phase.fill(0.0)
        self._where.fill(0)
        self._skip_empty()

    def render(self) -> np.ndarray:
        """One whole pass as a new float32 array (for files and tests, not for the callback)."""
        out = np.zeros(self.total_samples, dtype=np.float32)
        self.fill(out)
        return out

    def fill(self, out: np.ndarray, *, add: bool = False) -> None:
        """Write (or with ``add``, mix) the next ``len(out)`` samples into ``out``; after the end, silence."""
        total = out.shape[0]
        if total > self._ramp.shape[0]:
            self._grow(total)  # allocates once, when a bigger block than ever before arrives
        if not add:
            out.fill(0.0)
        pos = 0
        while pos < total and self._index < len(self.segments):
            length = self.lengths[self._index]
            n = min(length - self._k, total - pos)
            dest = out[pos:pos + n]
            tmp, flo = self._tmp[:n], self._floor[:n]
            for slot, (step, amp) in enumerate(self._params[self._index]):
                np.add(self._ramp[:n], self._where[1], out=tmp)
                np.multiply(tmp, step, out=tmp)
                np.add(tmp, self._phase[slot], out=tmp)
                np.floor(tmp, out=flo)
                np.subtract(tmp, flo, out=tmp)  # phase in [0, 1) keeps sin's argument small
                np.multiply(tmp, 2.0 * math.pi, out=tmp)
                np.sin(tmp, out=tmp)
                np.multiply(tmp, amp, out=tmp)
                if dest.dtype == np.float32:  # cast into scratch first: a casting ufunc would allocate a buffer
                    np.copyto(self._tmp32[:n], tmp, casting="same_kind")
                    np.add(dest, self._tmp32[:n], out=dest)
                else:
                    np.add(dest, tmp, out=dest, casting="same_kind")
            self._k += n
            pos += n
            if self._k == length:
                self._next_segment()

    def _next_segment(self) -> None:
        seg, params, length = self.segments[self._index], self._params[self._index], self.lengths[self._index]
        if seg.silent:
            self._phase.fill(0.0)
        else:
            for slot, (step, _amp) in enumerate(params):
                end = self._phase[slot] + length * step
                self._phase[slot] = end - math.floor(end)
        self._index += 1
        self._k = 0
        self._skip_empty()

    @property
    def _index(self) -> int:
        return int(self._where[0])

    @_index.setter
    def _index(self, value: int) -> None:
        self._where[0] = value

    @property
    def _k(self) -> int:
        return int(self._where[1])

    @_k.setter
    def _k(self, value: int) -> None:
        self._where[1] = value

    def _skip_empty(self) -> None:
        while True:
            if self._index >= len(self.segments):
                if not self.repeat:
                    return
                self._index = 0
            if self.lengths[self._index] > 0:
                return
            self._index += 1

    def _grow(self, size: int) -> None:
        self._ramp = np.arange(size, dtype=np.float64)
        self._tmp = np.empty(size, dtype=np.float64)
        self._floor = np.empty(size, dtype=np.float64)
        self._tmp32 = np.empty(size, dtype=np.float32)


# ---- the console's tones ----------------------------------------------------------------------------
# Motorola publishes no frequencies or cadences for its console alerts (signaling-specs.md 2.1). These
# follow the open-source dvmconsole imitation measured in 2.2, at the line test level.

ALERT_LEVEL_DBFS = TEST_LEVEL_DBFS


def alert1(level_dbfs: float = ALERT_LEVEL_DBFS, seconds: float = 3.0) -> list[Segment]:
    """Alert 1 (attention, steady): 1000 Hz for 3 s."""
    return [Segment((1000.0,), level_dbfs, seconds)]


def alert2(level_dbfs: float = ALERT_LEVEL_DBFS, pairs: int = 7) -> list[Segment]:
    """Alert 2 (officer needs assistance, warble): 1500 Hz / 800 Hz alternating every 250 ms, 7 pairs."""
    pair = [Segment((1500.0,), level_dbfs, 0.25), Segment((800.0,), level_dbfs, 0.25)]
    return pair * pairs


def alert3(level_dbfs: float = ALERT_LEVEL_DBFS, pulses: int = 8) -> list[Segment]:
    """Alert 3 (general announcement, pulsed): 1000 Hz 250 ms on / 250 ms off, 8 pulses."""
    return [Segment((1000.0,), level_dbfs, 0.25), silence(0.25)] * pulses


def marker(level_dbfs: float = ALERT_LEVEL_DBFS) -> list[Segment]:
    """Channel marker (hold) tone: 688 Hz for 480 ms after 20 ms of silence; resend every 10 s."""
    return [silence(0.02), Segment((688.0,), level_dbfs, 0.48)]


MARKER_PERIOD_S = 10.0


def talk_permit(level_dbfs: float = ALERT_LEVEL_DBFS) -> list[Segment]:
    """Talk-permit chime: three 50 ms beeps of 910 Hz, 25 ms apart. [GUESS: no published value found]"""
    beep = Segment((910.0,), level_dbfs, 0.05)
    return [beep, silence(0.025), beep, silence(0.025), beep]


def dekey(level_dbfs: float = ALERT_LEVEL_DBFS) -> list[Segment]:
    """De-key chime: 1200 Hz then 900 Hz, 60 ms each. [GUESS: no published value found]"""
    return [Segment((1200.0,), level_dbfs, 0.06), Segment((900.0,), level_dbfs, 0.06)]


def emergency_alarm(level_dbfs: float = ALERT_LEVEL_DBFS) -> list[Segment]:
    """Local emergency alarm (repeat it): 1400/700 Hz, 150 ms each. [GUESS: faster than Alert 2, so distinct]"""
    return [Segment((1400.0,), level_dbfs, 0.15), Segment((700.0,), level_dbfs, 0.15)]


def line_test_tone(seconds: float = 1.0, level_dbfs: float = TEST_LEVEL_DBFS) -> list[Segment]:
    """The line alignment test tone: 1004 Hz at the test level."""
    return [Segment((TEST_TONE_HZ,), level_dbfs, seconds)]


# ---- DTMF (ITU-T Q.23) --------------------------------------------------------------------------------

DTMF_LOW = (697.0, 770.0, 852.0, 941.0)
DTMF_HIGH = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")
# Low group 6 dB below the test level, high group 2 dB above that (transmit pre-emphasis, within the
# 4 dB reverse-twist limit); both tones together peak at about -7.6 dBFS.
DTMF_LEVEL_DBFS = TEST_LEVEL_DBFS - 6.0
DTMF_HIGH_OFFSET_DB = 2.0
DTMF_ON_S = 0.1  # Bell minimum 50 ms on, 45 ms off; 100/100 ms is what decoders take comfortably
DTMF_OFF_S = 0.1


def dtmf_freqs(key: str) -> tuple[float, float]:
    for row, keys in enumerate(DTMF_KEYS):
        col = keys.find(key.upper())
        if col >= 0 and key:
            return DTMF_LOW[row], DTMF_HIGH[col]
    raise ToneError(f"{key!r} is not a DTMF key (0-9, *, #, A-D)")


def dtmf(digits: str, *, on_s: float = DTMF_ON_S, off_s: float = DTMF_OFF_S,
         level_dbfs: float = DTMF_LEVEL_DBFS, high_offset_db: float = DTMF_HIGH_OFFSET_DB) -> list[Segment]:
    """Each key as its two tones for ``on_s``, then ``off_s`` of silence."""
    if not digits:
        raise ToneError("no DTMF digits given")
    segments: list[Segment] = []
    for position, key in enumerate(digits, start=1):
        try:
            pair = dtmf_freqs(key)
        except ToneError as err:
            raise ToneError(f"digit {position} of {digits!r}: {err}") from None
        segments += [Segment(pair, level_dbfs, on_s, (0.0, high_offset_db)), silence(off_s)]
    return segments


# ---- Motorola Quick Call II two-tone paging --------------------------------------------------------------

# Tone n of each group (n = 1..9, 0); signaling-specs.md 3.1 (SvxLink qc2_tone_matrix).
QC2_TABLE: dict[str, tuple[float, ...]] = {
    "1": (349.0, 368.5, 389.0, 410.8, 433.7, 457.9, 483.5, 510.5, 539.0, 330.5),
    "2": (600.9, 634.5, 669.9, 707.3, 746.8, 788.5, 832.5, 879.0, 928.1, 569.1),
    "3": (288.5, 296.5, 304.7, 313.0, 953.7, 979.9, 1006.9, 1034.7, 1063.2, 1092.4),
    "4": (339.6, 358.6, 378.6, 399.8, 422.1, 445.7, 470.5, 496.8, 524.6, 321.7),
    "5": (584.8, 617.4, 651.9, 688.3, 726.8, 767.4, 810.2, 855.5, 903.2, 553.9),
    "6": (1153.4, 1185.2, 1217.8, 1251.4, 1285.8, 1321.2, 1357.6, 1395.0, 1433.4, 1122.5),
    "A": (1472.9, 1513.5, 1555.2, 1598.0, 1642.0, 1687.2, 1733.7, 1781.5, 1830.5, 1881.0),
    "B": (1930.2, 1989.0, 2043.8, 2094.5, 2155.6, 2212.2, 2271.7, 2334.6, 2401.0, 2468.2),
}
QC2_A_S, QC2_B_S, QC2_ALL_CALL_S = 1.0, 3.0, 8.0
QC2_LEVEL_DBFS = TEST_LEVEL_DBFS


def qc2_tone(group: str, digit: str) -> float:
    tones = QC2_TABLE.get(group.upper())
    if tones is None:
        raise ToneError(f"Quick Call II group {group!r} is not one of {', '.join(QC2_TABLE)}")
    if len(digit) != 1 or not digit.isdigit():
        raise ToneError(f"Quick Call II tone {digit!r} is not a digit 0-9")
    return tones[(int(digit) - 1) % 10]  # digit 0 is the tenth tone


def qc2_page(group: str, code: str, *, b_group: str | None = None,
             level_dbfs: float = QC2_LEVEL_DBFS) -> list[Segment]:
    """Tone A (first code digit) 1 s then tone B (second digit) 3 s, no gap; a code with the same
    digit twice in one group is the all-call: tone A for 8 s."""
    if len(code) != 2:
        raise ToneError(f"Quick Call II code {code!r} must be two digits")
    tone_a = qc2_tone(group, code[0])
    tone_b = qc2_tone(b_group or group, code[1])
    if code[0] == code[1] and (b_group is None or b_group.upper() == group.upper()):
        return [Segment((tone_a,), level_dbfs, QC2_ALL_CALL_S)]
    return [Segment((tone_a,), level_dbfs, QC2_A_S), Segment((tone_b,), level_dbfs, QC2_B_S)]
