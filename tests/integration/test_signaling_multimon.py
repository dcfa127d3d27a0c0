"""Our DTMF and selcall encoders decoded by multimon-ng; tones synthesised by sox decoded by ours
(DTMF, selcall, Quick Call II). Real programs: multimon-ng through app.bench.peers.run_multimon."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from app.bench.peers import PeerMissing, expand_repeats, run_multimon
from app.dsp.dtmf_decoder import DtmfDecoder, encode_dtmf
from app.dsp.qc2_decoder import Qc2Decoder
from app.dsp.selcall import MODES, SelcallDecoder, encode_selcall, with_repeats
from app.dsp.tones import dtmf_freqs
from app.dsp.wav import read_wav
from tests.conftest import require_peer


def _padded(x: np.ndarray, rate: int) -> np.ndarray:
    quiet = np.zeros(rate // 4, dtype=np.float32)
    return np.concatenate([quiet, x, quiet])


@pytest.mark.parametrize("rate", [8000, 22050, 48000])
def test_multimon_decodes_our_dtmf(rate):
    require_peer("multimon-ng")
    x = encode_dtmf("5551234*#0ABCD", rate, on_s=0.06, off_s=0.06)
    assert run_multimon("dtmf", _padded(x, rate), rate) == list("5551234*#0ABCD")


@pytest.mark.parametrize("rate", [16000, 22050, 44100])
@pytest.mark.parametrize("kind", list(MODES))
def test_multimon_decodes_our_selcall_with_the_repeat_tone(kind, rate):
    require_peer("multimon-ng")
    calls = ["12345", "34433", "90817"]
    quiet = np.zeros(round(0.4 * rate), dtype=np.float32)
    x = np.concatenate([part for digits in calls for part in (quiet, encode_selcall(kind, digits, rate))] + [quiet])
    assert run_multimon(kind, x, rate) == calls


def _sox(tmp_path, name: str, rate: int, *effects: str):
    sox = require_peer("sox")
    path = tmp_path / name
    subprocess.run([sox, "-n", "-r", str(rate), "-c", "1", "-b", "16", str(path), *effects],
                   check=True, capture_output=True, timeout=60)
    return path


def _sox_join(tmp_path, name: str, parts) -> np.ndarray:
    sox = require_peer("sox")
    out = tmp_path / name
    subprocess.run([sox, *map(str, parts), str(out)], check=True, capture_output=True, timeout=60)
    samples, _ = read_wav(out)
    return samples


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_our_dtmf_decoder_reads_sox_tones(tmp_path, rate):
    digits = "1593#*0D"
    parts = [_sox(tmp_path, "lead.wav", rate, "trim", "0", "0.2")]
    for i, key in enumerate(digits):
        low, high = dtmf_freqs(key)
        # 60 ms of the two tones then 50 ms of silence, as the reference's generator example
        parts.append(_sox(tmp_path, f"d{i}.wav", rate, "synth", "0.06", "sine", f"{low}", "synth", "0.06",
                          "sine", "mix", f"{high}", "gain", "-n", "-6", "pad", "0", "0.05"))
    samples = _sox_join(tmp_path, "dtmf.wav", parts)
    decoder = DtmfDecoder(rate)
    events = decoder.feed(samples) + decoder.flush()
    assert "".join(e.value for e in events) == digits
    assert events[0].t == pytest.approx(0.2, abs=0.004)


@pytest.mark.parametrize("rate", [8000, 22050, 48000])
@pytest.mark.parametrize("kind", list(MODES))
def test_our_selcall_decoder_reads_sox_tone_sequences(tmp_path, kind, rate):
    mode = MODES[kind]
    digits = "20033"
    parts = [_sox(tmp_path, "lead.wav", rate, "trim", "0", "0.2")]
    for i, d in enumerate(with_repeats(digits)):
        hz = mode.freqs[int(d, 16)]
        parts.append(_sox(tmp_path, f"t{i}.wav", rate, "synth", f"{mode.tone_s}", "sine", f"{hz}",
                          "gain", "-n", "-8"))
    parts.append(_sox(tmp_path, "tail.wav", rate, "trim", "0", "0.3"))
    samples = _sox_join(tmp_path, "selcall.wav", parts)
    decoder = SelcallDecoder(rate, kind)
    events = decoder.feed(samples) + decoder.flush()
    assert [e.value for e in events] == [digits]
    assert events[0].t == pytest.approx(0.2, abs=0.004)


@pytest.mark.parametrize("rate", [8000, 22050])
def test_our_qc2_decoder_reads_the_reference_sox_example(tmp_path, rate):
    # signaling-specs.md 3.1: group 4 code 61 = 445.7 Hz for 1 s then 339.6 Hz for 3 s
    a = _sox(tmp_path, "a.wav", rate, "synth", "1", "sine", "445.7", "gain", "-n", "-10")
    b = _sox(tmp_path, "b.wav", rate, "synth", "3", "sine", "339.6", "gain", "-n", "-10")
    samples = _sox_join(tmp_path, "qc2_4_61.wav", [a, b])
    decoder = Qc2Decoder(rate)
    events = decoder.feed(samples) + decoder.flush()
    assert [(e.value, e.extra["capcode"]) for e in events] == [((445.7, 339.6), "461")]


def test_run_multimon_names_the_missing_program(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PeerMissing, match="multimon-ng"):
        run_multimon("dtmf", np.zeros(100), 8000)
    with pytest.raises(ValueError, match="qc2"):
        run_multimon("qc2", np.zeros(100), 8000)


def test_repeat_expansion_matches_our_decoder():
    assert expand_repeats("34E3E") == "34433"
    assert expand_repeats("0E0E0") == "00000"
