"""TTY/TDD Baudot codec: the code table and shifts, exact round trips at every rate, block-size independence,
carrier detect, noise rejection (signaling-specs.md section 5)."""

from __future__ import annotations

import numpy as np
import pytest

from app.dsp.baudot import (
    FIGS,
    LTRS,
    BaudotError,
    TtyDecoder,
    baudot_codes,
    encode_baudot_codes,
    encode_tty,
)
from hardware.sim.speech import SpeechLikeSource

RATES = (8000, 16000, 22050, 44100, 48000)
EVERY_CHAR = "ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 -$',!:(\")#&?./;"


def _decode(samples: np.ndarray, rate: int, **options):
    decoder = TtyDecoder(rate, **options)
    return decoder.feed(samples) + decoder.flush()


def test_codes_start_with_ltrs_and_shift_only_when_needed():
    assert baudot_codes("AB") == [LTRS, 3, 25]
    assert baudot_codes("A1") == [LTRS, 3, FIGS, 23]
    # After a space in figures the receiver may have unshifted: the shift is sent again either way.
    assert baudot_codes("1 2") == [LTRS, FIGS, 23, 4, FIGS, 19]
    assert baudot_codes("1 A") == [LTRS, FIGS, 23, 4, LTRS, 3]
    assert baudot_codes("A B") == [LTRS, 3, 4, 25]
    assert baudot_codes("hi\n") == [LTRS, 20, 6, 8, 2]  # upper-cased; newline as CR LF


def test_a_character_without_a_code_is_refused_with_its_position():
    with pytest.raises(BaudotError, match=r"'%' at position 3"):
        baudot_codes("AB%")
    with pytest.raises(BaudotError, match="44100 Hz|sample rate 11025"):
        encode_tty("A", samplerate=11025)


@pytest.mark.parametrize("rate", RATES)
def test_every_character_round_trips_at_every_rate(rate):
    samples = encode_tty(EVERY_CHAR, samplerate=rate)
    assert samples.dtype == np.float32 and np.max(np.abs(samples)) <= 1.0
    (event,) = _decode(samples, rate)
    assert event.kind == "tty" and event.value == EVERY_CHAR
    # The first character (after the 150 ms lead-in and the LTRS frame of 8 bits) starts at 326 ms.
    assert event.t == pytest.approx(0.15 + 8 / 45.45, abs=0.003)


@pytest.mark.parametrize("stop_bits", [1.0, 1.5, 2.0])
def test_frames_with_1_to_2_stop_bits_decode(stop_bits):
    samples = encode_tty("CQ 911 TTY", samplerate=8000, stop_bits=stop_bits)
    assert [e.value for e in _decode(samples, 8000)] == ["CQ 911 TTY"]


def test_unshift_on_space_is_an_option():
    # FIGS 1 SPACE 2 with no shift after the space: "1 2" without unshift-on-space, "1 W" with it.
    samples = encode_baudot_codes([LTRS, FIGS, 23, 4, 19], samplerate=8000)
    assert _decode(samples, 8000)[0].value == "1 W"
    assert _decode(samples, 8000, unshift_on_space=False)[0].value == "1 2"


@pytest.mark.parametrize("rate", [8000, 44100])
def test_random_blocks_give_the_same_events_as_the_whole(rate):
    rng = np.random.default_rng(7)
    samples = np.concatenate([encode_tty("FIRST 1", samplerate=rate), np.zeros(rate),
                              encode_tty("SECOND 22", samplerate=rate)])
    samples = samples + 0.05 * rng.standard_normal(samples.shape[0])
    whole = _decode(samples, rate)
    assert [e.value for e in whole] == ["FIRST 1", "SECOND 22"]
    decoder, events, at = TtyDecoder(rate), [], 0
    while at < samples.shape[0]:
        size = int(rng.integers(0, 3000))
        events += decoder.feed(samples[at:at + size])
        at += size
    assert events + decoder.flush() == whole


def test_carrier_and_characters_are_reported_as_they_happen():
    rate = 8000
    samples = np.concatenate([np.zeros(rate // 2), encode_tty("GA", samplerate=rate), np.zeros(rate)])
    carrier, chars = [], []
    decoder = TtyDecoder(rate, on_carrier=lambda t, on: carrier.append((t, on)),
                         on_char=lambda t, ch: chars.append(ch))
    events = decoder.feed(samples)
    assert [on for _, on in carrier] == [True, False] and not decoder.carrier
    (on_t, _), (off_t, _) = carrier
    end = 0.5 + samples.shape[0] / rate - 1.5  # where the tone stops
    assert on_t == pytest.approx(0.5, abs=0.03)
    assert end < off_t < end + 0.3  # the carrier hold
    assert chars == ["G", "A"]
    assert [e.value for e in events] == ["GA"] and events[0].extra["carrier_s"] == pytest.approx(off_t - on_t,
                                                                                                  abs=0.002)


def test_quiet_lines_decode_and_silence_gives_nothing():
    assert _decode(np.zeros(8000), 8000) == []
    quiet = encode_tty("LOW LEVEL 30", samplerate=8000, level_dbfs=-40.0)
    assert [e.value for e in _decode(quiet, 8000)] == ["LOW LEVEL 30"]


def test_no_characters_from_white_or_speech_like_noise():
    rate = 8000
    rng = np.random.default_rng(3)
    assert _decode(0.3 * rng.standard_normal(60 * rate), rate) == []
    speech = np.zeros(60 * rate, dtype=np.float32)
    source = SpeechLikeSource(rate, seed=5, seconds=7.0)
    for start in range(0, speech.shape[0], rate):
        source.fill(speech[start:start + rate])
    assert _decode(speech, rate) == []


def test_decodes_at_0_db_snr_in_white_noise():
    rate = 8000
    text = "THE QUICK BROWN FOX 123"
    signal = encode_tty(text, samplerate=rate).astype(np.float64)
    rms = np.sqrt(np.mean(signal**2))
    noisy = signal + rms * np.random.default_rng(11).standard_normal(signal.shape[0])
    assert [e.value for e in _decode(noisy, rate)] == [text]


def test_bad_blocks_and_options_are_refused():
    decoder = TtyDecoder(8000)
    with pytest.raises(BaudotError, match="mono"):
        decoder.feed(np.zeros((10, 2)))
    with pytest.raises(BaudotError, match="baud"):
        TtyDecoder(8000, baud=5)
