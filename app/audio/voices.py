"""Voices the engine plays: tones from a table, a recorded clip, and the tone-remote keying voice.

A voice is anything with ``fill(out, *, add=False)`` (render the next ``len(out)`` samples) and a
``done`` flag; ``app.dsp.tones.ToneGenerator`` is one. These are the ones made for the callback,
where each NumPy call costs about a microsecond whatever its size:

- ``ToneVoice`` renders the same segments as ``ToneGenerator`` (same boundaries, phases and levels;
  tests/unit/test_engine.py holds them to float32 precision) with one small matrix-vector product
  per segment piece: sin(p + w n) = sin(p) cos(w n) + cos(p) sin(w n), with the cos/sin columns of
  each frequency tabulated once and the phase p at the piece's start computed from its integer
  sample count. ``ToneGenerator.fill`` makes about ten calls per tone per block.
- ``ClipVoice`` plays a float32 array once (instant recall replay, at the stream rate).
- ``TrcVoice`` keys a tone-remote base: HLGT and function tone, then the low-level guard tone held
  until it is stopped, switching at the exact sample; ``keying_left`` tells the engine when the
  voice path may open.

None of them allocates in ``fill`` once built for the largest block (``max_block``).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence

import numpy as np

from app.dsp import trc
from app.dsp.recall import rate_factor, upsample_bank
from app.dsp.tones import TEST_LEVEL_DBFS, Segment, ToneGenerator


class ToneVoice:
    """``segments`` once (then silence) or repeating, phase-continuous, ``gain_db`` on every level."""

    def __init__(self, segments: Sequence[Segment], rate: int, *, repeat: bool = False,
                 gain_db: float = 0.0, max_block: int = 1024) -> None:
        # The reference generator checks the segments and fixes the schedule (sample-exact lengths).
        reference = ToneGenerator(segments, rate, repeat=repeat, gain_db=gain_db, max_block=1)
        self.rate = rate
        self.segments = reference.segments
        self.lengths = reference.lengths
        self.repeat = repeat
        self.max_block = max_block
        gain = 10.0 ** (gain_db / 20.0)
        n = np.arange(max_block, dtype=np.float64)
        tables: dict[tuple[float, ...], np.ndarray] = {}
        self._steps: list[tuple[float, ...]] = []  # cycles per sample, per slot
        self._amps: list[tuple[float, ...]] = []
        self._tables: list[np.ndarray | None] = []  # (max_block, 2 * tones): cos, sin of each tone
        for seg in self.segments:
            steps = tuple(f / rate for f in seg.freqs)
            offsets = seg.offsets_db or (0.0,) * len(seg.freqs)
            self._steps.append(steps)
            self._amps.append(tuple(gain * 10.0 ** ((seg.level_dbfs + o) / 20.0) for o in offsets))
            if seg.silent:
                self._tables.append(None)
                continue
            if steps not in tables:
                columns = []
                for step in steps:
                    w = 2.0 * math.pi * step * n
                    columns += [np.cos(w), np.sin(w)]
                tables[steps] = np.ascontiguousarray(np.stack(columns, axis=1), dtype=np.float32)
            self._tables.append(tables[steps])
        self._coef = [np.zeros(2 * len(seg.freqs), dtype=np.float32) for seg in self.segments]
        self._coef_views = [memoryview(c) for c in self._coef]  # plain float stores, no NumPy scalar per item
        self._scratch = np.zeros(max_block, dtype=np.float32)
        # State in C arrays updated in place, so fill() keeps no new Python objects (the allocation
        # tests would see an int above 256 held in an attribute as memory that grew).
        self._phase = array("d", [0.0, 0.0])  # slot phases (cycles) at the current segment's start
        self._where = array("q", [0, 0])  # [current segment, samples of it rendered]
        self._skip_empty()

    def __getstate__(self) -> dict:
        # Sent to the audio process (app/audio/process.py) before it plays; memoryviews do not pickle.
        state = dict(self.__dict__)
        del state["_coef_views"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._coef_views = [memoryview(c) for c in self._coef]

    @property
    def done(self) -> bool:
        return not self.repeat and self._where[0] >= len(self.segments)

    @property
    def total_samples(self) -> int:
        """Samples in one pass of the sequence."""
        return sum(self.lengths)

    def fill(self, out: np.ndarray, *, add: bool = False) -> None:
        """Write (or with ``add``, mix) the next ``len(out)`` samples into ``out`` (float32, at most ``max_block``)."""
        total = out.shape[0]
        if total > self.max_block:
            raise ValueError(f"tone voice: block of {total} samples is longer than max_block {self.max_block}")
        where = self._where
        index, k = where[0], where[1]
        segments = len(self.segments)
        # np.dot is the cheapest call for a contiguous float32 destination; matmul takes any other.
        product = np.dot if not add and out.flags.c_contiguous and out.dtype == np.float32 else np.matmul
        pos = 0
        while pos < total and index < segments:
            length = self.lengths[index]
            n = min(length - k, total - pos)
            dest = out if n == total else out[pos:pos + n]
            table = self._tables[index]
            if table is None:
                if not add:
                    dest.fill(0.0)
            else:
                coef = self._coef_views[index]
                amps = self._amps[index]
                for slot, step in enumerate(self._steps[index]):
                    cycles = self._phase[slot] + k * step
                    p = 2.0 * math.pi * (cycles - math.floor(cycles))
                    coef[2 * slot] = amps[slot] * math.sin(p)
                    coef[2 * slot + 1] = amps[slot] * math.cos(p)
                rows = table if n == self.max_block else table[:n]
                if add:
                    part = self._scratch[:n]
                    np.matmul(rows, self._coef[index], out=part)
                    np.add(dest, part, out=dest, casting="same_kind")
                else:
                    product(rows, self._coef[index], out=dest)
            k += n
            pos += n
            if k == length:
                self._next_segment(index)
                index, k = where[0], 0
        where[1] = k
        if pos < total and not add:
            out[pos:].fill(0.0)

    def _next_segment(self, index: int) -> None:
        phase = self._phase
        if self.segments[index].silent:
            phase[0] = phase[1] = 0.0  # after a silence every tone restarts at a zero crossing
        else:
            for slot, step in enumerate(self._steps[index]):
                end = phase[slot] + self.lengths[index] * step
                phase[slot] = end - math.floor(end)
        self._where[0] = index + 1
        self._where[1] = 0
        self._skip_empty()

    def _skip_empty(self) -> None:
        where = self._where
        while True:
            if where[0] >= len(self.segments):
                if not self.repeat:
                    return
                where[0] = 0
            if self.lengths[where[0]] > 0:
                return
            where[0] += 1


class _OnePass:
    """A voice that plays ``_length`` samples once; ``_position`` counts them (a C array, for the
    same reason as ToneVoice's state)."""

    _position: array
    _length: int

    @property
    def position(self) -> int:
        return self._position[0]

    @property
    def done(self) -> bool:
        return self._position[0] >= self._length


class ClipVoice(_OnePass):
    """Plays ``samples`` (float32, at the stream rate) once, then silence."""

    def __init__(self, samples: np.ndarray) -> None:
        if samples.ndim != 1:
            raise ValueError(f"clip voice: samples must be one channel, got shape {samples.shape}")
        self.samples = np.ascontiguousarray(samples, dtype=np.float32)
        self._position = array("q", [0])
        self._length = self.samples.shape[0]

    def fill(self, out: np.ndarray, *, add: bool = False) -> None:
        total = out.shape[0]
        start = self._position[0]
        n = max(0, min(total, self._length - start))
        if n:
            part = self.samples[start:start + n]
            dest = out if n == total else out[:n]
            if add:
                np.add(dest, part, out=dest)
            else:
                np.copyto(dest, part)
            self._position[0] = start + n
        if n < total and not add:
            out[n:].fill(0.0)


class RecallVoice(_OnePass):
    """Plays an instant-recall recording (8 kHz int16) at the stream rate, upsampled a block at a time
    (app/dsp/recall.py ``UpsampleBank``: the samples ``upsample`` would give, one matmul a block).

    Why not a ClipVoice of the upsampled recording: the audio process receives each new voice by
    unpickling it while holding the GIL the callback needs, and 20 s at 48 kHz is 3.8 MB to copy;
    at 8 kHz int16 it is 320 kB. The bank (a few hundred kB, the same for every replay) is made by
    the receiving process, not sent.
    """

    def __init__(self, samples: np.ndarray, rate: int, *, max_block: int = 1024) -> None:
        if samples.ndim != 1:
            raise ValueError(f"recall voice: samples must be one channel, got shape {samples.shape}")
        self.samples = np.ascontiguousarray(samples, dtype=np.int16)
        self.rate = rate
        self.max_block = max_block
        self._length = self.samples.shape[0] * rate_factor(rate)
        self._position = array("q", [0])
        self._setup()

    def _setup(self) -> None:
        self._bank = upsample_bank(self.rate, self.max_block)
        self._window = np.zeros(self._bank.window, dtype=np.float32)
        self._scratch = np.zeros(self.max_block, dtype=np.float32)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        for made_here in ("_bank", "_window", "_scratch"):
            del state[made_here]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._setup()

    def fill(self, out: np.ndarray, *, add: bool = False) -> None:
        total = out.shape[0]
        if total > self.max_block:
            raise ValueError(f"recall voice: block of {total} samples is longer than max_block {self.max_block}")
        start = self._position[0]
        n = max(0, min(total, self._length - start))
        if n:
            bank, window, samples = self._bank, self._window, self.samples
            phase = start % bank.factor
            first = start // bank.factor + bank.offsets[phase]
            lo, hi = max(first, 0), min(first + bank.window, samples.shape[0])
            window.fill(0.0)  # before the recording's start and after its end
            if hi > lo:
                np.copyto(window[lo - first:hi - first], samples[lo:hi])
            matrix = bank.matrices[phase]
            rows = matrix if n == bank.max_block else matrix[:n]
            dest = out if n == total else out[:n]
            if add:
                part = self._scratch[:n]
                np.dot(rows, window, out=part)
                np.add(dest, part, out=dest)
            elif dest.flags.c_contiguous and dest.dtype == np.float32:
                np.dot(rows, window, out=dest)
            else:
                np.dot(rows, window, out=self._scratch[:n])
                np.copyto(dest, self._scratch[:n])
            self._position[0] = start + n
        if n < total and not add:
            out[n:].fill(0.0)


class TrcVoice:
    """Tone-remote keying: HLGT + function tone, then the low-level guard tone held until stopped.

    ``keying_left`` is the number of keying samples not yet played (0 once the LLGT has begun): the
    engine keeps the voice path of the line closed until then, to the sample.
    """

    def __init__(self, function_hz: float | str, rate: int, *, test_level_dbfs: float = TEST_LEVEL_DBFS,
                 hlgt_s: float = trc.HLGT_S, max_block: int = 1024) -> None:
        self.function_hz = trc.function_tone(function_hz)
        self.keying = ToneVoice(trc.keying_sequence(self.function_hz, hlgt_s=hlgt_s,
                                                    test_level_dbfs=test_level_dbfs), rate, max_block=max_block)
        self.hold = ToneVoice(trc.llgt(rate, test_level_dbfs=test_level_dbfs).segments, rate, repeat=True,
                              max_block=max_block)
        self._left = array("q", [self.keying.total_samples])
        self.done = False  # held until the engine stops it (unkey)

    @property
    def keying_left(self) -> int:
        """Keying samples not yet played; 0 once the low-level guard tone has begun."""
        return self._left[0]

    @property
    def ready(self) -> bool:
        """The keying tones are over: the voice path may pass."""
        return self._left[0] == 0

    def fill(self, out: np.ndarray, *, add: bool = False) -> None:
        total = out.shape[0]
        left = self._left[0]
        if left == 0:
            self.hold.fill(out, add=add)
        elif left >= total:
            self.keying.fill(out, add=add)
            self._left[0] = left - total
        else:
            self.keying.fill(out[:left], add=add)
            self.hold.fill(out[left:], add=add)
            self._left[0] = 0
