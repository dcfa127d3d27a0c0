"""MDC1200: the reference's test vectors byte for byte, audio round trips at every rate, robustness."""

from __future__ import annotations

import numpy as np
import pytest

from app.dsp.mdc1200 import (
    Mdc1200Decoder,
    Mdc1200Error,
    crc16,
    decode_block,
    emergency_ack,
    encode_block,
    encode_mdc1200,
    frame_bytes,
    is_emergency,
)
from app.dsp.mdc1200_meaning import (
    CALL_ALERT,
    EMERGENCY,
    EMERGENCY_ACK,
    RADIO_CHECK,
    RADIO_CHECK_ACK,
    meaning,
)
from hardware.sim.speech import SpeechLikeSource

RATES = (8000, 16000, 22050, 44100, 48000)

# signaling-specs.md 4.4: (op, arg, unit, crc, the full 26-byte frame)
VECTORS = [
    (0x01, 0x80, 0x1234, 0x3E2E,
     "55 55 55 55 55 55 55 07 09 2A 44 6F 8E 94 2A 2E 06 99 22 04 00 1C 18 A2 2C 88"),
    (0x01, 0x00, 0x1234, 0x32C2,
     "55 55 55 55 55 55 55 07 09 2A 44 6F 88 81 08 08 02 9B 26 20 04 18 18 A4 24 A0"),
    (0x00, 0x81, 0x1234, 0x7849,
     "55 55 55 55 55 55 55 07 09 2A 44 6F 0C 30 6A 68 02 18 26 41 0A 10 10 2A 20 4C"),
    (0x12, 0x34, 0x5678, 0x980F,
     "55 55 55 55 55 55 55 07 09 2A 44 6F 0C 61 9A 93 0A 62 60 8B A8 BB 4A 1A 78 46"),
]


def decode_all(audio: np.ndarray, samplerate: int) -> list:
    decoder = Mdc1200Decoder(samplerate)
    return decoder.feed(audio) + decoder.flush()


def with_silence(audio: np.ndarray, samplerate: int, before_s: float = 0.25, after_s: float = 0.2) -> np.ndarray:
    return np.concatenate([np.zeros(int(before_s * samplerate)), audio, np.zeros(int(after_s * samplerate))])


def add_noise(audio: np.ndarray, signal: np.ndarray, snr_db: float, rng: np.random.Generator) -> np.ndarray:
    """White noise over the whole band at ``snr_db`` below the signal's power."""
    noise_power = np.mean(signal.astype(np.float64) ** 2) / 10 ** (snr_db / 10)
    return audio + rng.standard_normal(len(audio)) * np.sqrt(noise_power)


def resample(audio: np.ndarray, factor: float) -> np.ndarray:
    """Play ``audio`` ``factor`` times faster (tones and bit rate together), by linear interpolation."""
    t = np.arange(0, len(audio) - 1, factor)
    return np.interp(t, np.arange(len(audio)), audio.astype(np.float64))


# ------------------------------------------------------------------------------------------ bytes


@pytest.mark.parametrize(("op", "arg", "unit", "crc", "frame"), VECTORS)
def test_test_vectors_encode_to_the_exact_bytes(op, arg, unit, crc, frame):
    payload = bytes((op, arg, unit >> 8, unit & 0xFF))
    assert crc16(payload) == crc
    assert frame_bytes(op, arg, unit) == bytes.fromhex(frame)
    assert frame_bytes(op, arg, f"{unit:04x}") == bytes.fromhex(frame)  # unit as hex text


@pytest.mark.parametrize(("op", "arg", "unit", "crc", "frame"), VECTORS)
def test_test_vector_blocks_decode_back_and_correct_bit_errors(op, arg, unit, crc, frame):
    block = bytes.fromhex(frame)[12:]
    payload = bytes((op, arg, unit >> 8, unit & 0xFF))
    assert decode_block(block) == payload
    damaged = bytearray(block)
    for bit in (3, 40, 95):  # three scattered bit errors
        damaged[bit // 8] ^= 0x80 >> (bit % 8)
    assert decode_block(bytes(damaged)) == payload
    wrong = bytearray(encode_block(bytes((op, arg ^ 0x01, unit >> 8, unit & 0xFF))))
    assert decode_block(bytes(wrong)) != payload


def test_garbage_block_fails_the_crc():
    assert decode_block(bytes(range(14))) is None


def test_double_packet_frame_has_two_blocks():
    frame = frame_bytes(*CALL_ALERT, 0x1234, extra=bytes((0x0A, 0x00, 0x56, 0x78)))
    assert len(frame) == 40
    assert decode_block(frame[26:]) == bytes((0x0A, 0x00, 0x56, 0x78))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: frame_bytes(0x100, 0, 1), "op 256"),
    (lambda: frame_bytes(1, 0x80, "12G4"), "hex digits"),
    (lambda: frame_bytes(1, 0x80, 0x10000), "outside"),
    (lambda: frame_bytes(1, 0x80, 1, extra=b"\0\0\0\0"), "double-packet op"),
    (lambda: frame_bytes(*CALL_ALERT, 1), "4 extra bytes"),
    (lambda: encode_mdc1200(1, 0x80, 1, samplerate=11025), "11025"),
    (lambda: encode_mdc1200(1, 0x80, 1, samplerate=8000, level=3.0), "above full scale"),
    (lambda: encode_mdc1200(1, 0x80, 1, samplerate=8000, preamble_bits=2), "preamble"),
    (lambda: Mdc1200Decoder(8000).feed(np.zeros((10, 2))), "mono"),
])
def test_bad_requests_raise_clear_errors(call, message):
    with pytest.raises(Mdc1200Error, match=message):
        call()


