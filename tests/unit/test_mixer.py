"""Block mixer and meters: float64 reference, plan swap timing, no allocation, exact meter readings."""

from __future__ import annotations

import time

import numpy as np
import pytest

from app.dsp.meters import FLOOR_DBFS, Meter
from app.dsp.mixer import BlockMixer
from app.dsp.mixplan import MixPlan
from tests.allocations import steady_state_allocations


def plan_of(g: np.ndarray) -> MixPlan:
    G = np.ascontiguousarray(g, dtype=np.float32)
    return MixPlan(G=G, transmit_outputs=frozenset(), live_transmit=frozenset(),
                   replay_gains=np.zeros(G.shape[1], dtype=np.float32))


def blocks(n_in: int, frames: int, count: int, seed: int = 1) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (frames, n_in)).astype(np.float32) for _ in range(count)]


def test_output_equals_float64_reference():
    rng = np.random.default_rng(7)
    g = rng.uniform(-1, 1, (5, 7))
    mixer = BlockMixer(5, 7, 64, plan_of(g))
    out = np.empty((64, 7), dtype=np.float32)
    for inp in blocks(5, 64, 10):
        mixer.process(inp, out)
        ref = inp.astype(np.float64) @ np.float32(g).astype(np.float64)
        np.testing.assert_allclose(out, ref, rtol=0, atol=1e-5)


def test_plan_swap_takes_effect_on_the_next_block():
    a, b = np.eye(3, 2), np.fliplr(np.eye(3, 2)) * 0.5
    mixer = BlockMixer(3, 2, 16, plan_of(a))
    inp = blocks(3, 16, 1)[0]
    out = np.empty((16, 2), dtype=np.float32)
    mixer.process(inp, out)
    np.testing.assert_array_equal(out, inp[:, :2])
    mixer.set_plan(plan_of(b))
    mixer.process(inp, out)
    np.testing.assert_array_equal(out, inp @ np.float32(b))
    with pytest.raises(ValueError, match=r"C-contiguous float32 \(3, 2\)"):
        mixer.set_plan(plan_of(np.eye(2)))


def test_steady_state_allocates_nothing():
    mixer = BlockMixer(32, 8, 128, plan_of(np.random.default_rng(3).uniform(0, 1, (32, 8))))
    inp = blocks(32, 128, 1)[0]
    out = np.empty((128, 8), dtype=np.float32)
    found = steady_state_allocations(lambda: mixer.process(inp, out))
    assert found.grown == []
    # What remains are transient interpreter objects numpy's calls make and free (~1 KB, the same after
    # 1 block or 1000): far below the smallest block buffer (8 columns x 128 frames x 4 bytes = 4 KiB).
    assert found.peak_bytes < 2048


def test_meters_on_known_signals():
    frames = 480
    t = np.arange(frames) / 48_000
    sine = np.sin(2 * np.pi * 1000 * t + np.pi / 2)  # 10 whole periods, peak sample exactly 1.0
    block = np.stack([sine, np.zeros(frames), 0.5 * np.ones(frames)], axis=1).astype(np.float32)
    meter = Meter(frames, 3)
    levels = meter.measure(block)
    assert levels is meter.levels
    assert levels[0].tolist() == pytest.approx([0.0, FLOOR_DBFS, -6.0206], abs=1e-3)
    assert levels[1].tolist() == pytest.approx([-3.0103, FLOOR_DBFS, -6.0206], abs=1e-3)


def test_mixer_meters_inputs_and_outputs():
    mixer = BlockMixer(2, 1, 32, plan_of(np.array([[0.5], [0.0]])))
    inp = np.zeros((32, 2), dtype=np.float32)
    inp[:, 0] = 1.0
    out = np.empty((32, 1), dtype=np.float32)
    mixer.process(inp, out)
    assert mixer.input_levels[0].tolist() == pytest.approx([0.0, FLOOR_DBFS], abs=1e-4)
    assert mixer.output_levels[:, 0].tolist() == pytest.approx([-6.0206, -6.0206], abs=1e-3)


def test_process_time_32x8_at_128_frames():
    """Quick check, printed not asserted: `bench audio` owns the budget (median <= 80 us)."""
    mixer = BlockMixer(32, 8, 128, plan_of(np.random.default_rng(5).uniform(0, 1, (32, 8))))
    inp = blocks(32, 128, 1)[0]
    out = np.empty((128, 8), dtype=np.float32)
    times = []
    for _ in range(2000):
        t0 = time.perf_counter_ns()
        mixer.process(inp, out)
        times.append(time.perf_counter_ns() - t0)
    times.sort()
    print(f"BlockMixer.process 32x8x128: median {times[1000] / 1000:.1f} us, p99 {times[1980] / 1000:.1f} us")
