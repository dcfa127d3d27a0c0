"""A private JACK server (dummy backend) for audio tests, driven through the real jack_* tools.

``JackServer(name)`` starts ``jackd --no-realtime -n NAME -d dummy ...`` and waits until ``jack_lsp``
answers. Every jack_* tool runs with ``JACK_DEFAULT_SERVER=NAME``, so tests never touch a JACK server
that someone else runs on the machine. ``kill`` is a crash (SIGKILL), ``pause``/``resume`` a wedged
server (SIGSTOP/SIGCONT), ``restart`` brings a killed server back under the same name.

PortAudio names its JACK ports ``PortAudio:in_N``/``PortAudio:out_N`` and connects them to the
``system`` ports when a stream starts; ``connect``/``disconnect`` rewire them (a loopback).

PortAudio (Debian's 19.6) aborts the process in ``Pa_Terminate`` once the JACK server it connected
to has gone (PortAudio issue #819), so a test process must let go of a server before stopping it:
``portaudio_backend`` below re-initialises PortAudio away from the server at teardown.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

START_TIMEOUT_S = 10.0
TOOL_TIMEOUT_S = 5.0

_numbers = itertools.count(1)


def unique_name() -> str:
    """A server name no other test (or test run) uses: ``dctest-<pid>-<n>``."""
    return f"dctest-{os.getpid()}-{next(_numbers)}"


class JackError(RuntimeError):
    pass


class JackServer:
    def __init__(self, name: str, samplerate: int = 48000, period: int = 128, capture: int = 8,
                 playback: int = 8) -> None:
        self.name = name
        self.samplerate = samplerate
        self.period = period
        self.capture = capture
        self.playback = playback
        self._log = Path(tempfile.gettempdir()) / f"{name}.jackd.log"
        self._process: subprocess.Popen | None = None
        self.start()

    # -- the server process ----------------------------------------------------------------------
    @property
    def command(self) -> list[str]:
        # The dummy driver sleeps -w microseconds between cycles (default 21333, i.e. 1024 frames at
        # 48 kHz whatever -p says); one period's worth makes it run in real time.
        wait_us = round(self.period * 1_000_000 / self.samplerate)
        # If the test process dies (a crash, a kill), the server goes with it instead of lingering:
        # jack2 allows only a few servers per machine.
        guard = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
        return [*guard, "jackd", "--no-realtime", "-n", self.name, "-d", "dummy", "-r", str(self.samplerate),
                "-p", str(self.period), "-w", str(wait_us), "-C", str(self.capture), "-P", str(self.playback)]

    def start(self) -> None:
        if self.running:
            return
        env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(self.command, stdin=subprocess.DEVNULL, stdout=log,
                                             stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise JackError(f"jackd {self.name} exited with {self._process.returncode}: {self._log_tail()}")
            if self._tool("jack_lsp", check=False).returncode == 0:
                return
            time.sleep(0.02)  # polling the server's socket; the deadline bounds it
        self.kill()
        raise JackError(f"jackd {self.name} did not answer jack_lsp within {START_TIMEOUT_S} s: {self._log_tail()}")

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self.running else None

    def kill(self) -> None:
        """Crash the server (SIGKILL): clients are not told, as when jackd dies for real."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGCONT)  # a paused server must still die
            process.kill()
            process.wait(TOOL_TIMEOUT_S)

    def stop(self) -> None:
        """Shut the server down cleanly (SIGTERM), or kill it if it does not go."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)
        process.terminate()
        try:
            process.wait(TOOL_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(TOOL_TIMEOUT_S)

    def restart(self) -> None:
        """Start again under the same name (after ``kill`` or ``stop``)."""
        self.kill()
        self.start()

    def pause(self) -> None:
        """Wedge the server (SIGSTOP): no more process cycles, clients' calls to it block."""
        if self.running:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.running:
            self._process.send_signal(signal.SIGCONT)

    # -- the graph --------------------------------------------------------------------------------
    def ports(self) -> list[str]:
        return [line for line in self._tool("jack_lsp").stdout.splitlines() if line.strip()]

    def connections(self) -> set[tuple[str, str]]:
        """Every connection as (output port, input port)."""
        # jack_lsp -c -p: a port name, its peers indented by spaces, then a tab-indented properties line.
        pairs: set[tuple[str, str]] = set()
        port, peers = "", []
        for line in self._tool("jack_lsp", "-c", "-p").stdout.splitlines():
            if line.startswith("\t"):
                if "output" in (flag.strip() for flag in line.split(":", 1)[-1].split(",")):
                    pairs.update((port, peer) for peer in peers)
            elif line.startswith(" "):
                peers.append(line.strip())
            elif line:
                port, peers = line, []
        return pairs

    def connect(self, source: str, destination: str) -> None:
        self._tool("jack_connect", source, destination)

    def disconnect(self, source: str, destination: str) -> None:
        self._tool("jack_disconnect", source, destination)

    # -- internals --------------------------------------------------------------------------------
    def _tool(self, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, JACK_DEFAULT_SERVER=self.name, JACK_NO_START_SERVER="1")
        result = subprocess.run([program, *args], capture_output=True, text=True, env=env, timeout=TOOL_TIMEOUT_S)
        if check and result.returncode != 0:
            raise JackError(f"{program} {' '.join(args)} on {self.name}: {result.stderr.strip() or result.returncode}")
        return result

    def _log_tail(self) -> str:
        try:
            return self._log.read_text(errors="replace")[-800:]
        except OSError:
            return "(no log)"

    def __repr__(self) -> str:
        return f"JackServer({self.name!r}, pid={self.pid})"


@pytest.fixture(params=["sounddevice", "pyaudio"])
def portaudio_backend(request, jack_server, monkeypatch):
    """Each PortAudio backend, initialised against ``jack_server``, let go of it again at teardown.

    Import it into a test module to use it (``from tests.jack import portaudio_backend``).
    """
    from hardware.audio.base import AudioDeviceError, open_backend, portaudio_closes_in_progress, portaudio_jack_lost

    try:
        backend = open_backend(request.param)
    except AudioDeviceError as exc:
        pytest.skip(str(exc))
    backend.rescan()  # PortAudio reads JACK_DEFAULT_SERVER when it initialises
    yield backend
    # Re-initialise away from the server before it stops (see the module docstring), once any close
    # a test abandoned on a paused server has returned.
    jack_server.resume()
    deadline = time.monotonic() + 10
    while portaudio_closes_in_progress() and time.monotonic() < deadline:
        time.sleep(0.02)
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"{jack_server.name}-stopped")
    assert not portaudio_jack_lost(), "a test let PortAudio lose its JACK server inside the test process"
    backend.rescan()
