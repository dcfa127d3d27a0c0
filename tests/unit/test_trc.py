"""Tone remote keying: sample-exact HLGT / function / LLGT timing and levels, and the 2175 Hz notch."""

from __future__ import annotations


import numpy as np
import pytest

from app.dsp import trc
from app.dsp.measure import rms_db, tone_level_dbfs
from app.dsp.tones import TEST_LEVEL_DBFS, ToneError, ToneGenerator
from tests.allocations import steady_state_allocations


@pytest.mark.parametrize("rate", [8000, 16000, 48000])
def test_keying_sequence_timing_is_sample_exact(rate):
    gen = ToneGenerator(trc.keying_sequence(1950.0, hold_s=1.0), rate)
    hlgt, ft, hold = gen.lengths
    assert hlgt == round(0.130 * rate) >= round(0.120 * rate)
    assert ft == round(0.040 * rate)
    assert hold == rate


def test_levels_follow_the_line_test_level():
    rate = 8000
    out = ToneGenerator(trc.keying_sequence(1950.0, hold_s=1.0), rate).render()
    hlgt, ft, hold = out[:1040], out[1040:1360], out[1360:]
    assert tone_level_dbfs(hlgt, 2175.0, rate) == pytest.approx(TEST_LEVEL_DBFS + 6.0, abs=0.05)
    assert tone_level_dbfs(ft, 1950.0, rate) == pytest.approx(TEST_LEVEL_DBFS - 4.0, abs=0.05)
    assert tone_level_dbfs(hold, 2175.0, rate) == pytest.approx(TEST_LEVEL_DBFS - 24.0, abs=0.05)
    # Only one tone in each part: the function window holds no guard tone, and vice versa.
    # (Rectangular windows leak about -40 dB into the neighbouring tone's bin, hence 35 dB.)
    assert tone_level_dbfs(ft, 2175.0, rate) < tone_level_dbfs(ft, 1950.0, rate) - 35
    assert tone_level_dbfs(hlgt, 1950.0, rate) < tone_level_dbfs(hlgt, 2175.0, rate) - 35
    # 30 dB from guard to hold tone, 10 dB from guard to function tone (three sources agree).
    assert rms_db(hlgt) - rms_db(hold) == pytest.approx(30.0, abs=0.05)


def test_function_tones_come_from_a_replaceable_table():
    assert trc.function_tone("F1") == 1950.0 and trc.function_tone("monitor") == 2050.0
    assert trc.function_tone("f2") == 1850.0 and trc.function_tone("1750") == 1750.0
    assert trc.function_tone("PL1", {"PL1": 1350.0}) == 1350.0
    for bad, words in [("F9", "not in the table"), ("2175", "guard tone"), (5000.0, "voice band")]:
        with pytest.raises(ToneError, match=words):
            trc.function_tone(bad)
    with pytest.raises(ToneError, match="shorter than 120 ms"):
        trc.keying_sequence(1950.0, hlgt_s=0.1)


def test_without_hold_the_sequence_ends_after_the_function_tone():
    gen = ToneGenerator(trc.keying_sequence(2050.0), 8000)
    assert gen.lengths == (1040, 320)


def _through_notch(notch: trc.NotchFilter, signal: np.ndarray, block: int) -> np.ndarray:
    out = signal.astype(np.float32)
    for start in range(0, out.shape[0], block):
        notch.process(out[start:start + block])
    return out


@pytest.mark.parametrize("rate", [8000, 48000])
def test_notch_removes_the_guard_tone_and_passes_voice_band(rate):
    n = np.arange(2 * rate)
    settle = rate // 2  # the notch's transient has died out after half a second
    guard = 0.5 * np.sin(2 * np.pi * 2175.0 * n / rate)
    out = _through_notch(trc.NotchFilter(rate), guard, 160)
    depth = tone_level_dbfs(guard[settle:], 2175.0, rate) - tone_level_dbfs(out[settle:], 2175.0, rate)
    assert depth >= 40.0  # measured > 200 dB at exactly 2175 Hz (the zero sits on the unit circle)
    for freq in (300.0, 1000.0, 1750.0):
        tone = 0.5 * np.sin(2 * np.pi * freq * n / rate)
        out = _through_notch(trc.NotchFilter(rate), tone, 160)
        gain = tone_level_dbfs(out[settle:], freq, rate) - tone_level_dbfs(tone[settle:], freq, rate)
        assert abs(gain) <= 0.5, (freq, gain)


def test_notch_state_carries_across_blocks():
    rate = 8000
    signal = np.random.default_rng(3).uniform(-0.5, 0.5, 4000)
    whole = _through_notch(trc.NotchFilter(rate), signal, 4000)
    for block in (1, 7, 64, 128):
        np.testing.assert_allclose(_through_notch(trc.NotchFilter(rate), signal, block), whole, rtol=0, atol=1e-6)


def test_notch_response_matches_its_coefficients():
    notch = trc.NotchFilter(8000)
    assert notch.response_db(2175.0) < -100
    assert abs(notch.response_db(1000.0)) < 0.1
    grid = np.arange(1900.0, 2450.0, 0.05)
    below_3db = grid[[notch.response_db(f) < -3.0103 for f in grid]]
    assert below_3db.max() - below_3db.min() == pytest.approx(trc.NOTCH_BANDWIDTH_HZ, abs=0.2)
    assert below_3db.min() < 2175.0 < below_3db.max()


def test_process_allocates_nothing_at_steady_state():
    notch = trc.NotchFilter(8000)
    block = np.random.default_rng(1).uniform(-0.5, 0.5, 160).astype(np.float32)
    found = steady_state_allocations(lambda: notch.process(block))
    assert found.grown == []
