"""Instant recall: the last minutes of each receive input at 8 kHz int16, and an index of transmissions.

``write(block)`` runs in the audio callback and allocates no arrays: it decimates the stream rate (48 kHz
by default; any multiple of 8 kHz) to 8 kHz with a linear-phase FIR (Kaiser-windowed sinc, 255 taps
at 48 kHz, cutoff 3.6 kHz; a 6 kHz tone comes out >= 60 dB down) as one matmul per block against a
banded matrix made once per block phase, then puts the int16 samples into one ring of shape
(capacity, channels) with index wrap. Budget: 16 channels x 600 s x 8000 x 2 bytes = 153.6 MB,
committed when the recorder is made (a page first touched inside the callback costs a page fault).

The index (``carrier_on``/``carrier_off``/``last_transmission``) belongs to the control thread: it
marks the recorder's sample count when carrier changes and copies samples out on demand. The count
is one int64 element the callback updates in place, so reading it needs no lock; a mark is at most one block late.
Output sample n is the filter output at input sample factor*n (group delay: (taps-1)/2 input samples).
``upsample`` takes a recording back to the stream rate (replay) through the same low-pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

IN_RATE = 48_000
OUT_RATE = 8_000
FACTOR = IN_RATE // OUT_RATE
TAPS = 255
CUTOFF_HZ = 3_600.0
KAISER_BETA = 8.0
FULL_SCALE = 32767.0
_INT16_MAX, _INT16_MIN = np.float32(FULL_SCALE), np.float32(-FULL_SCALE - 1.0)


def design_lowpass(taps: int = TAPS, cutoff_hz: float = CUTOFF_HZ, rate: int = IN_RATE,
                   beta: float = KAISER_BETA) -> np.ndarray:
    """Kaiser-windowed sinc low-pass with unity gain at DC (float64)."""
    n = np.arange(taps) - (taps - 1) / 2.0
    h = 2.0 * cutoff_hz / rate * np.sinc(2.0 * cutoff_hz / rate * n) * np.kaiser(taps, beta)
    return h / h.sum()


def rate_factor(rate: int) -> int:
    """How many stream samples make one 8 kHz sample; a clear error for rates recall cannot use."""
    if not isinstance(rate, int) or rate < OUT_RATE or rate % OUT_RATE:
        raise ValueError(f"instant recall records at {OUT_RATE} Hz and needs a stream rate that is a multiple "
                         f"of {OUT_RATE} Hz (8000, 16000, 48000, 96000...); {rate!r} Hz is not")
    return rate // OUT_RATE


def taps_for(rate: int) -> int:
    """Filter length at ``rate``: the same transition band in Hz as 255 taps at 48 kHz (always odd)."""
    return 42 * rate_factor(rate) + 3


def upsample(samples: np.ndarray, rate: int) -> np.ndarray:
    """8 kHz int16 recording -> float32 at ``rate`` (full scale 1.0), for replay into the stream.

    Zero-stuffing by the rate factor, then the recorder's low-pass at ``rate`` (gain = factor), run
    as one short convolution per output phase (polyphase) and aligned so output sample factor*n is
    input sample n (the filter's delay taken out). Control thread only: this allocates.
    """
    factor = rate_factor(rate)
    x = np.asarray(samples, dtype=np.float64) / FULL_SCALE
    if x.ndim != 1:
        raise ValueError(f"upsample: one channel expected, got shape {x.shape}")
    if factor == 1 or x.size == 0:
        return x.astype(np.float32)
    taps = taps_for(rate)
    h = design_lowpass(taps, CUTOFF_HZ, rate) * factor
    delay = (taps - 1) // 2
    per_phase = -(-taps // factor)
    full = np.zeros(factor * (x.size + per_phase), dtype=np.float64)
    for phase in range(factor):
        part = np.convolve(x, h[phase::factor])
        full[phase::factor][:part.size] = part
    return full[delay:delay + factor * x.size].astype(np.float32)



@dataclass(frozen=True)
class UpsampleBank:
    """``upsample`` a block at a time: for each phase of a block's first output sample (its index
    modulo the factor), one (max_block, window) matrix that maps the 8 kHz samples under the block
    to its output samples. Block k's output = matrices[phase] @ x[first:first + window], with x
    zero outside the recording; the same sums ``upsample`` makes, in float32."""

    factor: int
    max_block: int
    window: int
    offsets: tuple[int, ...]  # per phase: first input sample = output index // factor + offset
    matrices: np.ndarray  # (factor, max_block, window) float32, read-only

    @classmethod
    def build(cls, rate: int, max_block: int) -> "UpsampleBank":
        factor = rate_factor(rate)
        if factor == 1:  # as ``upsample``: the recording as it is, scaled
            identity = np.ascontiguousarray(np.eye(max_block, dtype=np.float32)[None] / np.float32(FULL_SCALE))
            identity.flags.writeable = False
            return cls(1, max_block, max_block, (0,), identity)
        taps = taps_for(rate)
        h = design_lowpass(taps, CUTOFF_HZ, rate) * factor / FULL_SCALE  # int16 in, full scale 1.0 out
        delay = (taps - 1) // 2
        # Output m = sum over n of x[n] * h[m + delay - factor*n], for 0 <= m + delay - factor*n < taps.
        offsets = tuple(-((taps - 1 - p - delay) // factor) for p in range(factor))  # ceil((p+delay-taps+1)/f)
        ends = tuple((p + max_block - 1 + delay) // factor for p in range(factor))
        window = max(end - first + 1 for first, end in zip(offsets, ends))
        matrices = np.zeros((factor, max_block, window), dtype=np.float64)
        i = np.arange(max_block)[:, None]
        for p in range(factor):
            index = p + i + delay - factor * (offsets[p] + np.arange(window)[None, :])
            inside = (index >= 0) & (index < taps)
            matrices[p][inside] = h[index[inside]]
        matrices = np.ascontiguousarray(matrices, dtype=np.float32)
        matrices.flags.writeable = False
        return cls(factor, max_block, window, offsets, matrices)


_BANKS: dict[tuple[int, int], UpsampleBank] = {}


def upsample_bank(rate: int, max_block: int) -> UpsampleBank:
    """The bank for ``rate`` and ``max_block``, made once per process (control or receiver thread)."""
    key = (rate, max_block)
    bank = _BANKS.get(key)
    if bank is None:
        bank = _BANKS[key] = UpsampleBank.build(rate, max_block)
    return bank


@dataclass
class Transmission:
    channel: int
    start: int  # absolute 8 kHz sample index of carrier start
    wall_start: float
    end: int | None = None  # None while on air
    wall_end: float | None = None
    unit_id: str | None = None  # set later, when the unit is identified


class RecallRecorder:
    def __init__(self, channels: int, frames: int, seconds: float = 600.0,
                 columns: tuple[int, ...] | None = None, rate: int = IN_RATE, *,
                 ring: np.ndarray | None = None, counts: np.ndarray | None = None) -> None:
        """``ring`` ((capacity, channels) int16) and ``counts`` (2 int64): arrays to record into
        instead of new ones, e.g. shared memory that the audio process writes and the console reads."""
        if columns is not None and len(columns) != channels:
            raise ValueError(f"recall: {len(columns)} columns given for {channels} channels")
        self.rate = rate
        self.factor = rate_factor(rate)
        self.taps = taps_for(rate)
        self.channels = channels
        self.frames = frames
        self.capacity = int(seconds * OUT_RATE)
        self.columns = columns
        if ring is None:
            ring = np.zeros((self.capacity, channels), dtype=np.int16)
            ring.fill(0)  # commit the pages now, not one page fault at a time in the callback
        elif ring.shape != (self.capacity, channels) or ring.dtype != np.int16:
            raise ValueError(f"recall: ring must be int16 {(self.capacity, channels)}, got {ring.dtype} {ring.shape}")
        self.ring = ring
        # [8 kHz samples written per channel, blocks written]: kept in an array so the callback
        # updates them in place instead of keeping new int objects.
        self._counts = np.zeros(2, dtype=np.int64) if counts is None else counts
        self._index: list[list[Transmission]] = [[] for _ in range(channels)]

        # Full scale folded into the filter: the product comes out in int16 units.
        h = (design_lowpass(self.taps, CUTOFF_HZ, rate) * FULL_SCALE).astype(np.float32)
        history = self.taps - 1
        length = history + frames
        # Two history buffers, used alternately, so carrying the tail over never overlaps itself.
        self._hist = [np.zeros((length, channels), dtype=np.float32) for _ in range(2)]
        self._fresh = [buf[history:] for buf in self._hist]  # where each block lands
        self._tail = [buf[frames:] for buf in self._hist]  # the last taps-1 samples after a block
        self._head = [buf[:history] for buf in self._hist]
        # Picking the recorded columns: a slice when they are consecutive (cheaper than a gather).
        picked = list(columns) if columns is not None else list(range(channels))
        consecutive = picked == list(range(picked[0], picked[0] + channels)) if picked else True
        self._col_slice = slice(picked[0], picked[0] + channels) if picked and consecutive else None
        self._col_index = np.array(picked, dtype=np.intp)

        # Per block phase (input sample count mod factor): which block offsets produce an output.
        factor = self.factor
        self._phases = factor // math.gcd(frames, factor)
        self._bands: list[np.ndarray] = []
        self._out_f: list[np.ndarray] = []
        self._out_i: list[np.ndarray] = []
        self._base_idx: list[np.ndarray] = []
        self._idx: list[np.ndarray] = []
        for p in range(self._phases):
            start_in = p * frames
            offsets = [o for o in range(frames) if (start_in + o) % factor == 0]
            band = np.zeros((len(offsets), length), dtype=np.float32)
            for k, o in enumerate(offsets):
                # y = sum_j h[j] * x[i - j], and x[i - j] sits at row history + o - j
                band[k, history + o - np.arange(self.taps)] = h
            self._bands.append(band)
            self._out_f.append(np.zeros((len(offsets), channels), dtype=np.float32))
            self._out_i.append(np.zeros((len(offsets), channels), dtype=np.int16))
            base = np.arange(len(offsets) * channels, dtype=np.intp)  # k * channels + c
            self._base_idx.append(base)
            self._idx.append(np.zeros_like(base))

    @property
    def written(self) -> int:
        """8 kHz samples written per channel since start."""
        return int(self._counts[0])

    def nbytes(self) -> int:
        """Memory held by the recorder's arrays."""
        arrays = [self.ring, *self._hist, *self._bands, *self._out_f, *self._out_i, *self._base_idx, *self._idx]
        return sum(a.nbytes for a in arrays)

    # ---- callback side -----------------------------------------------------------------------

    def write(self, block: np.ndarray) -> None:
        """Callback: one (frames, n) float32 block at the stream rate (n = channels, or wider with ``columns``)."""
        counts = self._counts
        written, blocks = int(counts[0]), int(counts[1])
        b = blocks & 1
        p = blocks % self._phases
        hist = self._hist[b]
        if self._col_slice is None:
            np.take(block, self._col_index, axis=1, out=self._fresh[b], mode="clip")
        else:
            np.copyto(self._fresh[b], block[:, self._col_slice])
        y = self._out_f[p]
        np.matmul(self._bands[p], hist, out=y)
        np.rint(y, out=y)
        np.minimum(y, _INT16_MAX, out=y)
        np.maximum(y, _INT16_MIN, out=y)
        n = y.shape[0]
        start = written % self.capacity
        if start + n <= self.capacity:
            np.copyto(self.ring[start:start + n], y, casting="unsafe")
        else:  # the ring wraps inside this block: scatter by index
            yi = self._out_i[p]
            np.copyto(yi, y, casting="unsafe")
            idx = self._idx[p]
            np.add(self._base_idx[p], start * self.channels, out=idx)
            np.put(self.ring, idx, yi, mode="wrap")
        np.copyto(self._head[1 - b], self._tail[b])
        counts[0] = written + n
        counts[1] = blocks + 1

    # ---- control-thread side -----------------------------------------------------------------

    def carrier_on(self, channel: int, wall: float) -> Transmission:
        tx = Transmission(channel=channel, start=self.written, wall_start=wall)
        entries = self._index[channel]
        entries.append(tx)
        oldest = self.written - self.capacity
        while entries and entries[0].end is not None and entries[0].end <= oldest:
            entries.pop(0)  # wholly overwritten in the ring
        return tx

    def carrier_off(self, channel: int, wall: float) -> Transmission | None:
        entries = self._index[channel]
        if not entries or entries[-1].end is not None:
            return None
        tx = entries[-1]
        tx.end = self.written
        tx.wall_end = wall
        return tx

    def transmissions(self, channel: int) -> list[Transmission]:
        return list(self._index[channel])

    def samples(self, channel: int, start: int, end: int) -> np.ndarray:
        """A copy of channel samples [start, end) (absolute 8 kHz indices), clipped to what the ring holds."""
        start = max(start, self.written - self.capacity, 0)
        end = min(end, self.written)
        if end <= start:
            return np.zeros(0, dtype=np.int16)
        rows = np.arange(start, end) % self.capacity
        return self.ring[rows, channel].copy()

    def last_transmission(self, channel: int) -> np.ndarray:
        """The last transmission's samples (int16, to now if still on air); empty when there is none."""
        entries = self._index[channel]
        if not entries:
            return np.zeros(0, dtype=np.int16)
        tx = entries[-1]
        return self.samples(channel, tx.start, tx.end if tx.end is not None else self.written)
