"""`dispatch-console tone` files checked by independent peers: multimon-ng decodes the DTMF, sox measures
the test tone; Quick Call II and tone-remote files are measured against signaling-specs.md."""

from __future__ import annotations

import re
import subprocess

import pytest

from app.dsp.measure import peak_frequency, tone_level_dbfs
from app.dsp.wav import read_wav
from tests.conftest import require_peer
from ui.cli import main


def _render(tmp_path, *argv: str):
    path = tmp_path / "tone.wav"
    assert main(["tone", *argv, "-o", str(path)]) == 0
    return path


def test_multimon_ng_decodes_the_dtmf_digits(tmp_path):
    multimon = require_peer("multimon-ng")
    require_peer("sox")  # multimon-ng reads WAV files through sox
    path = _render(tmp_path, "dtmf", "5551234*#0", "--rate", "22050")
    out = subprocess.run([multimon, "-a", "DTMF", "-t", "wav", str(path)],
                         capture_output=True, text=True, timeout=60)
    assert re.findall(r"^DTMF: (\S)", out.stdout, re.MULTILINE) == list("5551234*#0"), out.stdout + out.stderr


@pytest.mark.parametrize(("argv", "pk_db", "rms_db"), [
    ((), -10.0, -13.01),
    (("--test-level", "-16"), -16.0, -19.01),
    (("--sidetone",), -22.0, -25.01),
])
def test_sox_measures_the_test_tone_level(tmp_path, argv, pk_db, rms_db):
    sox = require_peer("sox")
    path = _render(tmp_path, "test", "--seconds", "2", *argv)
    out = subprocess.run([sox, str(path), "-n", "stats"], capture_output=True, text=True, timeout=60)
    figures = dict(re.findall(r"^(Pk lev dB|RMS lev dB)\s+(\S+)", out.stderr, re.MULTILINE))
    assert float(figures["Pk lev dB"]) == pytest.approx(pk_db, abs=0.05), out.stderr
    assert float(figures["RMS lev dB"]) == pytest.approx(rms_db, abs=0.05), out.stderr


def test_sox_finds_the_test_tone_frequency(tmp_path):
    sox = require_peer("sox")
    # sox estimates from the sample-to-sample deltas, which read low at 8 kHz; at 48 kHz they hold.
    path = _render(tmp_path, "test", "--seconds", "2", "--rate", "48000")
    out = subprocess.run([sox, str(path), "-n", "stat"], capture_output=True, text=True, timeout=60)
    rough = float(re.search(r"Rough\s+frequency:\s+(\d+)", out.stderr).group(1))
    assert rough == pytest.approx(1004.0, abs=5.0), out.stderr


def test_qc2_file_has_tone_a_then_tone_b_at_the_table_frequencies(tmp_path):
    samples, rate = read_wav(_render(tmp_path, "qc2", "--group", "4", "--code", "61"))
    assert samples.shape[0] == 4 * rate
    assert peak_frequency(samples[:rate], rate) == pytest.approx(445.7, abs=0.5)
    assert peak_frequency(samples[rate:], rate) == pytest.approx(339.6, abs=0.5)
    assert tone_level_dbfs(samples[rate:], 339.6, rate) == pytest.approx(-10.0, abs=0.05)


def test_trc_file_is_the_keying_sequence_then_the_hold_tone(tmp_path):
    samples, rate = read_wav(_render(tmp_path, "trc", "--function", "1950", "--hold", "1.0", "--rate", "8000"))
    assert samples.shape[0] == 1040 + 320 + 8000  # 130 ms + 40 ms + 1 s at 8 kHz
    assert tone_level_dbfs(samples[:1040], 2175.0, rate) == pytest.approx(-4.0, abs=0.05)
    assert peak_frequency(samples[1040:1360], rate) == pytest.approx(1950.0, abs=0.5)
    assert tone_level_dbfs(samples[1040:1360], 1950.0, rate) == pytest.approx(-14.0, abs=0.05)
    assert peak_frequency(samples[1360:], rate) == pytest.approx(2175.0, abs=0.5)
    assert tone_level_dbfs(samples[1360:], 2175.0, rate) == pytest.approx(-34.0, abs=0.1)


def test_bad_tone_requests_exit_2_with_the_reason(tmp_path, capsys):
    assert main(["tone", "dtmf", "12x", "-o", str(tmp_path / "x.wav")]) == 2
    assert "digit 3" in capsys.readouterr().err
    assert main(["tone", "trc", "--function", "F9", "-o", str(tmp_path / "x.wav")]) == 2
    assert "F9" in capsys.readouterr().err
    assert main(["tone", "test", "-o", str(tmp_path / "no" / "such" / "dir.wav")]) == 1
    assert not (tmp_path / "x.wav").exists()
