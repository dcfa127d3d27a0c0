"""Instant recall recorder: decimation against a float64 reference, ring wrap, transmission index, budget."""

from __future__ import annotations

import numpy as np
import pytest

from app.dsp.measure import peak_frequency, tone_level_dbfs
from app.dsp.recall import (
    CUTOFF_HZ,
    FACTOR,
    FULL_SCALE,
    OUT_RATE,
    RecallRecorder,
    design_lowpass,
    rate_factor,
    taps_for,
    upsample,
)
from tests.allocations import steady_state_allocations

FRAMES = 128


def reference(x: np.ndarray) -> np.ndarray:
    """float64 decimation of one channel: y[n] = sum_j h[j] x[6n - j], quantized like the recorder."""
    y = np.convolve(x.astype(np.float64), design_lowpass())[: len(x)][::FACTOR]
    return np.clip(np.rint(y * FULL_SCALE), -FULL_SCALE - 1, FULL_SCALE).astype(np.int64)


def noise(frames: int, channels: int, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (frames, channels)).astype(np.float32)


def feed(rec: RecallRecorder, x: np.ndarray, start_block: int, end_block: int) -> None:
    for b in range(start_block, end_block):
        rec.write(x[b * FRAMES:(b + 1) * FRAMES])


def test_ring_wraps_and_holds_the_latest_samples():
    rec = RecallRecorder(channels=2, frames=FRAMES, seconds=0.05)  # 400 samples at 8 kHz
    x = noise(FRAMES * 60, 2)
    feed(rec, x, 0, 60)
    assert rec.written == FRAMES * 60 // FACTOR == 1280 > rec.capacity == 400
    for c in range(2):
        want = reference(x[:, c])[rec.written - rec.capacity:]
        got = rec.samples(c, 0, rec.written).astype(np.int64)
        assert len(got) == rec.capacity
        assert np.abs(got - want).max() <= 1  # float32 filter vs float64 reference: one LSB of rounding


