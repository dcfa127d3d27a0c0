"""``dispatch-console decode`` / ``encode``: every kind round trips through WAV files, independent peers read
our files (multimon-ng, minimodem), and bad files or arguments exit 2 with the reason."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from app.dsp.wav import write_wav
from tests.conftest import require_peer
from ui.cli import main

ROOT = Path(__file__).resolve().parents[2]

CASES = [
    (("mdc1200", "--op", "0x01", "--arg", "0x80", "--unit", "1234"),
     {"op": 1, "arg": 128, "unit": "1234"}),
    (("dtmf", "5551234"), None),  # one event per key, checked below
    (("tty", "HELLO 911"), "HELLO 911"),
    (("qc2", "--tones", "349.0", "433.7"), [349.0, 433.7]),
    (("zvei1", "12345"), "12345"),
    (("ccir", "12344"), "12344"),
    (("eea", "90210"), "90210"),
    (("eia", "4711"), "4711"),
]


def _events(capsys, kind: str, path) -> list[dict]:
    capsys.readouterr()
    assert main(["decode", kind, str(path)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize(("argv", "value"), CASES, ids=[c[0][0] for c in CASES])
@pytest.mark.parametrize("rate", [8000, 48000])
def test_encode_then_decode_round_trips(tmp_path, capsys, argv, value, rate):
    kind = argv[0]
    path = tmp_path / f"{kind}.wav"
    assert main(["encode", *argv, "--rate", str(rate), "-o", str(path)]) == 0
    with wave.open(str(path)) as wav:
        assert wav.getframerate() == rate and wav.getnchannels() == 1
    events = _events(capsys, kind, path)
    assert all(e["kind"] == kind and isinstance(e["t"], float | int) for e in events)
    if kind == "dtmf":
        assert "".join(e["value"] for e in events) == "5551234"
    elif kind == "mdc1200":
        (event,) = events
        assert {k: event["value"][k] for k in ("op", "arg", "unit")} == value
        assert event["value"]["meaning"]
    else:
        (event,) = events
        assert event["value"] == value


def test_multimon_ng_decodes_our_dtmf_and_zvei1(tmp_path):
    multimon = require_peer("multimon-ng")
    require_peer("sox")  # multimon-ng reads WAV files through sox
    for argv, demod, expect in ((("dtmf", "5551234"), "DTMF", "DTMF: 5"), (("zvei1", "12345"), "ZVEI1",
                                                                             "ZVEI1: 12345")):
        path = tmp_path / f"{argv[0]}.wav"
        assert main(["encode", *argv, "--rate", "22050", "-o", str(path)]) == 0
        out = subprocess.run([multimon, "-a", demod, "-t", "wav", str(path)], capture_output=True, text=True,
                             check=True, timeout=60)
        assert expect in out.stdout, out.stdout + out.stderr


def test_minimodem_decodes_our_tty_file(tmp_path):
    minimodem = require_peer("minimodem")
    path = tmp_path / "tty.wav"
    assert main(["encode", "tty", "GA SK 123", "-o", str(path)]) == 0
    out = subprocess.run([minimodem, "--rx", "tdd", "-q", "-f", str(path)], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "GA SK 123"


@pytest.mark.parametrize(("argv", "reason"), [
    (("encode", "dtmf", "12x"), "digit 3"),
    (("encode", "dtmf"), "give the digits"),
    (("encode", "tty", "100%"), "'%' at position 4"),
    (("encode", "mdc1200", "--op", "0x01", "--arg", "0x80"), "--unit"),
    (("encode", "mdc1200", "--op", "0x01", "--arg", "0x80", "--unit", "XYZW"), "XYZW"),
    (("encode", "zvei1", "123", "--stop-bits", "2"), "--stop-bits does not apply to zvei1"),
    (("encode", "tty", "HI", "--rate", "11025"), "11025"),
    (("encode", "qc2"), "group"),
])
def test_bad_encode_requests_exit_2_with_the_reason(tmp_path, capsys, argv, reason):
    out = tmp_path / "x.wav"
    assert main([*argv, "-o", str(out)]) == 2
    assert reason in capsys.readouterr().err
    assert not out.exists()


def test_argparse_rejects_a_non_byte_opcode(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["encode", "mdc1200", "--op", "0x100", "--arg", "0", "--unit", "1", "-o", str(tmp_path / "x.wav")])
    assert exit_.value.code == 2 and "not a byte" in capsys.readouterr().err


def test_bad_files_exit_2_with_the_reason(tmp_path, capsys):
    assert main(["decode", "tty", str(tmp_path / "missing.wav")]) == 2
    assert "no such file" in capsys.readouterr().err
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"this is not a wav file at all")
    assert main(["decode", "dtmf", str(junk)]) == 2
    assert "junk.wav is not a readable WAV file" in capsys.readouterr().err
    stereo = tmp_path / "stereo.wav"
    with wave.open(str(stereo), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(8000)
        out.writeframes(b"\0" * 400)
    assert main(["decode", "dtmf", str(stereo)]) == 2
    assert "mono" in capsys.readouterr().err
    odd_rate = tmp_path / "odd.wav"
    write_wav(odd_rate, np.zeros(1000), 11025)
    assert main(["decode", "zvei1", str(odd_rate)]) == 2
    assert "11025" in capsys.readouterr().err


def test_decode_runs_as_a_command_without_qt_widgets(tmp_path):
    path = tmp_path / "eia.wav"
    assert main(["encode", "eia", "4711", "-o", str(path)]) == 0
    code = (f"import sys; from ui.cli import main; rc = main(['decode', 'eia', {str(path)!r}]); "
            "assert 'PySide6.QtWidgets' not in sys.modules; sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=False)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["value"] == "4711"
