"""`diag ptt`, `diag rig` and `diag trc` on real peers: a loop-back serial port, an RFC 2217 terminal server
over a loop port (so the test process sees the CLI's RTS), rigctld's dummy rig, and the null sound device.

The CLI runs as a child process: Ctrl-C (SIGINT) and SIGTERM while it holds the radio keyed must unkey it.
The RFC 2217 peer is made NOT to drop its lines on hang-up, so a low RTS afterwards was set by the CLI itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.bench.radio_checks import KeyTestError, key_radio, rig_check, trc_test
from app.config import load_profile
from app.config.schema import SerialRadio
from tests.rfc2217_peer import Rfc2217Peer

ROOT = Path(__file__).resolve().parents[2]


def _profile(tmp_path: Path, radios: str) -> Path:
    path = tmp_path / "bench.toml"
    path.write_text(
        'schema_version = 1\n[position]\nname = "BENCH-1"\nrole = "technician"\n'
        '[audio]\nbackend = "null"\n[audio.channels]\nheadset_left = 1\nheadset_mic = 1\n'
        + ("base_tx = 2\n" if "base_tx" in radios else "") + radios, encoding="utf-8")
    return path


def _serial_radio(url: str, *, live: bool = False) -> str:
    return (f'[[radios]]\nid = "r1"\nname = "R1"\nkind = "serial"\nurl = "{url}"\ncarrier_line = "cts"\n'
            f'debounce_ms = 0\nlive = {"true" if live else "false"}\n')


def _hamlib_radio(server, *, live: bool = False) -> str:
    return (f'[[radios]]\nid = "hf"\nname = "HF"\nkind = "hamlib"\nhost = "{server.host}"\nport = {server.port}\n'
            f'poll_ms = 50\nlive = {"true" if live else "false"}\n')


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ui.cli", "diag", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)


def _start_keyed(*args: str) -> subprocess.Popen:
    """The CLI keying for a long time; returns once it says it is keyed."""
    child = subprocess.Popen([sys.executable, "-m", "ui.cli", "diag", *args], cwd=ROOT, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    line = child.stderr.readline()
    if not line.startswith("KEYED"):
        child.kill()
        out, rest = child.communicate(5)
        pytest.fail(f"the CLI did not key: {line}{rest}{out}")
    return child


def _finish(child: subprocess.Popen) -> tuple[int, dict]:
    try:
        out, _err = child.communicate(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)
    return child.returncode, json.loads(out)


# --- in process: the loop-back plug shows the key


def test_keying_a_loop_back_serial_radio_shows_rts_on_cts_and_unkeys():
    cfg = SerialRadio(id="r1", name="R1", kind="serial", url="loop://", debounce_ms=0)
    report = key_radio(cfg, 0.3)
    assert report.result == "ok", report.error
    assert 0.3 <= report.keyed_s < 1.0
    assert [c["keyed"] for c in report.confirmations] == [True, False]
    assert [c["active"] for c in report.carrier] == [True, False], "RTS looped to CTS: the carrier followed the key"
    assert report.keyed_wall < report.unkeyed_wall and report.unkeyed


def test_a_cancel_while_keyed_unkeys_at_once():
    cfg = SerialRadio(id="r1", name="R1", kind="serial", url="loop://", debounce_ms=0)
    cancel = threading.Event()
    report = key_radio(cfg, 30, cancel=cancel, progress=lambda held, total: cancel.set())
    assert report.result == "cancelled"
    assert report.keyed_s < 5 and report.unkeyed
    assert report.confirmations[-1]["keyed"] is False


def test_a_port_that_cannot_open_fails_without_keying():
    cfg = SerialRadio(id="r1", name="R1", kind="serial", url="/dev/does-not-exist-h10", debounce_ms=0)
    report = key_radio(cfg, 1, link_timeout_s=0.5)
    assert report.result == "failed"
    assert "did not come up" in report.error and "/dev/does-not-exist-h10" in report.error
    assert report.keyed_wall is None and report.confirmations == []


def test_tone_remote_radios_are_sent_to_diag_trc(tmp_path):
    profile = load_profile(_profile(tmp_path, '[[radios]]\nid = "base"\nname = "BASE"\nkind = "tone-remote"\n'
                                              'tx_output = "base_tx"\n'))
    with pytest.raises(KeyTestError, match="diag trc base"):
        key_radio(profile.radios[0], 1)


# --- the CLI: refusal, SIGINT and SIGTERM while keyed


def test_a_live_radio_is_refused_without_the_flag_and_nothing_is_keyed(tmp_path):
    with Rfc2217Peer(drop_on_hangup=False) as peer:
        config = _profile(tmp_path, _serial_radio(peer.url, live=True))
        done = _cli("ptt", "r1", "--seconds", "1", "--config", str(config))
        assert done.returncode == 2
        assert "live = true" in done.stderr and "--yes-live" in done.stderr
        assert peer.sessions == 0 and peer.port.levels("rts") == []


def test_sigint_while_keyed_on_a_terminal_server_unkeys(tmp_path):
    with Rfc2217Peer(drop_on_hangup=False) as peer:
        config = _profile(tmp_path, _serial_radio(peer.url, live=True))
        child = _start_keyed("ptt", "r1", "--seconds", "60", "--config", str(config), "--yes-live", "--json")
        peer.port.wait_level("rts", True)
        child.send_signal(signal.SIGINT)
        code, report = _finish(child)
        peer.port.wait_level("rts", False)
        levels = peer.port.levels("rts")
        assert True in levels and levels[-1] is False, f"the CLI dropped RTS itself (the peer does not): {levels}"
        assert code == 1 and report["result"] == "cancelled" and report["cancelled_by"] == "SIGINT"
        assert report["keyed_s"] < 30 and report["unkeyed_wall"] > report["keyed_wall"]
        assert [c["keyed"] for c in report["confirmations"]] == [True, False]


def test_sigint_while_keyed_on_rigctld_unkeys(tmp_path, rigctld_server):
    config = _profile(tmp_path, _hamlib_radio(rigctld_server))
    child = _start_keyed("ptt", "hf", "--seconds", "60", "--config", str(config), "--json")
    assert rigctld_server.ptt(), "rigctld itself says the rig is keyed"
    child.send_signal(signal.SIGINT)
    code, report = _finish(child)
    assert not rigctld_server.ptt()
    assert code == 1 and report["cancelled_by"] == "SIGINT" and report["unkeyed"]


def test_sigterm_while_keyed_on_rigctld_unkeys(tmp_path, rigctld_server):
    config = _profile(tmp_path, _hamlib_radio(rigctld_server))
    child = _start_keyed("ptt", "hf", "--seconds", "60", "--config", str(config), "--json")
    assert rigctld_server.ptt()
    os.kill(child.pid, signal.SIGTERM)
    code, report = _finish(child)
    assert not rigctld_server.ptt()
    assert code == 1
    assert report["cancelled_by"] == "SIGTERM" and report["result"] == "cancelled"


def test_diag_ptt_keys_for_the_time_asked_and_prints_what_happened(tmp_path, rigctld_server):
    config = _profile(tmp_path, _hamlib_radio(rigctld_server))
    done = _cli("ptt", "hf", "--seconds", "0.5", "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert "result       ok" in done.stdout
    assert "keyed at" in done.stdout and "unkeyed at" in done.stdout
    assert "confirmed    +" in done.stdout and "KEYED" in done.stdout
    assert not rigctld_server.ptt()


def test_unknown_radio_names_the_ones_there_are(tmp_path):
    config = _profile(tmp_path, _serial_radio("loop://"))
    done = _cli("ptt", "nope", "--seconds", "1", "--config", str(config))
    assert done.returncode == 2 and "no radio 'nope'" in done.stderr and "r1" in done.stderr


# --- diag rig


def test_rig_check_reads_model_frequency_and_ptt(rigctld_server):
    report = rig_check(rigctld_server.host, rigctld_server.port)
    assert report.ok, report.error
    assert (report.manufacturer, report.model) == ("Hamlib", "Dummy")
    assert report.frequency_hz == int(rigctld_server.ask("f")["Frequency"])
    assert report.ptt is False and report.mode == rigctld_server.ask("m")["Mode"]


def test_diag_rig_json_on_a_keyed_rig(tmp_path, rigctld_server):
    rigctld_server.ask("T 1")
    config = _profile(tmp_path, _hamlib_radio(rigctld_server))
    done = _cli("rig", "hf", "--config", str(config), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["ptt"] is True and report["model"] == "Dummy"
    assert rigctld_server.ptt(), "the check changes nothing"


def test_diag_rig_names_a_rigctld_that_is_not_there(rigctld_server):
    address = rigctld_server.address
    rigctld_server.kill()
    done = _cli("rig", address)
    assert done.returncode == 1
    assert f"rigctld {address}" in done.stdout and "FAILED" in done.stdout


# --- diag trc


def test_trc_sequence_on_the_null_device_measures_each_tone(tmp_path):
    config = _profile(tmp_path, '[[radios]]\nid = "base"\nname = "BASE"\nkind = "tone-remote"\n'
                                'tx_output = "base_tx"\nfunctions = { F2 = 1850.0 }\n')
    report = trc_test(load_profile(config), "base", function="f2", hold_s=0.3)
    assert report.result == "ok", report.error
    hlgt, function, llgt = report.segments
    assert abs(function.measured_hz - 1850.0) < 2 and abs(hlgt.measured_hz - 2175.0) < 2
    assert hlgt.level_dbfs - llgt.level_dbfs == pytest.approx(30.0, abs=0.5)  # +6 dB vs -24 dB of the test level
    assert report.output_rms_dbfs < -30, "the engine's meter read the low-level guard while held"
    done = _cli("trc", "base", "--config", str(config), "--function", "F9")
    assert done.returncode == 2 and "no function 'F9'" in done.stderr


def test_diag_trc_json(tmp_path):
    config = _profile(tmp_path, '[[radios]]\nid = "base"\nname = "BASE"\nkind = "tone-remote"\ntx_output = "base_tx"\n')
    done = _cli("trc", "base", "--config", str(config), "--json", "--hold", "0.2")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["output"] == 2 and [s["name"] for s in report["segments"]] == ["HLGT", "function", "LLGT"]
    assert all(s["ok"] for s in report["segments"])