def test_last_transmission_is_exactly_the_carrier_span():
    rec = RecallRecorder(channels=3, frames=FRAMES, seconds=1.0)
    x = noise(FRAMES * 40, 3, seed=5)
    assert rec.last_transmission(1).size == 0
    feed(rec, x, 0, 7)
    tx = rec.carrier_on(1, wall=1000.0)
    feed(rec, x, 7, 19)
    rec.carrier_off(1, wall=1001.5)
    feed(rec, x, 19, 40)
    assert (tx.start, tx.end) == (-(-7 * FRAMES // FACTOR), -(-19 * FRAMES // FACTOR))  # outputs at inputs 0, 6, 12...
    got = rec.last_transmission(1).astype(np.int64)
    want = reference(x[:, 1])[tx.start:tx.end]
    assert len(got) == tx.end - tx.start
    assert np.abs(got - want).max() <= 1
    tx.unit_id = "4521"  # identified later
    assert rec.transmissions(1)[-1].unit_id == "4521" and rec.transmissions(0) == []


def test_columns_pick_receive_inputs_from_a_wider_block():
    rec = RecallRecorder(channels=2, frames=FRAMES, seconds=1.0, columns=(3, 1))
    x = noise(FRAMES * 10, 5, seed=9)
    feed(rec, x, 0, 10)
    for c, col in enumerate((3, 1)):
        assert np.abs(rec.samples(c, 0, rec.written) - reference(x[:, col])).max() <= 1
    with pytest.raises(ValueError, match="1 columns given for 2 channels"):
        RecallRecorder(channels=2, frames=FRAMES, columns=(0,))


def test_decimation_attenuates_6_khz_by_60_db():
    """A 6 kHz tone would alias to 2 kHz at 8 kHz; the filter takes it >= 60 dB below a 1 kHz tone."""
    t = np.arange(FRAMES * 200) / 48_000
    x = np.stack([0.9 * np.sin(2 * np.pi * 1000 * t), 0.9 * np.sin(2 * np.pi * 6000 * t)], axis=1)
    rec = RecallRecorder(channels=2, frames=FRAMES, seconds=1.0)
    feed(rec, x.astype(np.float32), 0, 200)
    settled = slice(100, rec.written)  # past the filter's start-up
    rms = [np.sqrt(np.mean(rec.samples(c, 0, rec.written)[settled].astype(np.float64) ** 2)) for c in range(2)]
    assert rms[0] == pytest.approx(0.9 * FULL_SCALE / np.sqrt(2), rel=1e-3)
    assert rms[1] <= rms[0] * 10 ** (-60 / 20)


def test_sixteen_channels_of_ten_minutes_fit_the_budget():
    rec = RecallRecorder(channels=16, frames=FRAMES, seconds=600.0)
    assert rec.ring.nbytes == 16 * 600 * 8000 * 2 == 153_600_000
    assert rec.nbytes() <= 200_000_000


def test_write_allocates_nothing_at_steady_state():
    rec = RecallRecorder(channels=16, frames=FRAMES, seconds=2.0)
    block = noise(FRAMES, 16)
    found = steady_state_allocations(lambda: rec.write(block))  # 1000 blocks wrap the 2 s ring more than once
    assert found.grown == []
    assert found.peak_bytes < 2048  # transient interpreter objects only; one output block is 22 x 16 x 4 = 1.4 KB


# ---- other stream rates and the way back (replay) ---------------------------------------------------


def reference_at(x: np.ndarray, rate: int) -> np.ndarray:
    factor = rate_factor(rate)
    h = design_lowpass(taps_for(rate), CUTOFF_HZ, rate)
    y = np.convolve(x.astype(np.float64), h)[: len(x)][::factor]
    return np.clip(np.rint(y * FULL_SCALE), -FULL_SCALE - 1, FULL_SCALE).astype(np.int64)


@pytest.mark.parametrize("rate", [8_000, 16_000, 96_000])
def test_other_rates_decimate_to_8_khz_against_a_float64_reference(rate):
    frames = 100
    rec = RecallRecorder(channels=2, frames=frames, seconds=1.0, rate=rate)
    x = noise(frames * 50, 2, seed=rate)
    for b in range(50):
        rec.write(x[b * frames:(b + 1) * frames])
    assert rec.factor == rate // 8000 and rec.taps == 42 * rec.factor + 3
    for c in range(2):
        want = reference_at(x[:, c], rate)
        assert rec.written == len(want)
        assert np.abs(rec.samples(c, 0, rec.written).astype(np.int64) - want).max() <= 1
    assert taps_for(48_000) == 255


@pytest.mark.parametrize("rate", [44_100, 22_050, 4_000, 0])
def test_a_rate_that_is_not_a_multiple_of_8_khz_is_refused_clearly(rate):
    with pytest.raises(ValueError, match=f"multiple of 8000 Hz.*{rate} Hz is not"):
        RecallRecorder(channels=1, frames=FRAMES, rate=rate)
    with pytest.raises(ValueError, match="multiple of 8000 Hz"):
        upsample(np.zeros(10, dtype=np.int16), rate)


def test_consecutive_columns_are_read_as_a_slice():
    rec = RecallRecorder(channels=3, frames=FRAMES, seconds=1.0, columns=(1, 2, 3))
    assert rec._col_slice == slice(1, 4)
    x = noise(FRAMES * 10, 5, seed=4)
    feed(rec, x, 0, 10)
    for c in range(3):
        assert np.abs(rec.samples(c, 0, rec.written) - reference(x[:, c + 1])).max() <= 1


def tone_8k(freq: float, seconds: float, amp: float) -> np.ndarray:
    n = np.arange(int(seconds * OUT_RATE))
    return np.rint(amp * FULL_SCALE * np.sin(2 * np.pi * freq * n / OUT_RATE)).astype(np.int16)


@pytest.mark.parametrize("rate", [16_000, 48_000])
def test_upsample_keeps_passband_level_and_frequency(rate):
    settle = slice(rate // 10, -rate // 10)  # away from the ends, where the filter sees zeros
    for freq in (300.0, 1000.0, 3000.0):
        up = upsample(tone_8k(freq, 1.0, 0.5), rate)
        assert up.dtype == np.float32 and up.size == rate
        assert tone_level_dbfs(up[settle], freq, rate) == pytest.approx(20 * np.log10(0.5), abs=0.1)
    up = upsample(tone_8k(1000.0, 1.0, 0.5), rate)
    assert peak_frequency(up[settle], rate) == pytest.approx(1000.0, abs=0.05)
    # The image at 8 kHz - 1 kHz is filtered out: >= 60 dB below the tone.
    assert tone_level_dbfs(up[settle], 7000.0, rate) <= tone_level_dbfs(up[settle], 1000.0, rate) - 60.0


def test_upsample_lines_up_with_the_recording():
    x = tone_8k(440.0, 0.5, 0.5)
    up = upsample(x, 48_000)
    middle = slice(400, 3600)  # 8 kHz samples away from the ends
    assert np.abs(up[::6][middle] - x[middle] / FULL_SCALE).max() < 2e-3  # sample n lands on 6n, no delay
    np.testing.assert_array_equal(upsample(x, 8_000), (x / FULL_SCALE).astype(np.float32))
    assert upsample(np.zeros(0, dtype=np.int16), 48_000).size == 0
    with pytest.raises(ValueError, match="one channel"):
        upsample(np.zeros((4, 2), dtype=np.int16), 48_000)


def test_a_recorded_tone_replays_at_its_level_and_frequency():
    t = np.arange(FRAMES * 400) / 48_000
    rec = RecallRecorder(channels=1, frames=FRAMES, seconds=2.0)
    x = (0.4 * np.sin(2 * np.pi * 1000.0 * t))[:, None].astype(np.float32)
    feed(rec, x, 0, 20)
    rec.carrier_on(0, wall=1.0)
    feed(rec, x, 20, 380)
    rec.carrier_off(0, wall=2.0)
    replay = upsample(rec.last_transmission(0), 48_000)
    settle = slice(4800, -4800)
    assert tone_level_dbfs(replay[settle], 1000.0, 48_000) == pytest.approx(20 * np.log10(0.4), abs=0.05)
    assert peak_frequency(replay[settle], 48_000) == pytest.approx(1000.0, abs=0.05)
