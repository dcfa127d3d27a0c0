"""A private ``rigctld`` (Hamlib's dummy rig) on a free local port, for tests and ``bench ptt``.

``RigctldServer()`` starts ``rigctld -m 1 -P RIG -T 127.0.0.1 -t PORT`` and waits until it accepts
connections. ``kill`` is a crash (SIGKILL), ``pause``/``resume`` a radio that stops answering
(SIGSTOP/SIGCONT), ``restart`` brings it back on the same port (a new process: the dummy rig starts
unkeyed). ``ask`` is an independent client: a fresh connection per question, so what it reads is
rigctld's own state, not the driver's idea of it.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time

START_TIMEOUT_S = 10.0
DUMMY_MODEL = "1"


class RigctldServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RigctldServer:
    def __init__(self, port: int | None = None, *, ptt_type: str = "RIG", program: str = "rigctld",
                 start: bool = True) -> None:
        path = shutil.which(program)
        if path is None:
            raise RigctldServerError(f"{program} not found (Debian package libhamlib-utils)")
        self.program = path
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.ptt_type = ptt_type  # "RIG": the dummy rig keys; "NONE": every T 1 is refused (RPRT -1)
        self.proc: subprocess.Popen[bytes] | None = None
        if start:
            self.start()

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self.proc = subprocess.Popen(
            [self.program, "-m", DUMMY_MODEL, "-P", self.ptt_type, "-T", self.host, "-t", str(self.port)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RigctldServerError(f"rigctld on port {self.port} exited ({self.proc.returncode}): {err.strip()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.02)
        self.kill()
        raise RigctldServerError(f"rigctld on port {self.port} did not accept connections in {START_TIMEOUT_S:g} s")

    def kill(self) -> None:
        """A crash: SIGKILL and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a paused process must be able to die and be reaped
            self.proc.kill()
            self.proc.wait(5)

    def pause(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()

    def ask(self, command: str, timeout_s: float = 2.0) -> dict[str, str]:
        """One Extended Response command on a new connection; its ``key: value`` records plus ``RPRT``.

        rigctld 4.5 now and then resets a connection opened while another client is busy, or closes it
        before the whole answer: such an answer (no ``RPRT`` record) is asked again, up to 3 times.
        """
        for attempt in range(3):
            try:
                answer = self._ask_once(command, timeout_s)
            except ConnectionResetError:
                if attempt == 2:
                    raise
                continue
            if "RPRT" in answer or attempt == 2:
                return answer
        return answer

    def _ask_once(self, command: str, timeout_s: float) -> dict[str, str]:
        with socket.create_connection((self.host, self.port), timeout=timeout_s) as sock:
            sock.sendall(f"|{command}\n".encode("ascii"))
            data = b""
            while not data.endswith(b"\n"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        records = data.decode("ascii", errors="replace").strip().split("|")
        answer = {}
        for record in records[1:]:
            key, sep, value = record.partition(":") if not record.startswith("RPRT") else ("RPRT", ":", record[5:])
            if sep:
                answer[key.strip()] = value.strip()
        return answer

    def ptt(self) -> bool:
        return self.ask("t").get("PTT", "0") != "0"

    def __enter__(self) -> "RigctldServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
