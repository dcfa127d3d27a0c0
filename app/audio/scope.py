"""The technician's oscilloscope and spectrum: the last moments of one engine input or output (pure NumPy).

Two sources:
- the scope tap: the audio callback copies ONE chosen device column (input or output) into a
  preallocated full-rate ring every block (``ScopeWriter``, called by ``Engine.process``). The
  column is chosen by storing its index in a shared one-element slot, so it works the same when the
  callback runs in the audio process (the ring and its state live in the engine's buffers,
  app/audio/buffers.py). One copy per block, nothing allocated, no lock; -1 turns the tap off;
- instant recall's 8 kHz ring (app/dsp/recall.py) for a radio's receive input, which is always
  recorded, so a radio can be looked at without moving the tap.

Readers (``ScopeTap.snapshot``, ``RecallScope.snapshot``) copy the newest samples and drop any the
callback may have overwritten while they copied. ``spectrum_dbfs`` turns a snapshot into a
Hann-windowed spectrum in dBFS, scaled so a full-scale sine reads 0 dBFS at its frequency.

``scope_state`` columns: SELECT (asked for, -1 = off), WRITTEN (samples written since start),
SINCE (WRITTEN when the column now written was first written), WRITING (the column the callback wrote last).
Columns are numbered inputs first, then outputs (as the meters are).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SELECT, WRITTEN, SINCE, WRITING = range(4)
SCOPE_SECONDS = 1.0  # ring length: the longest time window and spectrum the scope can show
FLOOR_DBFS = -140.0  # what an empty bin reads (no log of zero)


def scope_capacity(samplerate: int) -> int:
    """The tap's ring length at ``samplerate``."""
    return int(SCOPE_SECONDS * samplerate)


class ScopeWriter:
    """The callback side: copies the chosen column of a block into the ring. Allocates nothing."""

    def __init__(self, ring: np.ndarray, state: np.ndarray, n_in: int, n_out: int) -> None:
        self._ring = ring
        self._state = state
        self._n_in = n_in
        self._columns = n_in + n_out
        self._capacity = int(ring.shape[0])

    def write(self, inp: np.ndarray, out: np.ndarray) -> None:
        state = self._state
        column = int(state[SELECT])
        capacity = self._capacity
        if column < 0 or column >= self._columns or capacity == 0:
            return
        source = inp[:, column] if column < self._n_in else out[:, column - self._n_in]
        written = int(state[WRITTEN])
        if column != state[WRITING]:
            state[WRITING] = column
            state[SINCE] = written
        n = source.shape[0]
        at = written % capacity
        first = min(n, capacity - at)
        np.copyto(self._ring[at:at + first], source[:first])
        if first < n:  # the block wraps the ring's end
            np.copyto(self._ring[:n - first], source[first:])
        state[WRITTEN] = written + n  # last: a reader never counts samples not yet in the ring


@dataclass(frozen=True)
class ScopeSnapshot:
    samples: np.ndarray  # float32, oldest first; may be shorter than asked (just selected, or off)
    samplerate: int
    label: str = ""

    @property
    def seconds(self) -> float:
        return self.samples.shape[0] / self.samplerate if self.samplerate else 0.0


class ScopeTap:
    """The control or GUI side of the tap: choose a column, read its newest samples."""

    def __init__(self, ring: np.ndarray, state: np.ndarray, samplerate: int, n_in: int, n_out: int) -> None:
        self._ring = ring
        self._state = state
        self.samplerate = samplerate
        self.n_in, self.n_out = n_in, n_out

    @property
    def capacity(self) -> int:
        return int(self._ring.shape[0])

    def select(self, column: int | None) -> None:
        """Watch device column ``column`` (inputs first, then outputs) from the next block; None stops the tap."""
        if column is None:
            self._state[SELECT] = -1
            return
        if not 0 <= column < self.n_in + self.n_out:
            raise ValueError(f"scope: column {column} is outside 0..{self.n_in + self.n_out - 1} "
                             f"({self.n_in} inputs, {self.n_out} outputs)")
        self._state[SELECT] = column

    def select_input(self, index: int) -> None:
        if not 0 <= index < self.n_in:
            raise ValueError(f"scope: input {index} is outside 0..{self.n_in - 1}")
        self.select(index)

    def select_output(self, index: int) -> None:
        if not 0 <= index < self.n_out:
            raise ValueError(f"scope: output {index} is outside 0..{self.n_out - 1}")
        self.select(self.n_in + index)

    @property
    def selected(self) -> int | None:
        column = int(self._state[SELECT])
        return None if column < 0 else column

    @property
    def written(self) -> int:
        return int(self._state[WRITTEN])

    def snapshot(self, ms: float) -> ScopeSnapshot:
        """The newest ``ms`` milliseconds of the selected column (fewer when the tap started since)."""
        want = min(self.capacity, max(0, round(ms * self.samplerate / 1000.0)))
        state = self._state
        column = int(state[SELECT])
        if column < 0 or int(state[WRITING]) != column or want == 0:
            return ScopeSnapshot(np.zeros(0, dtype=np.float32), self.samplerate)
        end = int(state[WRITTEN])
        since = int(state[SINCE])
        copy = _ring_tail(self._ring, end, min(want, end - since))
        # Samples the callback wrote while we copied may have replaced the oldest ones we took.
        overwritten = int(state[WRITTEN]) - end
        if int(state[WRITING]) != column or int(state[SINCE]) != since:
            return ScopeSnapshot(np.zeros(0, dtype=np.float32), self.samplerate)
        keep = max(0, min(copy.shape[0], self.capacity - overwritten))
        return ScopeSnapshot(copy[copy.shape[0] - keep:], self.samplerate)


