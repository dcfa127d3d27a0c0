"""The audio soak runs end to end on a real JACK dummy server and counts what the console counted.

The figures are not asserted here (the soak is a measurement: ``dispatch-console bench audio-soak``
for 10 minutes per block size); these runs check that it starts its own server at the block size,
drives the real GUI with traffic, counts blocks and meter repaints, blames late cycles from jackd's
log, lets go of the server, and that a setup problem is exit code 2 with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hardware.audio.jack_server import parse_xruns
from tests.conftest import require_peer

ROOT = Path(__file__).resolve().parents[2]
ISSUE_KEYS = {"blocksize", "minutes", "blocks", "output_underflows", "input_underflows", "input_overflows",
              "output_overflows", "target", "pass"}


def _cli(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path),
               DISPATCH_CONSOLE_CONFIG_DIR=str(tmp_path / "config"), DISPATCH_CONSOLE_DATA_DIR=str(tmp_path / "data"))
    env.pop("JACK_DEFAULT_SERVER", None)
    return subprocess.run([sys.executable, "-m", "ui.cli", "bench", "audio-soak", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.mark.slow
def test_a_short_soak_on_a_private_server_counts_every_block(tmp_path):
    for program in ("jackd", "jack_lsp", "jack_connect", "jack_bufsize", "jack_metro"):
        require_peer(program)
    out = _cli(tmp_path, "--minutes", "0.25", "--blocksize", "256", "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    results = json.loads(out.stdout.strip().splitlines()[-1])["results"]
    assert len(results) == 1
    r = results[0]
    assert ISSUE_KEYS <= r.keys()
    assert r["blocksize"] == 256 and r["target"] == 0 and r["pass"] in (True, False)
    assert 0.24 <= r["minutes"] <= 0.3 and not r["stopped_early"]
    # One callback per JACK period: 15 s at 256 frames is ~2810 blocks (the dummy driver runs in real time).
    assert 2000 < r["blocks"] < 3300
    assert r["pass"] == (r["output_underflows"] + r["input_underflows"] == 0)
    assert 0 < r["callback_median_us"] <= r["callback_p99_us"] <= r["callback_max_us"]
    assert r["jack_xruns"] is not None and r["console_xruns"] is not None
    # The reference server ran the same minutes alongside; its xruns are the machine's own.
    if r["reference_xruns"] is None:  # jack2 allows only so many servers: the soak said why and went on
        assert "no reference server" in out.stderr
    else:
        assert 0 <= r["underflows_near_reference_xruns"] <= r["output_underflows"]
    assert r["meter_repaints"] > 0 and r["meter_polls"] > 0  # the GUI was really painting levels
    assert r["events_routed"] > 0 and r["operator_actions"] > 0  # traffic and the operator were busy
    assert set(r["views"]) == {"dispatcher", "technician_audio"}
    assert sum(v["output_underflows"] for v in r["views"].values()) == min(r["output_underflows"], 100)
    assert r["cpu_steal_percent"] is None or 0 <= r["cpu_steal_percent"] <= 100
    assert r["thread_cpu_percent"].get("gui", 0) > 0 and r["thread_cpu_percent"].get("audio-callback", 0) > 0
    # The private and reference servers are gone (the soak let PortAudio go first, so the processes exited cleanly).
    assert r["server"] and subprocess.run(["pgrep", "-f", f"jackd .*-n {r['server']} "], check=False,
                                          capture_output=True).returncode == 1
    assert subprocess.run(["pgrep", "-f", "jackd .*-n dcref-"], check=False, capture_output=True).returncode == 1


def test_a_named_server_that_is_not_running_is_a_setup_error(tmp_path):
    require_peer("jack_lsp")
    out = _cli(tmp_path, "--minutes", "0.1", "--jack-server", f"dc-no-such-server-{os.getpid()}", timeout=60)
    assert out.returncode == 2
    assert "no JACK server named" in out.stderr and "answers" in out.stderr


def test_jackd_log_lines_are_blamed_on_who_was_late():
    log = """JACK server starting in non-realtime mode
JackTimedDriver::Process XRun = 3791 usec
JackEngine::XRun: client = PortAudio was not finished, state = Triggered
JackEngine::XRun: client = dcsoak-feed was not run: state = 1
JackEngine::XRun: client = PortAudio was not finished, state = Running
Jack main caught signal 15
"""
    xruns = parse_xruns(log)
    assert xruns.driver == 1 and xruns.clients == {"PortAudio": 2, "dcsoak-feed": 1} and xruns.total == 4
    assert xruns.states == {"PortAudio: Triggered": 1, "PortAudio: Running": 1, "dcsoak-feed: not run": 1}
