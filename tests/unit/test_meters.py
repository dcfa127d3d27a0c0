"""Meters: exact readings of known signals, two blocks metered as one, odd block sizes, no allocation."""

from __future__ import annotations

import numpy as np
import pytest

from app.dsp.meters import FLOOR_DBFS, Meter, _fold_factor
from tests.allocations import steady_state_allocations


def reference(block: np.ndarray) -> np.ndarray:
    x = block.astype(np.float64)
    peak = np.maximum(np.abs(x).max(axis=0), 1e-6)
    rms = np.maximum(np.sqrt((x * x).mean(axis=0)), 1e-6)
    return np.stack([20 * np.log10(peak), 20 * np.log10(rms)])


@pytest.mark.parametrize("frames", [1, 7, 64, 127, 128, 441, 480])
def test_readings_match_a_float64_reference(frames):
    rng = np.random.default_rng(frames)
    block = rng.uniform(-1, 1, (frames, 5)).astype(np.float32) * np.float32([1.0, 0.5, 0.01, 0.0, 1e-7])
    meter = Meter(frames, 5)
    np.testing.assert_allclose(meter.measure(block), reference(block), rtol=0, atol=1e-3)


def test_known_signals():
    frames = 480
    t = np.arange(frames) / 48_000
    sine = np.sin(2 * np.pi * 1000 * t + np.pi / 2)  # 10 whole periods, peak sample exactly 1.0
    block = np.stack([sine, np.zeros(frames), 0.5 * np.ones(frames), -np.ones(frames)], axis=1).astype(np.float32)
    levels = Meter(frames, 4).measure(block)
    assert levels[0].tolist() == pytest.approx([0.0, FLOOR_DBFS, -6.0206, 0.0], abs=1e-4)
    assert levels[1].tolist() == pytest.approx([-3.0103, FLOOR_DBFS, -6.0206, 0.0], abs=1e-4)


def test_a_pair_reads_what_two_meters_read():
    rng = np.random.default_rng(3)
    first = rng.uniform(-0.7, 0.7, (128, 6)).astype(np.float32)
    second = rng.uniform(-0.2, 0.2, (128, 3)).astype(np.float32)
    pair = Meter(128, 9, split=6)
    levels = pair.measure_pair(first, second)
    assert levels is pair.levels
    np.testing.assert_array_equal(levels[:, :6], Meter(128, 6).measure(first))
    np.testing.assert_array_equal(levels[:, 6:], Meter(128, 3).measure(second))
    with pytest.raises(ValueError, match="needs a Meter made with split="):
        Meter(128, 9).measure_pair(first, second)
    with pytest.raises(ValueError, match="split 10 is outside 0..9"):
        Meter(128, 9, split=10)


def test_fold_factor_is_a_divisor_near_the_square_root():
    assert [_fold_factor(n) for n in (1, 64, 128, 256, 441, 480, 127)] == [1, 8, 8, 16, 21, 20, 1]


def test_measuring_allocates_nothing():
    pair = Meter(128, 40, split=32)
    a = np.random.default_rng(1).uniform(-1, 1, (128, 32)).astype(np.float32)
    b = np.random.default_rng(2).uniform(-1, 1, (128, 8)).astype(np.float32)
    found = steady_state_allocations(lambda: pair.measure_pair(a, b))
    assert found.grown == []
    assert found.peak_bytes < 2048  # reduce iterators only; either block alone is 4 KB or more


def test_levels_only_ever_hold_finished_db_values():
    """The GUI polls ``levels`` from another thread: the linear powers worked out on the way must
    never show there (a silent channel would flash 0 dBFS)."""
    import numpy as np

    from app.dsp.meters import FLOOR_DBFS, Meter

    meter = Meter(64, 2)
    seen = []
    original = np.log10

    def spy(*args, **kwargs):
        seen.append(meter.levels.copy())  # what a reader would see mid-conversion
        return original(*args, **kwargs)

    np.log10 = spy
    try:
        meter.measure(np.zeros((64, 2), dtype=np.float32))
    finally:
        np.log10 = original
    assert seen and all((snapshot <= FLOOR_DBFS + 1).all() for snapshot in seen)
