"""A private JACK server (dummy backend) run through the real jackd and jack_* tools.

``JackServer(name)`` starts ``jackd --no-realtime -n NAME -d dummy ...`` and waits until ``jack_lsp``
answers. Every jack_* tool runs with ``JACK_DEFAULT_SERVER=NAME``, so nothing here touches a JACK
server that someone else runs on the machine. ``kill`` is a crash (SIGKILL), ``pause``/``resume`` a
wedged server (SIGSTOP/SIGCONT), ``restart`` brings a killed server back under the same name.

The tests (tests/jack.py) and ``dispatch-console bench audio-soak`` use it; the console itself never
starts a sound server.

PortAudio names its JACK ports ``PortAudio:in_N``/``PortAudio:out_N`` and connects them to the
``system`` ports when a stream starts; ``connect``/``disconnect`` rewire them (a loopback).

PortAudio (Debian's 19.6) aborts the process in ``Pa_Terminate`` once the JACK server it connected
to has gone (PortAudio issue #819), so a process must let go of a server before stopping it:
re-initialise PortAudio with ``JACK_DEFAULT_SERVER`` naming a server that does not exist.

jackd's own output goes to ``log_path``; ``xruns`` reads from it who was late (a client that had not
finished its cycle, or the dummy driver's own clock falling behind).
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT_S = 10.0
TOOL_TIMEOUT_S = 5.0
DEBIAN_PACKAGE = "jackd2"  # jackd and the jack_* tools
TOOLS = ("jackd", "jack_lsp", "jack_connect", "jack_disconnect")

_numbers = itertools.count(1)

# jack2's complaints about a late cycle: a client that had not finished (or not run), or the
# timed (dummy) driver waking up after the cycle it should have started.
_CLIENT_XRUN = re.compile(r"XRun: client = (?P<client>.+?) was not (?:finished|run)(?:, state = (?P<state>\w+))?")
_DRIVER_XRUN = re.compile(r"JackTimedDriver::Process XRun")


class JackError(RuntimeError):
    pass


def unique_name(prefix: str = "dctest") -> str:
    """A server name nothing else on the machine uses: ``<prefix>-<pid>-<n>``."""
    return f"{prefix}-{os.getpid()}-{next(_numbers)}"


def missing_tools(tools: tuple[str, ...] = TOOLS) -> list[str]:
    """The JACK programs not on PATH (all come in Debian's ``jackd2`` package)."""
    return [tool for tool in tools if shutil.which(tool) is None]


def tool_env(server: str) -> dict[str, str]:
    """The environment a JACK client needs to reach ``server`` and never start one of its own."""
    return dict(os.environ, JACK_DEFAULT_SERVER=server, JACK_NO_START_SERVER="1")


def run_tool(server: str, program: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run a jack_* tool against ``server``; JackError (naming tool and server) when it fails."""
    try:
        result = subprocess.run([program, *args], capture_output=True, text=True, env=tool_env(server), check=False,
                                timeout=TOOL_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise JackError(f"{program} {' '.join(args)} on {server}: {exc}") from exc
    if check and result.returncode != 0:
        raise JackError(f"{program} {' '.join(args)} on {server}: {result.stderr.strip() or result.returncode}")
    return result


def server_answers(server: str) -> bool:
    """Whether a JACK server of this name is running (``jack_lsp`` reaches it)."""
    try:
        return run_tool(server, "jack_lsp", check=False).returncode == 0
    except JackError:
        return False


def server_period(server: str) -> int:
    """A running server's buffer size in frames (``jack_bufsize`` with no argument prints it)."""
    text = run_tool(server, "jack_bufsize").stdout
    found = re.search(r"(\d+)", text)
    if not found:
        raise JackError(f"jack_bufsize on {server}: cannot read the buffer size from {text.strip()!r}")
    return int(found.group(1))


def list_ports(server: str) -> list[str]:
    return [line for line in run_tool(server, "jack_lsp").stdout.splitlines() if line.strip()]


@dataclass(frozen=True)
class XRuns:
    """Late cycles jackd reported: per client that was not finished, and the driver's own.

    ``states`` splits the clients' by what the client was doing: "Triggered" (woken but not yet
    running: it got no CPU, or waited on a client before it) or "Running" (inside its callback).
    """

    clients: dict[str, int]
    driver: int
    states: dict[str, int] = field(default_factory=dict)  # "client: state" -> count

    @property
    def total(self) -> int:
        return sum(self.clients.values()) + self.driver


def parse_xruns(log_text: str) -> XRuns:
    clients: dict[str, int] = {}
    states: dict[str, int] = {}
    driver = 0
    for line in log_text.splitlines():
        found = _CLIENT_XRUN.search(line)
        if found:
            name = found.group("client").strip()
            clients[name] = clients.get(name, 0) + 1
            state = f"{name}: {found.group('state') or 'not run'}"
            states[state] = states.get(state, 0) + 1
        elif _DRIVER_XRUN.search(line):
            driver += 1
    return XRuns(clients, driver, states)


def is_xrun(line: str) -> bool:
    """Whether one line of jackd's log reports a late cycle (a client's or the driver's)."""
    return bool(_CLIENT_XRUN.search(line) or _DRIVER_XRUN.search(line))


class JackServer:
    def __init__(self, name: str, samplerate: int = 48000, period: int = 128, capture: int = 8,
                 playback: int = 8, *, realtime: bool = False) -> None:
        self.name = name
        # Without realtime scheduling the dummy driver's own thread wakes late now and then (an xrun
        # with no client to blame); realtime needs the right to SCHED_FIFO (root or an rtprio limit).
        self.realtime = realtime
        self.samplerate = samplerate
        self.period = period
        self.capture = capture
        self.playback = playback
        self.log_path = Path(tempfile.gettempdir()) / f"{name}.jackd.log"
        self._process: subprocess.Popen | None = None
        self.start()

    # -- the server process ----------------------------------------------------------------------
    @property
    def command(self) -> list[str]:
        # The dummy driver sleeps -w microseconds between cycles (default 21333, i.e. 1024 frames at
        # 48 kHz whatever -p says); one period's worth makes it run in real time.
        wait_us = round(self.period * 1_000_000 / self.samplerate)
        # If the process that started it dies (a crash, a kill), the server goes with it instead of
        # lingering: jack2 allows only a few servers per machine.
        guard = ["setpriv", "--pdeathsig", "KILL"] if shutil.which("setpriv") else []
        scheduling = "--realtime" if self.realtime else "--no-realtime"
        return [*guard, "jackd", scheduling, "-n", self.name, "-d", "dummy", "-r", str(self.samplerate),
                "-p", str(self.period), "-w", str(wait_us), "-C", str(self.capture), "-P", str(self.playback)]

    def start(self) -> None:
        if self.running:
            return
        if shutil.which("jackd") is None:
            raise JackError(f"jackd not found (Debian package {DEBIAN_PACKAGE})")
        env = dict(os.environ, JACK_NO_AUDIO_RESERVATION="1")
        with self.log_path.open("ab") as log:
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

    # -- what it logged -----------------------------------------------------------------------------
    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def xruns(self, since: int = 0) -> XRuns:
        """Late cycles jackd logged after byte offset ``since`` of its log (``log_size()`` earlier)."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(since)
                return parse_xruns(log.read().decode(errors="replace"))
        except OSError:
            return XRuns({}, 0, {})

    # -- the graph --------------------------------------------------------------------------------
    def ports(self) -> list[str]:
        return list_ports(self.name)

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
        return run_tool(self.name, program, *args, check=check)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-800:]
        except OSError:
            return "(no log)"

    def __repr__(self) -> str:
        return f"JackServer({self.name!r}, pid={self.pid})"
