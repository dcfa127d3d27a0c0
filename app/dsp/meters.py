"""Peak and RMS meters in dBFS per column of a block, into a preallocated array (pure; no Qt).

Row 0 of the result is peak, row 1 RMS. Full scale is 1.0, so a full-scale sine reads 0 dBFS peak
and -3.01 dBFS RMS; silence reads ``FLOOR_DBFS`` (to float32 precision). ``measure`` allocates no
arrays: it works in scratch buffers made once for the block shape, which is why a ``Meter`` is tied to one shape.

Why it is written this way: the meter runs in the audio callback on every block, where each NumPy
call costs about a microsecond whatever its size. So one square feeds both readings (the peak is
kept as peak power: 10 log10(max x^2) = 20 log10(max |x|)), the mean square is one matrix-vector
product with 1/frames weights, and floor, log and scale run once on both rows together. The peak
is two short reductions instead of one over every row: NumPy's reduce along axis 0 costs about
30 ns a row, so (frames, columns) is read as (frames/F, F*columns), then (F, columns).

``measure_pair`` meters two blocks (the engine's inputs and outputs) into one ``levels`` array. Each
block is squared into its own contiguous buffer: writing them side by side into one strided buffer
would make NumPy allocate a block-sized iteration buffer on every call.
"""

from __future__ import annotations

import numpy as np

FLOOR_DBFS = -120.0
_FLOOR_POWER = np.float32(10.0 ** (FLOOR_DBFS / 10.0))
_TEN = np.float32(10.0)


class _Part:
    """Scratch for metering ``columns`` columns into ``peak`` and ``mean`` (rows of a levels array)."""

    def __init__(self, frames: int, columns: int, peak: np.ndarray, mean: np.ndarray) -> None:
        self.columns = columns
        self.power = np.empty((frames, columns), dtype=np.float32)
        fold = _fold_factor(frames)
        self.wide = self.power.reshape(frames // fold, fold * columns)
        self.partial = np.empty(fold * columns, dtype=np.float32)
        self.narrow = self.partial.reshape(fold, columns)
        self.peak, self.mean = peak, mean

    def measure(self, block: np.ndarray, weights: np.ndarray) -> None:
        np.square(block, out=self.power)
        np.maximum.reduce(self.wide, axis=0, out=self.partial)
        np.maximum.reduce(self.narrow, axis=0, out=self.peak)
        np.matmul(weights, self.power, out=self.mean)


class Meter:
    def __init__(self, frames: int, columns: int, split: int | None = None, *,
                 levels: np.ndarray | None = None) -> None:
        """``split``: for ``measure_pair``, how many of the ``columns`` the first block has.
        ``levels``: a (2, columns) float32 array to write into (shared memory), instead of a new one."""
        self.frames = frames
        self.columns = columns
        if levels is None:
            levels = np.full((2, columns), FLOOR_DBFS, dtype=np.float32)
        elif levels.shape != (2, columns) or levels.dtype != np.float32:
            raise ValueError(f"meter: levels must be float32 (2, {columns}), got {levels.dtype} {levels.shape}")
        self.levels = levels  # read by the GUI poll
        # Powers are worked out in here and only finished dB values are copied to ``levels``: a reader
        # polling from another thread (or process) never sees a half-converted linear power.
        self._work = np.full((2, columns), FLOOR_DBFS, dtype=np.float32)
        work = self._work
        self._weights = np.full(frames, 1.0 / frames, dtype=np.float32)  # the mean over the block as a product
        whole = _Part(frames, columns, work[0], work[1])
        self._whole = whole
        self._pair: tuple[_Part, _Part] | None = None
        if split is not None:
            if not 0 <= split <= columns:
                raise ValueError(f"meter: split {split} is outside 0..{columns}")
            self._pair = (_Part(frames, split, work[0, :split], work[1, :split]),
                          _Part(frames, columns - split, work[0, split:], work[1, split:]))

    def measure(self, block: np.ndarray) -> np.ndarray:
        """Meter a (frames, columns) float32 block; returns ``levels`` (the same array every time)."""
        self._whole.measure(block, self._weights)
        return self._to_db()

    def measure_pair(self, first: np.ndarray, second: np.ndarray) -> np.ndarray:
        """Meter two blocks of ``frames`` rows as one: ``first``'s ``split`` columns, then ``second``'s."""
        if self._pair is None:
            raise ValueError("meter: measure_pair needs a Meter made with split=")
        self._pair[0].measure(first, self._weights)
        self._pair[1].measure(second, self._weights)
        return self._to_db()

    def _to_db(self) -> np.ndarray:
        work = self._work
        np.maximum(work, _FLOOR_POWER, out=work)
        np.log10(work, out=work)
        np.multiply(work, _TEN, out=work)
        np.copyto(self.levels, work)
        return self.levels


def _fold_factor(frames: int) -> int:
    """The divisor of ``frames`` nearest its square root (fewest rows over both reductions)."""
    return min((f for f in range(1, frames + 1) if frames % f == 0), key=lambda f: (frames // f + f, f))
