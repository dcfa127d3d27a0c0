"""Block biquad: the matrix form matches the per-sample recursion (NotchFilter's loop) to float32 precision
across many blocks, filters columns independently, keeps its state, and allocates nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.dsp import trc
from app.dsp.blockiir import BlockBiquad, block_matrix
from app.dsp.measure import tone_level_dbfs
from tests.allocations import steady_state_allocations


def per_sample(notch: trc.NotchFilter, x: np.ndarray) -> np.ndarray:
    """The reference: NotchFilter's float64 loop over each column."""
    y = x.astype(np.float64).copy()
    for c in range(y.shape[1]):
        notch.reset()
        notch.process(y[:, c])
    return y


@pytest.mark.parametrize("frames", [1, 7, 64, 128, 256])
@pytest.mark.parametrize("rate", [8000, 48000])
def test_blocks_match_the_per_sample_recursion(frames, rate):
    blocks, columns = max(40, 12_000 // frames), 3
    x = np.random.default_rng(frames).uniform(-1.0, 1.0, (frames * blocks, columns)).astype(np.float32)
    bq = trc.block_notch(rate, frames, columns)
    y = x.copy()
    for b in range(blocks):
        bq.process(y[b * frames:(b + 1) * frames])
    want = per_sample(trc.NotchFilter(rate), x)
    assert np.abs(y - want).max() < 2e-6  # float32 precision: full-scale noise, errors do not build up


def test_fast_path_input_run_and_state():
    frames = 64
    notch = trc.NotchFilter(48000)
    b, a = notch.coefficients
    bq = BlockBiquad(b, a, frames, 2)
    x = np.random.default_rng(2).uniform(-0.5, 0.5, (frames * 30, 2)).astype(np.float32)
    y = np.empty_like(x)
    for k in range(30):
        np.copyto(bq.input, x[k * frames:(k + 1) * frames])
        y[k * frames:(k + 1) * frames] = bq.run()
    assert np.abs(y - per_sample(notch, x)).max() < 2e-6
    # The state is the transposed-direct-form-II (z1, z2) the recursion would carry.
    ref = trc.NotchFilter(48000)
    ref.process(x[:, 1].astype(np.float64).copy())
    np.testing.assert_allclose(bq.state[:, 1], [ref._z1, ref._z2], rtol=0, atol=1e-6)
    bq.reset()
    assert not bq.state.any()


def test_columns_are_independent():
    frames = 32
    bq = trc.block_notch(8000, frames, 2)
    impulse = np.zeros((frames * 4, 2), dtype=np.float32)
    impulse[0, 0] = 1.0
    for k in range(4):
        bq.process(impulse[k * frames:(k + 1) * frames])
    assert not impulse[:, 1].any()  # nothing leaks from column 0 into column 1
    assert impulse[0, 0] == pytest.approx(trc.NotchFilter(8000).b0, rel=1e-6)


def test_the_block_notch_removes_the_guard_tone_and_passes_voice():
    rate, frames = 48000, 128
    n = np.arange(rate)
    signal = np.stack([0.5 * np.sin(2 * np.pi * trc.GUARD_HZ * n / rate),
                       0.5 * np.sin(2 * np.pi * 1000.0 * n / rate)], axis=1).astype(np.float32)
    out = signal[:(rate // frames) * frames].copy()
    bq = trc.block_notch(rate, frames, 2)
    for k in range(out.shape[0] // frames):
        bq.process(out[k * frames:(k + 1) * frames])
    settled = slice(rate // 4, out.shape[0])
    guard = trc.GUARD_HZ
    depth = tone_level_dbfs(signal[settled, 0], guard, rate) - tone_level_dbfs(out[settled, 0], guard, rate)
    assert depth >= 60.0
    gain = tone_level_dbfs(out[settled, 1], 1000.0, rate) - tone_level_dbfs(signal[settled, 1], 1000.0, rate)
    assert abs(gain) <= 0.1


def test_any_biquad_not_just_the_notch():
    # A one-pole-like low-pass written as a biquad: y = 0.1 x + 0.9 y[-1].
    frames = 50
    bq = BlockBiquad((0.1, 0.0, 0.0), (-0.9, 0.0), frames)
    step = np.ones(frames * 3, dtype=np.float32)
    for k in range(3):
        bq.process(step[k * frames:(k + 1) * frames])
    want = 1.0 - 0.9 ** np.arange(1, frames * 3 + 1)
    np.testing.assert_allclose(step, want, rtol=0, atol=1e-6)


def test_block_matrix_shape_and_errors():
    M = block_matrix((1.0, 0.0, 0.0), (0.0, 0.0), 4)  # identity filter: y = x, state stays zero
    assert M.shape == (6, 6)
    np.testing.assert_array_equal(M[:4, :4], np.eye(4))
    assert not M[4:, :4].any()
    with pytest.raises(ValueError, match="frames must be at least 1"):
        block_matrix((1.0, 0.0, 0.0), (0.0, 0.0), 0)
    with pytest.raises(ValueError, match="columns must be at least 1"):
        BlockBiquad((1.0, 0.0, 0.0), (0.0, 0.0), 4, 0)


def test_run_allocates_nothing():
    bq = trc.block_notch(48000, 128, 2)
    block = np.random.default_rng(1).uniform(-0.5, 0.5, (128, 2)).astype(np.float32)

    def step() -> None:
        np.copyto(bq.input, block)
        bq.run()

    found = steady_state_allocations(step)
    assert found.grown == []
    assert found.peak_bytes < 2048
    assert math.isfinite(float(bq.state.sum()))
