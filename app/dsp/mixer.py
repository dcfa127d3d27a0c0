"""The audio callback's block: ``out = inp @ plan.G``, then meters (pure; no Qt).

Why no lock: the control thread publishes a new plan with one attribute assignment
(``self._plan = plan``), and ``process`` reads that attribute once per block into a local. In
CPython both are single bytecode operations on one reference, so the callback sees either the old
plan or the new one, never a mix; plans are immutable (read-only arrays in a frozen dataclass), so
nothing changes under the callback while it uses one. A swap takes effect on the next block.

``process`` allocates nothing: the matmul writes into the caller's ``out`` and the meters work in
buffers made here once (tests/unit/test_mixer.py checks this with tracemalloc).
"""

from __future__ import annotations

import numpy as np

from app.dsp.meters import Meter
from app.dsp.mixplan import MixPlan


class BlockMixer:
    def __init__(self, n_in: int, n_out: int, frames: int, plan: MixPlan) -> None:
        self.n_in = n_in
        self.n_out = n_out
        self.frames = frames
        self._check(plan)
        self._plan = plan
        self._in_meter = Meter(frames, n_in)
        self._out_meter = Meter(frames, n_out)
        # The GUI polls these (~30 Hz); a torn read between two blocks only mixes two meter readings.
        self.input_levels = self._in_meter.levels
        self.output_levels = self._out_meter.levels

    def _check(self, plan: MixPlan) -> None:
        G = plan.G
        if G.shape != (self.n_in, self.n_out) or G.dtype != np.float32 or not G.flags.c_contiguous:
            raise ValueError(
                f"mix plan: G must be C-contiguous float32 {(self.n_in, self.n_out)}, got {G.dtype} {G.shape}"
            )

    @property
    def plan(self) -> MixPlan:
        return self._plan

    def set_plan(self, plan: MixPlan) -> None:
        """Control thread: publish a new plan (one reference assignment; see the module docstring)."""
        self._check(plan)
        self._plan = plan

    def process(self, inp: np.ndarray, out: np.ndarray) -> None:
        """Callback: inp (frames, n_in) and out (frames, n_out), both float32 C-contiguous."""
        plan = self._plan  # read once: the whole block uses one plan
        np.matmul(inp, plan.G, out=out)
        self._in_meter.measure(inp)
        self._out_meter.measure(out)