class RecallScope:
    """One radio's receive audio from instant recall's 8 kHz ring (always recorded; no tap needed)."""

    def __init__(self, recorder: object, channel: int) -> None:
        self._recorder = recorder
        self.channel = channel
        self.samplerate = 8000

    def snapshot(self, ms: float) -> ScopeSnapshot:
        recorder = self._recorder
        end = int(recorder.written)  # type: ignore[attr-defined]
        want = min(int(recorder.capacity), max(0, round(ms * self.samplerate / 1000.0)), end)  # type: ignore[attr-defined]
        samples = recorder.samples(self.channel, end - want, end)  # type: ignore[attr-defined]  # int16
        return ScopeSnapshot(samples.astype(np.float32) / 32768.0, self.samplerate)


def _ring_tail(ring: np.ndarray, end: int, n: int) -> np.ndarray:
    """A copy of the ``n`` samples before absolute position ``end`` of a ring (oldest first)."""
    capacity = ring.shape[0]
    n = max(0, min(n, capacity))
    start = (end - n) % capacity
    if start + n <= capacity:
        return ring[start:start + n].copy()
    return np.concatenate((ring[start:], ring[:start + n - capacity]))


@dataclass(frozen=True)
class Spectrum:
    freqs: np.ndarray  # Hz
    dbfs: np.ndarray  # per bin; a full-scale sine reads 0 dBFS at its frequency
    resolution_hz: float

    def peak(self, low_hz: float = 20.0) -> tuple[float, float]:
        """(frequency, level) of the strongest bin at or above ``low_hz``, the frequency refined by a parabola."""
        usable = np.nonzero(self.freqs >= low_hz)[0]
        if usable.size == 0:
            return 0.0, FLOOR_DBFS
        k = int(usable[np.argmax(self.dbfs[usable])])
        freq, level = float(self.freqs[k]), float(self.dbfs[k])
        if 0 < k < self.dbfs.size - 1:
            # A parabola through the peak bin and its neighbours (in dB) finds a tone between bins and
            # takes back most of the window's scalloping loss (Hann: up to 1.4 dB, about 0.1 after).
            a, b, c = (float(v) for v in self.dbfs[k - 1:k + 2])
            denom = a - 2.0 * b + c
            if denom < 0:
                offset = 0.5 * (a - c) / denom
                freq += offset * self.resolution_hz
                level = b - 0.25 * (a - c) * offset
        return freq, level


def spectrum_dbfs(samples: np.ndarray, samplerate: int, size: int = 8192) -> Spectrum:
    """Hann-windowed magnitude spectrum of the newest ``size`` samples (fewer if fewer are given), in dBFS."""
    if samplerate <= 0:
        raise ValueError(f"spectrum: sample rate must be positive, got {samplerate}")
    x = np.asarray(samples, dtype=np.float64)[-size:]
    n = x.shape[0]
    if n < 16:
        freqs = np.zeros(0)
        return Spectrum(freqs, np.zeros(0), 0.0)
    window = np.hanning(n)
    magnitude = np.abs(np.fft.rfft(x * window)) * (2.0 / window.sum())
    dbfs = 20.0 * np.log10(np.maximum(magnitude, 10.0 ** (FLOOR_DBFS / 20.0)))
    return Spectrum(np.fft.rfftfreq(n, 1.0 / samplerate), dbfs, samplerate / n)


def rms_dbfs(samples: np.ndarray) -> float:
    """RMS of a snapshot in dBFS (a sine at full scale reads -3 dBFS)."""
    if samples.size == 0:
        return FLOOR_DBFS
    rms = math.sqrt(float(np.mean(np.square(samples, dtype=np.float64))))
    return 20.0 * math.log10(rms) if rms > 0 else FLOOR_DBFS
