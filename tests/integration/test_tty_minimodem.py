"""TTY against an independent modem, both directions: minimodem decodes our encoder's files, and we decode
minimodem's and sox's (signaling-specs.md 5.4). Real programs on real WAV files."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from app.dsp.baudot import TtyDecoder, encode_tty
from app.dsp.wav import read_wav, write_wav
from tests.conftest import require_peer

TEXT = "911 WHAT IS YOUR EMERGENCY? 12 MAIN ST, APT 3-B."


def _ours(samples: np.ndarray, rate: int) -> str:
    decoder = TtyDecoder(rate)
    return "".join(e.value for e in decoder.feed(samples) + decoder.flush())


@pytest.mark.parametrize("rate", [8000, 48000])
def test_minimodem_decodes_our_encoder(tmp_path, rate):
    minimodem = require_peer("minimodem")
    path = tmp_path / "ours.wav"
    write_wav(path, encode_tty(TEXT, samplerate=rate), rate)
    out = subprocess.run([minimodem, "--rx", "tdd", "-q", "-f", str(path)], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == TEXT, out.stderr


@pytest.mark.parametrize("rate", [8000, 22050, 48000])
def test_we_decode_minimodems_encoder(tmp_path, rate):
    minimodem = require_peer("minimodem")
    path = tmp_path / "theirs.wav"
    subprocess.run([minimodem, "--tx", "tdd", "-R", str(rate), "-f", str(path)], input=TEXT + "\n", text=True,
                   check=True, timeout=60)
    samples, file_rate = read_wav(path)
    assert file_rate == rate
    assert _ours(samples, rate) == TEXT + "\n"  # minimodem ends the line with LF


def test_we_decode_a_sox_generated_frame_sequence(tmp_path):
    sox = require_peer("sox")
    # "LTRS H I" as sox tones: each bit one 22 ms synth segment at the mark or space frequency, 2 stop bits.
    bit = 1 / 45.45
    bits = [1] * 7
    for code in (31, 20, 6):
        bits += [0] + [(code >> i) & 1 for i in range(5)] + [1, 1]
    bits += [1] * 7
    parts = []
    for index, value in enumerate(bits):
        part = tmp_path / f"b{index:03}.wav"
        subprocess.run([sox, "-n", "-r", "8000", "-b", "16", "-c", "1", str(part), "synth", f"{bit:.6f}", "sine",
                        "1400" if value else "1800", "vol", "0.3"], check=True, timeout=60)
        parts.append(str(part))
    joined = tmp_path / "sox.wav"
    subprocess.run([sox, *parts, str(joined)], check=True, timeout=60)
    samples, rate = read_wav(joined)
    assert _ours(samples, rate) == "HI"
