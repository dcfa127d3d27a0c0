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


class SimPhoneLine:
    """The far end of the phone line on the null device: audio queued with ``play`` (e.g. a caller's
    TTY) comes in on phone_rx, then silence. ``play`` from any thread; ``fill_rx`` in the callback."""

    def __init__(self) -> None:
        self._clip: np.ndarray | None = None
        self._pos = 0

    def play(self, samples: np.ndarray) -> None:
        """Queue float32 mono audio at the stream rate (replaces anything still playing)."""
        clip = np.ascontiguousarray(samples, dtype=np.float32)
        self._pos = 0
        self._clip = clip

    @property
    def playing(self) -> bool:
        clip = self._clip
        return clip is not None and self._pos < len(clip)

    def fill_rx(self, out: np.ndarray) -> None:
        clip = self._clip
        if clip is None:
            out.fill(0.0)
            return
        pos = self._pos
        take = max(0, min(len(out), len(clip) - pos))
        out[:take] = clip[pos:pos + take]
        out[take:] = 0.0
        self._pos = pos + take
