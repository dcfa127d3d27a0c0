"""Five-tone selcall (ZVEI1, CCIR, EEA, EIA): tables, tone lengths and the repeat tone from
signaling-specs.md 3.3; round trips at every rate, block-size independence, noise and talk-off."""

from __future__ import annotations

import numpy as np
import pytest

from app.dsp.goertzel import SUPPORTED_RATES, SignalDecodeError
from app.dsp.measure import peak_frequency
from app.dsp.selcall import MODES, SelcallDecoder, encode_selcall, with_repeats
from hardware.sim.speech import SpeechLikeSource

CALLS = ("12345", "34433", "00000", "9A0BF", "77123")


def _decode(x: np.ndarray, rate: int, kind: str) -> list:
    decoder = SelcallDecoder(rate, kind)
    return decoder.feed(x) + decoder.flush()


def _calls(kind: str, rate: int, calls=CALLS, gap_s: float = 0.3) -> tuple[np.ndarray, list[float]]:
    parts, starts, pos = [], [], 0
    for digits in calls:
        parts.append(np.zeros(round(gap_s * rate)))
        starts.append((pos + parts[-1].shape[0]) / rate)
        parts.append(encode_selcall(kind, digits, rate))
        pos += parts[-2].shape[0] + parts[-1].shape[0]
    parts.append(np.zeros(round(gap_s * rate)))
    return np.concatenate(parts), starts


def test_repeat_tone_replaces_a_repeated_digit():
    assert with_repeats("34433") == "34E3E"  # SvxLink's example
    assert with_repeats("00000") == "0E0E0"  # never two E tones in a row
    assert with_repeats("12345") == "12345"


@pytest.mark.parametrize(("kind", "digit", "hz", "tone_s"), [
    ("zvei1", "1", 1060, 0.070), ("zvei1", "F", 680, 0.070), ("ccir", "0", 1981, 0.100),
    ("ccir", "A", 2400, 0.100), ("eea", "A", 1055, 0.040), ("eea", "9", 1860, 0.040),
    ("eia", "0", 600, 0.033), ("eia", "B", 2433, 0.033),
])
def test_encoder_uses_the_reference_tables_and_tone_lengths(kind, digit, hz, tone_s):
    x = encode_selcall(kind, digit * 3, 48000)
    n = round(tone_s * 48000)
    assert x.dtype == np.float32 and x.shape[0] == 3 * n
    assert peak_frequency(x[:n], 48000) == pytest.approx(hz, abs=1.0)
    repeat = MODES[kind].freqs[14]
    assert peak_frequency(x[n:2 * n], 48000) == pytest.approx(repeat, abs=1.0)  # the repeat tone E
    assert peak_frequency(x[2 * n:], 48000) == pytest.approx(hz, abs=1.0)


@pytest.mark.parametrize("rate", SUPPORTED_RATES)
@pytest.mark.parametrize("kind", list(MODES))
def test_calls_round_trip_with_their_start_times(kind, rate):
    x, starts = _calls(kind, rate)
    events = _decode(x, rate, kind)
    assert [e.value for e in events] == list(CALLS)
    assert {e.kind for e in events} == {kind}
    for event, start in zip(events, starts, strict=True):
        assert event.t == pytest.approx(start, abs=0.004)


@pytest.mark.parametrize("rate", SUPPORTED_RATES)
@pytest.mark.parametrize("kind", list(MODES))
def test_random_block_sizes_give_the_same_events_as_whole(kind, rate):
    x, _ = _calls(kind, rate, CALLS[:3])
    whole = [e.as_json() for e in _decode(x, rate, kind)]
    rng = np.random.default_rng(rate)
    decoder, events, pos = SelcallDecoder(rate, kind), [], 0
    while pos < x.shape[0]:
        n = int(rng.integers(0, 1200))
        events += decoder.feed(x[pos:pos + n].astype(np.float32))
        pos += n
    events += decoder.flush()
    assert [e.as_json() for e in events] == whole and len(whole) == 3


@pytest.mark.parametrize("kind", list(MODES))
def test_a_call_cut_off_at_the_end_of_the_stream_is_reported_by_flush(kind):
    rate = 16000
    decoder = SelcallDecoder(rate, kind)
    assert decoder.feed(encode_selcall(kind, "24680", rate)) == []
    assert [e.value for e in decoder.flush()] == ["24680"]


@pytest.mark.parametrize("kind", list(MODES))
def test_off_frequency_tones_are_rejected(kind):
    rate = 22050
    mode = MODES[kind]

    def call(deviation: float) -> np.ndarray:
        parts = [np.zeros(rate // 4)]
        for d in "13579":
            t = np.arange(round(mode.tone_s * rate)) / rate
            parts.append(0.3 * np.sin(2 * np.pi * mode.freqs[int(d)] * (1 + deviation) * t))
        return np.concatenate([*parts, np.zeros(rate // 4)])

    assert [e.value for e in _decode(call(0.015), rate, kind)] == ["13579"]
    assert [e.value for e in _decode(call(-0.015), rate, kind)] == ["13579"]
    assert _decode(call(0.035), rate, kind) == []
    assert _decode(call(-0.035), rate, kind) == []


@pytest.mark.parametrize("kind", list(MODES))
def test_tones_much_shorter_than_the_standard_are_not_a_call(kind):
    rate = 8000
    x = encode_selcall(kind, "13579", rate, tone_s=MODES[kind].tone_s * 0.4)
    assert _decode(np.concatenate([np.zeros(rate // 4), x]), rate, kind) == []


@pytest.mark.parametrize("kind", list(MODES))
def test_calls_in_white_noise_at_0_db_snr(kind):
    rate = 22050
    rng = np.random.default_rng(11)
    for _ in range(8):
        digits = "".join(rng.choice(list("0123456789"), 5))
        x = encode_selcall(kind, digits, rate).astype(np.float64)
        noise_rms = np.sqrt(np.mean(x ** 2))
        x = np.concatenate([np.zeros(rate // 4), x, np.zeros(rate // 4)])
        noisy = x + rng.standard_normal(x.shape[0]) * noise_rms
        assert [e.value for e in _decode(noisy, rate, kind)] == [digits]


@pytest.mark.parametrize("kind", list(MODES))
def test_no_false_calls_on_three_minutes_of_speech(kind):
    rate = 8000
    source = SpeechLikeSource(rate, seed=5, seconds=7.3)
    decoder = SelcallDecoder(rate, kind)
    block = np.empty(rate // 2, dtype=np.float32)
    events = []
    for i in range(360):
        source.fill(block)
        events += decoder.feed(block * (4.0 if i % 3 == 0 else 1.0))
    assert events + decoder.flush() == []


def test_bad_requests_raise_a_clear_error():
    with pytest.raises(SignalDecodeError, match="zvei9"):
        SelcallDecoder(8000, "zvei9")
    with pytest.raises(SignalDecodeError, match="12000"):
        SelcallDecoder(12000, "ccir")
    with pytest.raises(SignalDecodeError, match="digit 3"):
        encode_selcall("ccir", "12E45", 8000)
    with pytest.raises(SignalDecodeError, match="digit 2"):
        encode_selcall("eia", "1x", 8000)
    with pytest.raises(SignalDecodeError, match="no digits"):
        encode_selcall("eea", "", 8000)
