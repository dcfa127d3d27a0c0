"""Quick Call II: every table tone as A and as B, cap codes, the all-call, timing (signaling-specs.md 3.1),
tolerance, block-size independence, noise and talk-off."""

from __future__ import annotations

import numpy as np
import pytest

from app.dsp.goertzel import SUPPORTED_RATES, SignalDecodeError
from app.dsp.qc2_decoder import Qc2Decoder, capcode, encode_qc2
from app.dsp.tones import QC2_TABLE
from hardware.sim.speech import SpeechLikeSource


def _decode(x: np.ndarray, rate: int) -> list:
    decoder = Qc2Decoder(rate)
    return decoder.feed(x) + decoder.flush()


def _tone(hz: float, seconds: float, rate: int, amp: float = 0.3) -> np.ndarray:
    return amp * np.sin(2 * np.pi * hz * np.arange(round(seconds * rate)) / rate)


def _gap(seconds: float, rate: int) -> np.ndarray:
    return np.zeros(round(seconds * rate))


@pytest.mark.parametrize("rate", SUPPORTED_RATES)
def test_genave_examples_round_trip_with_cap_code_and_start_time(rate):
    x = np.concatenate([_gap(0.5, rate), encode_qc2(rate, group="4", code="61"), _gap(1.0, rate),
                        encode_qc2(rate, group="2", code="16"), _gap(1.0, rate)])
    events = _decode(x, rate)
    assert [e.as_json() for e in events] == [
        {"t": 0.5, "kind": "qc2", "value": [445.7, 339.6], "capcode": "461", "all_call": False,
         "measured_hz": [445.7, 339.6]},
        {"t": 5.5, "kind": "qc2", "value": [600.9, 788.5], "capcode": "216", "all_call": False,
         "measured_hz": [600.9, 788.5]},
    ]


@pytest.mark.parametrize("group", list(QC2_TABLE))
def test_every_table_tone_decodes_as_tone_a_and_as_tone_b(group):
    rate = 8000
    codes = ["12", "23", "34", "45", "56", "67", "78", "89", "90", "01"]
    x = np.concatenate([part for code in codes for part in (encode_qc2(rate, group=group, code=code),
                                                               _gap(1.0, rate))])
    events = _decode(x, rate)
    assert [e.extra["capcode"] for e in events] == [f"{group}{code}" for code in codes]
    for event, code in zip(events, codes, strict=True):
        tones = QC2_TABLE[group]
        assert event.value == (tones[(int(code[0]) - 1) % 10], tones[(int(code[1]) - 1) % 10])


@pytest.mark.parametrize("rate", [8000, 48000])
def test_all_call_and_pages_across_groups(rate):
    x = np.concatenate([encode_qc2(rate, group="4", code="66"), _gap(1.0, rate),
                        encode_qc2(rate, group="1", code="23", b_group="2"), _gap(1.0, rate),
                        encode_qc2(rate, tones=(2043.8, 2094.5)), _gap(0.5, rate)])
    events = _decode(x, rate)
    assert [(e.value, e.extra["capcode"], e.extra["all_call"]) for e in events] == [
        ((445.7, 445.7), "466", True), ((368.5, 669.9), "12/23", False), ((2043.8, 2094.5), "B34", False)]
    assert [round(e.t, 3) for e in events] == [0.0, 9.0, 14.0]
    assert capcode(349.0, 349.0) == "111"


def test_encoder_timing_is_one_second_then_three_and_eight_for_the_all_call():
    rate = 16000
    assert encode_qc2(rate, group="4", code="61").shape[0] == 4 * rate
    assert encode_qc2(rate, group="4", code="66").shape[0] == 8 * rate
    assert encode_qc2(rate, tones=(433.7, 433.7)).shape[0] == 8 * rate


