"""Tone generator: phase continuity across blocks, exact frequencies, levels and sample-exact cadences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.dsp import tones
from app.dsp.measure import peak_frequency, rms_db, tone_level_dbfs
from app.dsp.tones import Segment, ToneError, ToneGenerator, silence
from tests.allocations import steady_state_allocations


def _render_in_blocks(segments, rate, total, block, **kw) -> np.ndarray:
    gen = ToneGenerator(segments, rate, **kw)
    out = np.zeros(total, dtype=np.float32)
    buf = np.empty(block, dtype=np.float32)
    for start in range(0, total, block):
        n = min(block, total - start)
        gen.fill(buf[:n])
        out[start:start + n] = buf[:n]
    return out


MIXED = tones.alert2(pairs=2) + tones.dtmf("5#") + tones.alert3(pulses=2)


@pytest.mark.parametrize("block", [1, 7, 64, 128])
def test_blocks_of_any_size_give_the_same_samples_as_one_block(block):
    rate = 8000
    whole = ToneGenerator(MIXED, rate).render()
    assert whole.shape[0] == ToneGenerator(MIXED, rate).total_samples
    pieces = _render_in_blocks(MIXED, rate, whole.shape[0] + 50, block)
    np.testing.assert_allclose(pieces[:whole.shape[0]], whole, rtol=0, atol=1e-6)
    assert not pieces[whole.shape[0]:].any()  # silence after the end


def test_repeating_tone_is_phase_continuous_across_blocks_and_repeats():
    rate = 8000
    seg = [Segment((1000.0,), -10.0, 0.125)]  # 1000 samples: a whole number of cycles per pass
    pieces = _render_in_blocks(seg, rate, 10_000, 97, repeat=True)
    n = np.arange(10_000)
    expected = 10 ** (-10 / 20) * np.sin(2 * np.pi * 1000.0 * n / rate)
    np.testing.assert_allclose(pieces, expected, rtol=0, atol=1e-6)


def test_warble_switches_frequency_without_a_phase_jump():
    rate = 8000
    out = ToneGenerator(tones.alert2(pairs=1), rate).render().astype(np.float64)
    # A sine's sample-to-sample step is at most 2*pi*f/rate * amplitude; a phase jump would exceed it.
    amp = 10 ** (tones.ALERT_LEVEL_DBFS / 20)
    limit = 2 * math.pi * 1500.0 / rate * amp * 1.001
    assert np.max(np.abs(np.diff(out))) <= limit


@pytest.mark.parametrize("freq", [445.7, 1004.0, 1633.0, 2175.0, 2468.2])
def test_frequency_is_exact_on_long_renders(freq):
    rate = 8000
    out = ToneGenerator([Segment((freq,), -10.0, 3.0)], rate).render()
    assert peak_frequency(out, rate) == pytest.approx(freq, abs=0.5)


@pytest.mark.parametrize("level", [-3.0, -10.0, -24.0, -34.0])
def test_rms_of_a_sine_is_its_level_minus_3_01_db(level):
    out = ToneGenerator([Segment((1004.0,), level, 2.0)], 8000).render()
    assert rms_db(out) == pytest.approx(level - 3.0103, abs=0.05)


def test_gain_db_gives_the_quieter_sidetone_copy():
    line = ToneGenerator(tones.line_test_tone(), 8000).render()
    side = ToneGenerator(tones.line_test_tone(), 8000, gain_db=tones.SIDETONE_DB).render()
    assert rms_db(side) - rms_db(line) == pytest.approx(tones.SIDETONE_DB, abs=0.01)


def test_segment_boundaries_are_sample_exact():
    rate = 22050
    segs = [Segment((1000.0,), -10.0, 0.1), silence(0.05), Segment((700.0,), -10.0, 0.0333)]
    gen = ToneGenerator(segs, rate)
    # round(rate * cumulative seconds): 2205, 3307.5 -> 3308 (round half to even), 4042.265 -> 4042
    assert gen.lengths == (2205, 3308 - 2205, 4042 - 3308)
    out = gen.render()
    assert out[2204] != 0 and not out[2205:3308].any() and out[3309] != 0


def test_alert3_pulses_250_ms_on_250_ms_off():
    rate = 8000
    out = ToneGenerator(tones.alert3(), rate).render()
    assert out.shape[0] == 8 * 4000
    for pulse in range(8):
        on, off = out[pulse * 4000: pulse * 4000 + 2000], out[pulse * 4000 + 2000: pulse * 4000 + 4000]
        assert tone_level_dbfs(on, 1000.0, rate) == pytest.approx(tones.ALERT_LEVEL_DBFS, abs=0.05)
        assert not off.any()


def test_dtmf_key_has_both_tones_at_their_levels():
    rate = 8000
    out = ToneGenerator(tones.dtmf("9"), rate).render()
    on = out[:800]
    assert tone_level_dbfs(on, 852.0, rate) == pytest.approx(tones.DTMF_LEVEL_DBFS, abs=0.1)
    assert tone_level_dbfs(on, 1477.0, rate) == pytest.approx(
        tones.DTMF_LEVEL_DBFS + tones.DTMF_HIGH_OFFSET_DB, abs=0.1)
    assert not out[800:].any()


def test_qc2_page_tone_a_1_s_then_tone_b_3_s_and_all_call_8_s():
    page = tones.qc2_page("4", "61")
    assert [(s.freqs, s.seconds) for s in page] == [((445.7,), 1.0), ((339.6,), 3.0)]
    assert [(s.freqs, s.seconds) for s in tones.qc2_page("2", "16")] == [((600.9,), 1.0), ((788.5,), 3.0)]
    assert [(s.freqs, s.seconds) for s in tones.qc2_page("4", "66")] == [((445.7,), 8.0)]
    assert tones.qc2_tone("B", "0") == 2468.2 and tones.qc2_tone("3", "1") == 288.5


@pytest.mark.parametrize(("call", "words"), [
    (lambda: tones.dtmf("12x"), "digit 3"),
    (lambda: tones.dtmf(""), "no DTMF"),
    (lambda: tones.qc2_page("7", "12"), "group '7'"),
    (lambda: tones.qc2_page("4", "1"), "two digits"),
    (lambda: ToneGenerator([Segment((5000.0,), -10.0, 1.0)], 8000), "5000"),
    (lambda: Segment((1000.0,), 3.0, 1.0), "above full scale"),
])
def test_bad_requests_say_what_is_wrong(call, words):
    with pytest.raises(ToneError, match=words):
        call()


def test_fill_allocates_nothing_at_steady_state():
    rate, block = 48000, 1024
    gen = ToneGenerator(tones.dtmf("0123456789") + tones.alert2(), rate, repeat=True)
    out = np.empty(block, dtype=np.float32)
    def step():
        gen.fill(out, add=True)
        gen.fill(out)

    found = steady_state_allocations(step)  # warm-up first: scratch buffers reach the block size
    assert found.grown == []
    assert found.peak_bytes < block * 8 // 2  # not even one float64 temporary of the block's size
