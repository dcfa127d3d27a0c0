"""A lost sound device unkeys every transmitter, alarms the operator, and sound comes back.

Real PortAudio (sounddevice) on a private JACK server (dummy backend). A wedged server (SIGSTOP)
is recovered by the stream's supervisor; a killed server cannot be recovered inside the process
that had PortAudio connected to it (PortAudio 19.6, see hardware/audio/base.py). With the sound
device in its own audio process (the default) a new audio process is started and the console keeps
running; with ``process = "inline"`` the console restarts itself. Both are tested on the real GUI
process, which must find the server again once it is restarted.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.config import load_profile
from app.position import Position

ROOT = Path(__file__).resolve().parents[2]

PROFILE = """
schema_version = 1
[position]
name = "JACK-1"
[storage]
path = "{db}"
[audio]
backend = "sounddevice"
device = "system"
blocksize = 128
latency = "low"
restart_after_s = {restart_after_s}
process = "{process}"
[audio.channels]
headset_left = 1
headset_right = 2
headset_mic = 1
fire_rx = 2
fire_tx = 3
[[radios]]
id = "fire"
name = "FIRE"
kind = "sim"
bursts_per_minute = 0.0
rx_input = "fire_rx"
tx_output = "fire_tx"
"""


def write_profile(tmp_path: Path, restart_after_s: float = 10.0, process: str = "separate") -> Path:
    path = tmp_path / "position.toml"
    path.write_text(PROFILE.format(db=tmp_path / "pos.sqlite3", restart_after_s=restart_after_s, process=process))
    return path


def let_go_of_jack(server, monkeypatch) -> None:
    """Re-initialise PortAudio away from the test's server before the fixture stops it."""
    from hardware.audio.base import open_backend, portaudio_closes_in_progress

    server.resume()
    deadline = time.monotonic() + 10
    while portaudio_closes_in_progress() and time.monotonic() < deadline:
        time.sleep(0.02)
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"{server.name}-stopped")
    open_backend("sounddevice").rescan()


def test_wedged_sound_server_unkeys_alarms_and_recovers(qtbot, tmp_path, jack_server, monkeypatch):
    from hardware.audio.base import open_backend

    open_backend("sounddevice").rescan()  # PortAudio reads JACK_DEFAULT_SERVER when it initialises
    path = write_profile(tmp_path)
    pos = Position(load_profile(path), profile_path=str(path))
    try:
        pos.start()
        qtbot.waitUntil(lambda: pos.audio.state == "up", timeout=8000)
        assert "system" in pos.audio.device and pos.audio.latency_ms[1] > 0
        assert pos.driver("audio").pid not in (0, os.getpid())  # the stream runs in the audio process
        pos.select_channel("fire", True)
        pos.ptt("console", True)
        qtbot.waitUntil(lambda: pos.driver("fire").keyed, timeout=3000)

        jack_server.pause()
        qtbot.waitUntil(lambda: pos.audio.alarm != "", timeout=5000)
        qtbot.waitUntil(lambda: not pos.driver("fire").keyed, timeout=2000)
        channel = next(c for c in pos.console.channels if c.id == "fire")
        assert not channel.transmitting
        assert "Every transmitter was unkeyed" in pos.audio.alarm and not pos.audio.restart_required

        jack_server.resume()
        qtbot.waitUntil(lambda: pos.audio.state == "up" and pos.audio.alarm == "", timeout=15000)
        blocks = pos.audio.counters.blocks
        qtbot.waitUntil(lambda: pos.audio.counters.blocks > blocks + 100, timeout=5000)
        assert pos.audio.restarts >= 1
        pos.ptt("console", False)
    finally:
        pos.stop()
        let_go_of_jack(jack_server, monkeypatch)
    rows = sqlite3.connect(tmp_path / "pos.sqlite3").execute(
        "SELECT kind, channel, source, detail FROM events ORDER BY id").fetchall()
    kinds = [r[0] for r in rows]
    assert kinds.index("audio.lost") < kinds.index("audio.back")
    unkeys = [r for r in rows if r[0] == "ptt.unkey" and r[1] == "fire"]
    assert unkeys and unkeys[0][3].startswith("audio device lost")


def events(db: Path) -> list[tuple[str, str, str]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("SELECT kind, source, detail FROM events ORDER BY id").fetchall()
    except sqlite3.Error:
        return []


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)  # polling another process's database; the deadline bounds it
    raise AssertionError(f"timed out waiting for {what}")


def start_console(path: Path, jack_server) -> subprocess.Popen:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", JACK_DEFAULT_SERVER=jack_server.name)
    return subprocess.Popen([sys.executable, "-m", "ui.cli", "--config", str(path)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def stop_console(proc: subprocess.Popen) -> str:
    """SIGTERM, as the desktop does at logout (killed if it hangs); the end of what it printed."""
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out.decode(errors="replace")[-3000:]


def audio_up(db: Path) -> list[tuple[str, str, str]]:
    return [e for e in events(db) if e[0] == "link.up" and e[1] == "audio"]


@pytest.mark.slow
def test_killed_sound_server_restarts_the_audio_process_and_the_console_keeps_running(tmp_path, jack_server):
    path = write_profile(tmp_path, restart_after_s=0.5)
    db = tmp_path / "pos.sqlite3"
    proc = start_console(path, jack_server)
    try:
        wait_for(lambda: len(audio_up(db)) >= 1, 20, "the console's sound device to come up")
        jack_server.kill()
        wait_for(lambda: any(e[0] == "audio.lost" for e in events(db)), 15, "the console to see the sound lost")
        jack_server.start()
        wait_for(lambda: len(audio_up(db)) >= 2, 30, "a new audio process to find the sound server again")
        kinds = [e[0] for e in events(db)]
        assert "console.restart" not in kinds and kinds.count("position.start") == 1
        assert kinds.index("audio.lost") < len(kinds) - kinds[::-1].index("link.up")
        assert proc.poll() is None
    finally:
        out = stop_console(proc)
    assert proc.returncode == 0, out


@pytest.mark.slow
def test_killed_sound_server_restarts_an_inline_console_which_finds_it_again(tmp_path, jack_server):
    path = write_profile(tmp_path, restart_after_s=0.5, process="inline")
    db = tmp_path / "pos.sqlite3"
    proc = start_console(path, jack_server)
    try:
        wait_for(lambda: len(audio_up(db)) >= 1, 20, "the console's sound device to come up")
        jack_server.kill()
        wait_for(lambda: any(e[0] == "console.restart" for e in events(db)), 15, "the console to restart itself")
        jack_server.start()
        wait_for(lambda: [e[0] for e in events(db)].count("position.start") >= 2 and len(audio_up(db)) >= 2,
                 30, "the restarted console to find the sound server again")
        assert proc.poll() is None  # the same process (exec'd in place), still running
        kinds = [e[0] for e in events(db)]
        assert kinds.index("audio.lost") < kinds.index("console.restart") < len(kinds) - kinds[::-1].index(
            "position.start") - 1
    finally:
        out = stop_console(proc)
    assert proc.returncode == 0, out