@pytest.mark.parametrize("rate", SUPPORTED_RATES)
def test_random_block_sizes_give_the_same_events_as_whole(rate):
    x = np.concatenate([_gap(0.3, rate), encode_qc2(rate, group="3", code="12"), _gap(0.3, rate),
                        encode_qc2(rate, group="5", code="99"), _gap(0.2, rate)])
    whole = [e.as_json() for e in _decode(x, rate)]
    rng = np.random.default_rng(rate)
    decoder, events, pos = Qc2Decoder(rate), [], 0
    while pos < x.shape[0]:
        n = int(rng.integers(0, 5000))
        events += decoder.feed(x[pos:pos + n].astype(np.float32))
        pos += n
    events += decoder.flush()
    assert [e.as_json() for e in events] == whole and len(whole) == 2


@pytest.mark.parametrize("rate", [8000, 44100])
def test_tolerance_accepts_1_percent_and_rejects_off_table_tones(rate):
    def page(a: float, b: float) -> list:
        return [e.value for e in _decode(np.concatenate([_tone(a, 1.0, rate), _tone(b, 3.0, rate),
                                                         _gap(0.5, rate)]), rate)]

    assert page(445.7 * 1.01, 339.6 * 0.99) == [(445.7, 339.6)]
    assert page(2468.2 * 0.99, 1930.2 * 1.01) == [(2468.2, 1930.2)]
    assert page(288.5 * 1.01, 296.5 * 0.99) == [(288.5, 296.5)]  # neighbours 2.8 % apart stay apart
    assert page(2530.0, 2600.0) == []  # 2.5 % and 5 % above the top table tone
    assert page(275.0, 280.0) == []  # 4.7 % and 2.9 % below the lowest
    # Inside the range every frequency is within 1.5 % of some table tone (they are 2.5-2.8 % apart).


@pytest.mark.parametrize("rate", [8000, 22050])
def test_wrong_timing_is_not_a_page(rate):
    def page(*parts) -> list:
        return _decode(np.concatenate([*parts, _gap(0.5, rate)]), rate)

    assert page(_tone(445.7, 0.3, rate), _tone(339.6, 3.0, rate)) == []  # tone A too short
    assert page(_tone(445.7, 2.5, rate), _tone(339.6, 3.0, rate)) == []  # tone A too long
    assert page(_tone(445.7, 1.0, rate), _tone(339.6, 0.8, rate)) == []  # tone B too short
    assert page(_tone(445.7, 1.0, rate), _gap(0.6, rate), _tone(339.6, 3.0, rate)) == []  # gap
    assert page(_tone(339.6, 3.0, rate)) == []  # tone B alone
    assert page(_tone(445.7, 4.0, rate)) == []  # too short for an all-call


@pytest.mark.parametrize("rate", [8000, 22050])
def test_pages_in_white_noise_at_0_db_snr(rate):
    rng = np.random.default_rng(3)
    groups = list(QC2_TABLE)
    for _ in range(4):
        group = groups[int(rng.integers(len(groups)))]
        code = "".join(rng.choice(list("1234567890"), 2, replace=False))
        x = encode_qc2(rate, group=group, code=code).astype(np.float64)
        noisy = x + rng.standard_normal(x.shape[0]) * np.sqrt(np.mean(x ** 2))
        events = _decode(np.concatenate([noisy, _gap(0.5, rate)]), rate)
        assert [e.extra["capcode"] for e in events] == [f"{group}{code}"]


def test_no_false_pages_on_three_minutes_of_speech():
    rate = 8000
    source = SpeechLikeSource(rate, seed=2, seconds=7.3)
    decoder = Qc2Decoder(rate)
    block = np.empty(rate // 2, dtype=np.float32)
    events = []
    for i in range(360):
        source.fill(block)
        events += decoder.feed(block * (4.0 if i % 3 == 0 else 1.0))
    assert events + decoder.flush() == []


def test_bad_requests_raise_a_clear_error():
    with pytest.raises(SignalDecodeError, match="group 'Z'"):
        encode_qc2(8000, group="Z", code="12")
    with pytest.raises(SignalDecodeError, match="either tones or group"):
        encode_qc2(8000, group="1", code="12", tones=(349.0, 368.5))
    with pytest.raises(SignalDecodeError, match="group and code"):
        encode_qc2(8000)
    with pytest.raises(SignalDecodeError, match="96000"):
        Qc2Decoder(96000)
