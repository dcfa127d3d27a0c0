"""Receive audio of simulated radios, for the null sound device's input block.

The demo runs on a clock-driven null device; this fills each simulated radio's receive column with
its speech-like audio while its carrier is up, so meters, recall and the mixer see real signal.
Runs in the audio callback: one scratch buffer, made once, nothing allocated per block.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import numpy as np


class ReceiveAudio(Protocol):
    def fill_rx(self, out: np.ndarray) -> None: ...


class SimReceiveInputs:
    """``columns`` maps an input column to the simulated radio whose receive audio it carries."""

    def __init__(self, columns: Mapping[int, ReceiveAudio], max_block: int = 4096) -> None:
        self._columns = tuple(columns.items())
        self._scratch = np.zeros(max_block, dtype=np.float32)

    def __call__(self, inp: np.ndarray) -> None:
        frames = inp.shape[0]
        if frames > self._scratch.shape[0]:
            self._scratch = np.zeros(frames, dtype=np.float32)  # once, for a bigger block than planned
        block = self._scratch[:frames]
        for column, radio in self._columns:
            if column < inp.shape[1]:
                radio.fill_rx(block)
                inp[:, column] = block