def test_meanings_and_console_helpers():
    assert meaning(0x01, 0x80) == "PTT ID"
    assert meaning(0x01, 0x00) == "POST ID"
    assert meaning(*EMERGENCY) == "emergency"
    assert meaning(*EMERGENCY_ACK) == "emergency acknowledge"
    assert meaning(*RADIO_CHECK) == "radio check"
    assert meaning(*RADIO_CHECK_ACK) == "radio check acknowledge"
    assert meaning(*CALL_ALERT) == "call alert"
    assert meaning(0x46, 0x05) == "status 5"
    assert meaning(0x47, 0x02) == "message 2 (ack expected)"
    assert meaning(0x99, 0x01) == "op 0x99 arg 0x01"
    assert is_emergency({"op": 0x00, "arg": 0x81, "unit": "1234", "meaning": "emergency"})
    assert is_emergency({"op": 0x00, "arg": 0x80})
    assert not is_emergency({"op": 0x01, "arg": 0x80})
    assert not is_emergency({"op": "x"})
    assert not is_emergency("not a dict")
    assert emergency_ack("1234") == (0x20, 0x00)
    with pytest.raises(ValueError, match="hex"):
        emergency_ack("zz")


# ------------------------------------------------------------------------------------------ audio


@pytest.mark.parametrize("samplerate", RATES)
def test_test_vectors_round_trip_through_audio(samplerate):
    for op, arg, unit, _crc, _frame in VECTORS:
        audio = encode_mdc1200(op, arg, unit, samplerate=samplerate)
        assert audio.dtype == np.float32 and np.max(np.abs(audio)) <= 1.0
        # 26 bytes at 1200 bit/s
        assert len(audio) == pytest.approx(208 * samplerate / 1200, abs=1)
        events = decode_all(with_silence(audio, samplerate), samplerate)
        assert len(events) == 1
        event = events[0]
        assert event.kind == "mdc1200"
        assert event.value == {"op": op, "arg": arg, "unit": f"{unit:04X}", "meaning": meaning(op, arg)}
        assert event.extra["polarity"] == "normal"
        assert event.extra["packet"] == "single"
        assert event.t == pytest.approx(0.25, abs=0.003)  # start of the leader


@pytest.mark.parametrize("samplerate", RATES)
def test_inverted_audio_decodes_and_says_so(samplerate):
    audio = -encode_mdc1200(0x00, 0x81, 0xBEEF, samplerate=samplerate)
    (event,) = decode_all(with_silence(audio, samplerate), samplerate)
    assert event.value["unit"] == "BEEF"
    assert is_emergency(event.value)
    assert event.extra["polarity"] == "inverted"


@pytest.mark.parametrize("samplerate", RATES)
def test_double_packet_call_alert_round_trip(samplerate):
    audio = encode_mdc1200(*CALL_ALERT, "00a1", samplerate=samplerate, extra=bytes((0x0A, 0x00, 0x20, 0x01)))
    (event,) = decode_all(with_silence(audio, samplerate), samplerate)
    assert event.value == {"op": 0x35, "arg": 0x89, "unit": "00A1", "meaning": "call alert"}
    assert event.extra["packet"] == "double"
    assert event.extra["extra"] == "0A002001"


