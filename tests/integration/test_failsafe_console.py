"""The running console unkeys its radios itself on SIGTERM, SIGINT and an unhandled exception.

The console under test is the real GUI process (offscreen) with a serial radio behind an RFC 2217
terminal server that does NOT drop its lines when the session ends (tests/rfc2217_peer.py,
``drop_on_hangup=False``): so when the server's RTS falls, it is the console that lowered it. A
footswitch on a second terminal server keys the radio (instant transmit), as an operator would.
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

from tests.rfc2217_peer import Rfc2217Peer

ROOT = Path(__file__).resolve().parents[2]

PROFILE = """
schema_version = 1
[position]
name = "FAILSAFE-1"
[storage]
path = "{db}"
[[radios]]
id = "fire"
name = "FIRE"
kind = "serial"
url = "{radio}"
ptt_line = "rts"
carrier_line = "none"
[[inputs]]
id = "pedal"
kind = "serial-line"
url = "{pedal}"
line = "cts"
debounce_ms = 0.0
action = "itx:fire"
"""


def _events(db: Path) -> list[tuple[str, str, str, str]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
        return con.execute("SELECT kind, channel, source, detail FROM events ORDER BY id").fetchall()


def _wait_for_event(db: Path, kind: str, source: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if any(e[0] == kind and (e[1] == source or e[2] == source) for e in _events(db)):
                return
        except sqlite3.Error:
            pass  # not created yet
        time.sleep(0.05)  # polling another process's database; the deadline bounds it
    raise AssertionError(f"no {kind} for {source} within {timeout:g} s")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_unkeys_the_radio_before_the_console_exits(tmp_path, signum):
    db = tmp_path / "pos.sqlite3"
    with Rfc2217Peer(drop_on_hangup=False) as radio, Rfc2217Peer(drop_on_hangup=False) as pedal:
        path = tmp_path / "position.toml"
        path.write_text(PROFILE.format(db=db, radio=radio.url, pedal=pedal.url))
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        console = subprocess.Popen([sys.executable, "-m", "ui.cli", "--config", str(path)], cwd=ROOT, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            radio.wait_sessions(accepted=1, timeout=20)
            pedal.wait_sessions(accepted=1, timeout=20)
            _wait_for_event(db, "link.up", "pedal")
            _wait_for_event(db, "link.up", "fire")
            pedal.set_lines(rts=True)  # loops to the pedal port's CTS: pressed
            radio.port.wait_level("rts", True, timeout=10)
            console.send_signal(signum)
            radio.port.wait_level("rts", False, timeout=10)
            assert console.wait(15) == 0
        finally:
            if console.poll() is None:
                console.kill()
            output = console.communicate()[0].decode(errors="replace")
        assert radio.port.levels("rts")[-2:] == [True, False], output[-2000:]
    unkeys = [e for e in _events(db) if e[0] == "ptt.unkey" and e[1] == "fire"]
    assert unkeys, output[-2000:]
    name = signal.Signals(signum).name
    assert any(name in e[3] or e[3] == "shutdown" for e in unkeys), unkeys


def test_an_unhandled_exception_unkeys_every_radio(qtbot, tmp_path):
    """The hook the GUI installs (ui/startup.py) on a position keyed on a loop:// serial radio."""
    from PySide6.QtWidgets import QApplication

    from app.config import load_profile
    from app.position import Position
    from ui.startup import _install_failsafes

    path = tmp_path / "position.toml"
    path.write_text(PROFILE.format(db=tmp_path / "pos.sqlite3", radio="loop://", pedal="loop://")
                    .replace('action = "itx:fire"', 'action = "ptt"'))
    position = Position(load_profile(path), profile_path=str(path))
    saved_hook = sys.excepthook
    saved_handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        position.start()
        passed_on = []
        sys.excepthook = lambda *exc: passed_on.append(exc[0])  # what runs after the console's hook
        _install_failsafes(QApplication.instance(), position)
        radio = position.driver("fire")
        position.select_channel("fire", True)
        qtbot.waitUntil(lambda: any(c.id == "fire" and c.selected and c.link == "up"
                                    for c in position.console.channels), timeout=5000)
        position.ptt("console", True)
        qtbot.waitUntil(lambda: radio.keyed, timeout=5000)
        try:
            raise RuntimeError("a bug somewhere in the console")
        except RuntimeError:
            sys.excepthook(*sys.exc_info())
        qtbot.waitUntil(lambda: not radio.keyed, timeout=2000)
        assert passed_on == [RuntimeError]  # and the exception still reaches the previous hook
    finally:
        sys.excepthook = saved_hook
        for signum, handler in saved_handlers.items():
            signal.signal(signum, handler)
        position.stop()
    unkeys = [e for e in _events(tmp_path / "pos.sqlite3") if e[0] == "ptt.unkey" and e[1] == "fire"]
    assert any("unhandled exception: RuntimeError" in e[3] for e in unkeys), unkeys
