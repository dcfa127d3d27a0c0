"""The machine's own xruns during a soak: a second JACK server with only a C client, run alongside.

A virtual machine's sound server misses cycles now and then with no client to blame (the dummy
driver's thread woken late, a C client not scheduled in time). PortAudio reports each of those to
the console as an underflow, so a soak's count mixes the console's own with the machine's. The
reference server runs the same driver, period and scheduling at the same minutes with nothing but
``jack_metro`` on it; its late cycles are the machine's. Each one is timed as it is logged, so the
soak can say which of the console's underflows came within ``COINCIDENT_MS`` of one.
"""

from __future__ import annotations

import subprocess
import threading
import time
from bisect import bisect_left
from collections.abc import Sequence
from pathlib import Path

from hardware.audio import jack_server
from hardware.audio.jack_server import JackError, JackServer

POLL_S = 0.01  # how often the log is read: the timing error of each xrun, with jackd's own write
COINCIDENT_MS = 50.0  # an underflow this close to a reference xrun shares its cause


class XrunTail:
    """Reads a jackd log on its own thread and notes when each xrun line appeared (perf_counter_ns)."""

    def __init__(self, log_path: Path, name: str = "jackd") -> None:
        self._path = log_path
        self._offset = log_path.stat().st_size if log_path.exists() else 0  # only what comes from now on
        self._pending = b""
        self.times_ns: list[int] = []
        self.lines: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"xrun-tail:{name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)
        self._read()  # what came in since the last poll

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self._read()

    def _read(self) -> None:
        try:
            with self._path.open("rb") as log:
                log.seek(self._offset)
                data = log.read()
        except OSError:
            return
        if not data:
            return
        now = time.perf_counter_ns()
        self._offset += len(data)
        *complete, self._pending = (self._pending + data).split(b"\n")
        for raw in complete:
            line = raw.decode(errors="replace")
            if jack_server.is_xrun(line):
                self.times_ns.append(now)
                self.lines.append(line)


class Metro:
    """``jack_metro`` as a client of ``server``, beeping (1004 Hz, 5 a second); ``port`` is its output."""

    COMMAND = ("jack_metro", "--bpm", "300", "--duration", "120", "--amplitude", "0.3", "--frequency", "1004")

    def __init__(self, server: str, client: str) -> None:
        self.server = server
        self.process = subprocess.Popen([*self.COMMAND, "--name", client], env=jack_server.tool_env(server),
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.port = ""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.port:
            if self.process.poll() is not None:
                raise JackError(f"jack_metro exited with {self.process.returncode} on JACK server {server}")
            self.port = next((p for p in jack_server.list_ports(server) if p.startswith(client + ":")), "")
            time.sleep(0.05)  # polling the server for the client's port; the deadline bounds it
        if not self.port:
            self.stop()
            raise JackError(f"jack_metro's port did not appear on JACK server {server}")

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def connect(self, inputs: Sequence[str]) -> None:
        for port in inputs:
            jack_server.run_tool(self.server, "jack_connect", self.port, port)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


class ReferenceServer:
    """A JACK server like the soak's, with only ``jack_metro`` running on it."""

    def __init__(self, samplerate: int, period: int, realtime: bool) -> None:
        self.server = JackServer(jack_server.unique_name("dcref"), samplerate, period, 2, 2, realtime=realtime)
        try:
            self._metro = Metro(self.server.name, "dcref-metro")
        except JackError:
            self.server.stop()
            raise
        self.tail: XrunTail | None = None

    def start_counting(self) -> None:
        if not self._metro.running:
            raise JackError(f"jack_metro on the reference server {self.server.name} exited with "
                            f"{self._metro.process.returncode}")
        self.tail = XrunTail(self.server.log_path, self.server.name)

    def stop_counting(self) -> list[int]:
        """When each xrun since ``start_counting`` was seen (perf_counter_ns)."""
        if self.tail is None:
            return []
        self.tail.stop()
        return list(self.tail.times_ns)

    def close(self) -> None:
        if self.tail is not None:
            self.tail.stop()
        self._metro.stop()
        self.server.stop()


def coincident(events_ns: Sequence[int], reference_ns: Sequence[int], window_ms: float = COINCIDENT_MS) -> int:
    """How many of ``events_ns`` lie within ``window_ms`` of any of ``reference_ns``."""
    if not reference_ns:
        return 0
    window = int(window_ms * 1e6)
    ordered = sorted(reference_ns)
    count = 0
    for t in events_ns:
        i = bisect_left(ordered, t - window)
        if i < len(ordered) and ordered[i] <= t + window:
            count += 1
    return count