def stream_of_frames(samplerate: int, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """Several frames with random gaps and levels, plus a little noise."""
    frames = [(0x01, 0x80, 0x1001), (0x63, 0x85, 0x2002), (0x30, 0x00, 0x3003), (0x46, 0x07, 0x4004),
              (0x01, 0x00, 0x5005)]
    parts = [np.zeros(int(rng.integers(10, samplerate // 3)))]
    for op, arg, unit in frames:
        level = float(rng.uniform(-30.0, -3.0))
        parts += [encode_mdc1200(op, arg, unit, samplerate=samplerate, level=level),
                  np.zeros(int(rng.integers(samplerate // 100, samplerate // 2)))]
    audio = np.concatenate(parts)
    audio = audio + rng.standard_normal(len(audio)) * 0.001
    return audio.astype(np.float32), [(op, arg, f"{unit:04X}") for op, arg, unit in frames]


@pytest.mark.parametrize("samplerate", (8000, 22050, 48000))
def test_random_block_sizes_give_the_same_events_as_whole(samplerate):
    rng = np.random.default_rng(samplerate)
    audio, expected = stream_of_frames(samplerate, rng)
    whole = [e.as_json() for e in decode_all(audio, samplerate)]
    assert [(e["value"]["op"], e["value"]["arg"], e["value"]["unit"]) for e in whole] == expected
    for _ in range(3):
        decoder = Mdc1200Decoder(samplerate)
        events, i = [], 0
        while i < len(audio):
            n = int(rng.choice([0, 1, 7, 64, 441, 1000, 4096]))
            events += decoder.feed(audio[i: i + n])
            i += n
        events += decoder.flush()
        assert [e.as_json() for e in events] == whole


def test_flush_starts_a_fresh_stream():
    decoder = Mdc1200Decoder(16000)
    audio = with_silence(encode_mdc1200(1, 0x80, 0x0777, samplerate=16000), 16000, before_s=0.1)
    first = decoder.feed(audio) + decoder.flush()
    second = decoder.feed(audio) + decoder.flush()
    assert [e.as_json() for e in first] == [e.as_json() for e in second]
    assert first[0].t == pytest.approx(0.1, abs=0.003)


@pytest.mark.parametrize("samplerate", (8000, 48000))
def test_decodes_at_10_db_snr(samplerate):
    rng = np.random.default_rng(10)
    for n in range(20):
        unit = int(rng.integers(0, 0x10000))
        clean = encode_mdc1200(0x01, 0x80, unit, samplerate=samplerate)
        audio = add_noise(with_silence(clean, samplerate, before_s=float(rng.uniform(0.05, 0.3))), clean, 10.0, rng)
        events = decode_all(audio, samplerate)
        assert [e.value["unit"] for e in events] == [f"{unit:04X}"], f"frame {n}"


@pytest.mark.parametrize("error", (-0.02, 0.02))
@pytest.mark.parametrize("samplerate", (8000, 44100))
def test_tolerates_two_percent_bit_rate_error(samplerate, error):
    rng = np.random.default_rng(2)
    clean = encode_mdc1200(0x47, 0x03, 0x9A9A, samplerate=samplerate)
    fast = resample(with_silence(clean, samplerate), 1 + error)
    for audio in (fast, add_noise(fast, clean, 10.0, rng)):
        (event,) = decode_all(audio, samplerate)
        assert event.value["unit"] == "9A9A" and event.value["meaning"] == "message 3 (ack expected)"


def test_tolerates_level_changes_within_a_frame():
    samplerate = 16000
    clean = encode_mdc1200(0x63, 0x85, 0x0101, samplerate=samplerate).astype(np.float64)
    gain = np.linspace(0.25, 2.0, len(clean))  # -12 dB to +6 dB across the frame
    (event,) = decode_all(with_silence(clean * gain, samplerate), samplerate)
    assert event.value["meaning"] == "radio check"
    quiet = encode_mdc1200(0x30, 0x00, 0x0101, samplerate=samplerate, level=-45.0)
    (event,) = decode_all(with_silence(quiet, samplerate), samplerate)
    assert event.value["meaning"] == "radio check acknowledge"


@pytest.mark.parametrize("samplerate", (8000, 48000))
def test_no_detections_on_speech_like_noise_or_white_noise(samplerate):
    source = SpeechLikeSource(samplerate, seed=3, seconds=5.0)
    decoder = Mdc1200Decoder(samplerate)
    block = np.zeros(samplerate // 10, dtype=np.float32)
    events = []
    for _ in range(600):  # 60 s
        source.fill(block)
        events += decoder.feed(block)
    rng = np.random.default_rng(4)
    events += decoder.feed(rng.standard_normal(samplerate * 20) * 0.1)
    events += decoder.flush()
    assert events == []


def test_frame_inside_speech_like_noise_is_found():
    samplerate = 8000
    source = SpeechLikeSource(samplerate, seed=5)
    speech = np.zeros(samplerate * 2, dtype=np.float32)
    source.fill(speech[:samplerate])
    source.fill(speech[samplerate:])
    clean = encode_mdc1200(0x01, 0x00, 0x4321, samplerate=samplerate)
    audio = speech.astype(np.float64)
    audio[samplerate // 2: samplerate // 2 + len(clean)] += clean  # post-ID over the tail of speech
    (event,) = decode_all(audio, samplerate)
    assert event.value["meaning"] == "POST ID" and event.value["unit"] == "4321"
    assert event.t == pytest.approx(0.5, abs=0.003)
