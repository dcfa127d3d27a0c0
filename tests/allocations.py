"""Proof that an audio-path function allocates nothing at steady state (tracemalloc over many calls)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import app.audio
import app.dsp

DSP_FILES = str(Path(app.dsp.__file__).parent) + "/*"
AUDIO_FILES = str(Path(app.audio.__file__).parent) + "/*"  # the engine and its voices


@dataclass(frozen=True)
class Allocations:
    grown: list  # tracemalloc statistics of app/dsp and app/audio lines holding more memory after the run than before
    peak_bytes: int  # the most memory held at once above the start, anywhere (transient objects included)


def steady_state_allocations(step: Callable[[], object], repeats: int = 1000, warmup: int = 20) -> Allocations:
    """Run ``step`` ``warmup`` times untraced (scratch buffers and caches settle), then ``repeats`` times traced."""
    for _ in range(warmup):
        step()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        for _ in range(repeats):
            step()
        _, peak = tracemalloc.get_traced_memory()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    only_dsp = [tracemalloc.Filter(True, DSP_FILES), tracemalloc.Filter(True, AUDIO_FILES)]
    grown = [s for s in after.filter_traces(only_dsp).compare_to(before.filter_traces(only_dsp), "lineno")
             if s.size_diff > 0 or s.count_diff > 0]
    return Allocations(grown, peak - base)
