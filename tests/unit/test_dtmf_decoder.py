"""DTMF decoder against the Q.24 receiver limits (signaling-specs.md 3.2) and the encoder's round trip."""

from __future__ import annotations

import numpy as np
import pytest

from app.dsp.dtmf_decoder import DtmfDecoder, encode_dtmf
from app.dsp.goertzel import SUPPORTED_RATES, SignalDecodeError
from hardware.sim.speech import SpeechLikeSource

ALL_KEYS = "123A456B789C*0#D"
ROWS = {"1": (697.0, 1209.0), "5": (770.0, 1336.0), "9": (852.0, 1477.0), "D": (941.0, 1633.0)}


def _pair(low: float, high: float, seconds: float, rate: int, low_db: float = -16.0,
          high_db: float = -14.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    return 10 ** (low_db / 20) * np.sin(2 * np.pi * low * t) + 10 ** (high_db / 20) * np.sin(2 * np.pi * high * t)


def _quiet(seconds: float, rate: int) -> np.ndarray:
    return np.zeros(round(seconds * rate))


def _decode(x: np.ndarray, rate: int) -> list:
    decoder = DtmfDecoder(rate)
    return decoder.feed(x) + decoder.flush()


def _digits(x: np.ndarray, rate: int) -> str:
    return "".join(e.value for e in _decode(x, rate))


def _framed(tone: np.ndarray, rate: int, lead: float = 0.1) -> np.ndarray:
    return np.concatenate([_quiet(lead, rate), tone, _quiet(0.1, rate)])


@pytest.mark.parametrize("rate", SUPPORTED_RATES)
def test_every_key_round_trips_with_its_start_time(rate):
    x = np.concatenate([_quiet(0.2, rate), encode_dtmf(ALL_KEYS + "55", rate)])
    events = _decode(x, rate)
    assert "".join(e.value for e in events) == ALL_KEYS + "55"
    assert {e.kind for e in events} == {"dtmf"}
    for i, event in enumerate(events):  # 100 ms on / 100 ms off after 200 ms of silence
        assert event.t == pytest.approx(0.2 + 0.2 * i, abs=0.003)
    assert events[0].as_json() == {"t": 0.2, "kind": "dtmf", "value": "1"}


@pytest.mark.parametrize("rate", SUPPORTED_RATES)
def test_random_block_sizes_give_the_same_events_as_whole(rate):
    x = np.concatenate([encode_dtmf("5551234*#0", rate, on_s=0.05, off_s=0.05), _quiet(0.01, rate)])
    whole = [e.as_json() for e in _decode(x, rate)]
    rng = np.random.default_rng(rate)
    decoder, events, pos = DtmfDecoder(rate), [], 0
    while pos < x.shape[0]:
        n = int(rng.integers(0, 900))
        events += decoder.feed(x[pos:pos + n].astype(np.float32))
        pos += n
    events += decoder.flush()
    assert [e.as_json() for e in events] == whole
    assert "".join(e["value"] for e in whole) == "5551234*#0"


@pytest.mark.parametrize("rate", [8000, 22050, 48000])
@pytest.mark.parametrize("key", list(ROWS))
@pytest.mark.parametrize("which", ["both", "low", "high"])
def test_frequency_tolerance_accepts_1_5_percent_and_rejects_3_5_percent(rate, key, which):
    low, high = ROWS[key]
    for deviation, expected in ((0.015, key), (-0.015, key), (0.035, ""), (-0.035, "")):
        lo = low * (1 + deviation) if which in ("both", "low") else low
        hi = high * (1 + deviation) if which in ("both", "high") else high
        assert _digits(_framed(_pair(lo, hi, 0.1, rate), rate), rate) == expected, (deviation, lo, hi)


@pytest.mark.parametrize("rate", [8000, 16000, 44100, 48000])
def test_twist_limits(rate):
    def digit(low_db: float, high_db: float) -> str:
        return _digits(_framed(_pair(770.0, 1336.0, 0.1, rate, low_db, high_db), rate), rate)

    assert digit(-10.0, -18.0) == "5"  # normal twist 8 dB: accept
    assert digit(-14.0, -10.0) == "5"  # reverse twist 4 dB: accept
    assert digit(-10.0, -20.0) == ""  # normal twist 10 dB: reject
    assert digit(-20.0, -10.0) == ""  # reverse twist 10 dB: reject
    assert digit(-18.0, -10.0) == ""  # reverse twist 8 dB: reject (Bell: 4 dB maximum)


@pytest.mark.parametrize("rate", SUPPORTED_RATES)
def test_minimum_duration_accepts_40_ms_and_rejects_23_ms_whatever_the_alignment(rate):
    for k in range(8):  # the tone starts at different points of the 5 ms analysis grid
        lead = 0.1 + k * 0.00061
        assert _digits(_framed(_pair(852.0, 1336.0, 0.040, rate), rate, lead), rate) == "8"
        assert _digits(_framed(_pair(852.0, 1336.0, 0.023, rate), rate, lead), rate) == ""
        assert _digits(_framed(_pair(852.0, 1336.0, 0.015, rate), rate, lead), rate) == ""


@pytest.mark.parametrize("rate", SUPPORTED_RATES)
def test_short_interruptions_are_bridged_and_a_40_ms_pause_separates_keys(rate):
    for k in range(5):
        lead = 0.1 + k * 0.0013
        tone = _pair(770.0, 1477.0, 0.06, rate)
        bridged = np.concatenate([tone, _quiet(0.010, rate), tone])
        paused = np.concatenate([tone, _quiet(0.040, rate), tone])
        assert _digits(_framed(bridged, rate, lead), rate) == "6"
        assert _digits(_framed(paused, rate, lead), rate) == "66"


@pytest.mark.parametrize("rate", [8000, 48000])
def test_encoder_on_off_times_are_exact_and_decode(rate):
    x = encode_dtmf("0123456789", rate, on_s=0.045, off_s=0.055)
    assert x.dtype == np.float32 and x.shape[0] == 10 * round(0.1 * rate)
    assert np.max(np.abs(x)) < 1.0
    on = round(0.045 * rate)
    assert np.all(x[on:round(0.1 * rate)] == 0.0) and np.any(x[:on] != 0.0)
    assert _digits(x, rate) == "0123456789"
    slow = encode_dtmf("12", rate, on_s=0.3, off_s=0.5)
    assert slow.shape[0] == 2 * round(0.8 * rate) and _digits(slow, rate) == "12"


@pytest.mark.parametrize("rate", [8000, 48000])
@pytest.mark.parametrize("seed", [0, 1])
def test_no_false_digits_on_five_minutes_of_speech(rate, seed):
    source = SpeechLikeSource(rate, seed=seed, seconds=7.3)
    decoder = DtmfDecoder(rate)
    block = np.empty(rate // 2, dtype=np.float32)
    events = []
    for i in range(600):  # 5 minutes; every third half-second 12 dB louder (near full scale)
        source.fill(block)
        events += decoder.feed(block * (4.0 if i % 3 == 0 else 1.0))
    events += decoder.flush()
    assert events == []


@pytest.mark.parametrize("rate", [8000, 22050])
def test_keys_in_white_noise_at_0_db_snr(rate):
    rng = np.random.default_rng(7)
    for _ in range(10):
        digits = "".join(rng.choice(list(ALL_KEYS), 8))
        x = encode_dtmf(digits, rate, on_s=0.05, off_s=0.05).astype(np.float64)
        power = np.mean(encode_dtmf(digits, rate, off_s=0.0).astype(np.float64) ** 2)
        noisy = _framed(x, rate, 0.2) + rng.standard_normal(x.shape[0] + round(0.3 * rate)) * np.sqrt(power)
        assert _digits(noisy, rate) == digits


def test_bad_requests_raise_a_clear_error():
    with pytest.raises(SignalDecodeError, match="11025"):
        DtmfDecoder(11025)
    with pytest.raises(SignalDecodeError, match="twist_db"):
        DtmfDecoder(8000, twist_db=3.0)
    with pytest.raises(SignalDecodeError, match="shape"):
        DtmfDecoder(8000).feed(np.zeros((10, 2)))
    with pytest.raises(SignalDecodeError, match="digit 3"):
        encode_dtmf("12x", 8000)
    with pytest.raises(SignalDecodeError, match="on time"):
        encode_dtmf("1", 8000, on_s=0.0)
    assert DtmfDecoder(8000).feed(np.zeros(0)) == []
