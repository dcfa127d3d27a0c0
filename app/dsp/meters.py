"""Peak and RMS meters in dBFS per column of a block, into a preallocated array (pure; no Qt).

Row 0 of the result is peak, row 1 RMS. Full scale is 1.0, so a full-scale sine reads 0 dBFS peak
and -3.01 dBFS RMS; silence reads ``FLOOR_DBFS``. ``measure`` allocates nothing: it works in
scratch buffers made once for the block shape, which is why a ``Meter`` is tied to one shape.
"""

from __future__ import annotations

import numpy as np

FLOOR_DBFS = -120.0
_FLOOR_AMPLITUDE = np.float32(10.0 ** (FLOOR_DBFS / 20.0))
_FLOOR_POWER = np.float32(10.0 ** (FLOOR_DBFS / 10.0))


class Meter:
    def __init__(self, frames: int, columns: int) -> None:
        self.frames = frames
        self.columns = columns
        self.levels = np.full((2, columns), FLOOR_DBFS, dtype=np.float32)  # read by the GUI poll
        self._scratch = np.empty((frames, columns), dtype=np.float32)
        self._peak = self.levels[0]
        self._rms = self.levels[1]
        self._inv_frames = np.float32(1.0 / frames)

    def measure(self, block: np.ndarray) -> np.ndarray:
        """Meter a (frames, columns) float32 block; returns ``levels`` (the same array every time)."""
        s = self._scratch
        np.abs(block, out=s)
        np.maximum.reduce(s, axis=0, out=self._peak)
        np.maximum(self._peak, _FLOOR_AMPLITUDE, out=self._peak)
        np.log10(self._peak, out=self._peak)
        np.multiply(self._peak, np.float32(20.0), out=self._peak)
        np.square(block, out=s)
        np.add.reduce(s, axis=0, out=self._rms)
        np.multiply(self._rms, self._inv_frames, out=self._rms)
        np.maximum(self._rms, _FLOOR_POWER, out=self._rms)
        np.log10(self._rms, out=self._rms)
        np.multiply(self._rms, np.float32(10.0), out=self._rms)
        return self.levels
