"""Shared test set-up: offscreen Qt, per-test config/data folders, and real peers that must exist in CI.

pytest-qt provides one QApplication for the whole session (the ``qapp`` fixture).
"""

from __future__ import annotations

import os
import shutil

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

IN_CI = os.environ.get("CI", "").lower() == "true"

# External programs the suite uses as independent peers, and the Debian package that has each.
PEERS = {
    "jackd": "jackd2",
    "jack_lsp": "jackd2",
    "jack_connect": "jackd2",
    "jack_disconnect": "jackd2",
    "rigctld": "libhamlib-utils",
    "multimon-ng": "multimon-ng",
    "minimodem": "minimodem",
    "sox": "sox",
    "socat": "socat",
    "Xvfb": "xvfb",
    "desktop-file-validate": "desktop-file-utils",
    "appstreamcli": "appstream",
    "makensis": "nsis",
    "objdump": "binutils",  # PyInstaller reads binaries with it on Linux
}


def require_peer(program: str) -> str:
    """Path of ``program``; skips on a laptop without it, fails in CI (a green CI means it was tested)."""
    path = shutil.which(program)
    if path:
        return path
    message = f"{program} not found (Debian package {PEERS.get(program, '?')}); packaging/dev.sh test installs it"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def jack_server(monkeypatch):
    """A private JACK server (dummy backend, 48 kHz, 128 frames, 8 in/8 out) for one test; the
    process's JACK_DEFAULT_SERVER points at it, so PortAudio finds it when it (re)initialises."""
    from tests.jack import JackServer, unique_name

    for program in ("jackd", "jack_lsp", "jack_connect", "jack_disconnect"):
        require_peer(program)
    server = JackServer(unique_name())
    monkeypatch.setenv("JACK_DEFAULT_SERVER", server.name)
    try:
        yield server
    finally:
        if not server.running:
            # A server killed by the test keeps its slot in jack2's registry (8 slots per machine)
            # until a server of the same name registers again: register once more and shut down cleanly.
            try:
                server.start()
            except Exception:  # noqa: BLE001 - the teardown must go on; the slot stays taken
                pass
        server.stop()


@pytest.fixture
def rigctld_server():
    """A private rigctld (Hamlib dummy rig, ``-m 1 -P RIG``) on a free local port for one test."""
    from tests.rigctld import rigctld_server_for_test

    yield from rigctld_server_for_test()


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path, monkeypatch):
    """Every test gets its own config and data folders: no test sees another's profile or database."""
    config = tmp_path / "config"
    data = tmp_path / "data"
    monkeypatch.setenv("DISPATCH_CONSOLE_CONFIG_DIR", str(config))
    monkeypatch.setenv("DISPATCH_CONSOLE_DATA_DIR", str(data))
    return config, data
