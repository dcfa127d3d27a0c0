"""Software carrier (VOX / squelch) from receive levels, for radios with no COR line (pure; no Qt).

The caller feeds one level reading (dBFS) at a time with the time it was read. The channel opens
once the level has stayed at or above the threshold for ``attack_s`` (a click or a burst of noise
shorter than that does not open it) and closes once it has stayed below for ``hang_s`` (the gaps
between words do not close it). Times are the caller's clock, so a test drives it exactly.
"""

from __future__ import annotations

import math

# Readings this close to a limit count as having reached it (clock values summed from steps are not exact).
TIME_EPSILON_S = 1e-6


class VoxDetector:
    def __init__(self, threshold_dbfs: float = -40.0, attack_s: float = 0.030, hang_s: float = 0.800) -> None:
        if not math.isfinite(threshold_dbfs):
            raise ValueError(f"vox: threshold {threshold_dbfs!r} dBFS is not a number")
        if attack_s < 0 or hang_s < 0:
            raise ValueError(f"vox: attack ({attack_s:g} s) and hang ({hang_s:g} s) must not be negative")
        self.threshold_dbfs = threshold_dbfs
        self.attack_s = attack_s
        self.hang_s = hang_s
        self.active = False
        self._since: float | None = None  # when the level crossed to the side that would flip the state

    def update(self, level_dbfs: float, t: float) -> bool | None:
        """One reading at time ``t`` (seconds); the new state when it flips, else None."""
        above = level_dbfs >= self.threshold_dbfs  # NaN (a broken reading) counts as below
        if above == self.active:
            self._since = None  # back on the side that keeps the state: start counting afresh
            return None
        if self._since is None:
            self._since = t
        if t - self._since + TIME_EPSILON_S < (self.hang_s if self.active else self.attack_s):
            return None
        self.active = above
        self._since = None
        return self.active

    def reset(self) -> bool | None:
        """Close at once (the audio stopped coming); False when it was open, else None."""
        self._since = None
        if not self.active:
            return None
        self.active = False
        return False
