"""An RFC 2217 terminal server over a ``loop://`` port, for one TCP client at a time.

pyserial's own server side (``serial.rfc2217.PortManager``) does the protocol; this module gives it a
socket and a thread, and a port that records every level its RTS and DTR are set to (``changes``), so a
test sees each line change a client makes, in order - including any glitch while it opens.

The port is a loop-back: its RTS shows on its CTS and its DTR on its DSR. A client keying RTS therefore
sees its own CTS follow (through the server's modem-state notifications), and a test can play a
footswitch or a radio's COR by setting the server port's lines with ``set_lines``.

Like a terminal server, the peer drops RTS and DTR when a TCP session ends (``drop_on_hangup``): the
client closed, the network broke, or the client process died and its kernel closed the socket.
"""

from __future__ import annotations

import select
import socket
import threading
import time

from serial.rfc2217 import PortManager
from serial.urlhandler import protocol_loop


class RecordingLoopPort(protocol_loop.Serial):
    """A ``loop://`` port that records (line, level, time) for every RTS/DTR level it is given."""

    def __init__(self) -> None:
        self.changes: list[tuple[str, bool, float]] = []
        self.line_changed = threading.Condition()
        super().__init__()

    def _update_rts_state(self) -> None:
        super()._update_rts_state()
        self._record("rts", self._rts_state)

    def _update_dtr_state(self) -> None:
        super()._update_dtr_state()
        self._record("dtr", self._dtr_state)

    def _record(self, line: str, level: bool) -> None:
        with self.line_changed:
            self.changes.append((line, bool(level), time.monotonic()))
            self.line_changed.notify_all()

    def levels(self, line: str) -> list[bool]:
        with self.line_changed:
            return [level for name, level, _ in self.changes if name == line]

    def wait_level(self, line: str, level: bool, timeout: float = 5.0) -> None:
        """Wait until ``line`` is at ``level``; AssertionError naming it when it does not get there."""
        with self.line_changed:
            if not self.line_changed.wait_for(lambda: getattr(self, line) == level, timeout):
                raise AssertionError(f"{line.upper()} of the peer's port not {'high' if level else 'low'} "
                                     f"within {timeout} s; changes: {self.changes}")


class _Connection:
    """What PortManager writes to: the client's socket, one writer at a time."""

    def __init__(self, sock: socket.socket, lock: threading.Lock) -> None:
        self.sock = sock
        self.lock = lock

    def write(self, data: bytes) -> None:
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                pass  # the session is ending; the serving loop notices


class Rfc2217Peer:
    """Serves ``rfc2217://127.0.0.1:<port>`` until ``close``; use as a context manager."""

    def __init__(self, *, rts: bool = False, dtr: bool = False, drop_on_hangup: bool = True) -> None:
        self.drop_on_hangup = drop_on_hangup
        self.port = RecordingLoopPort()
        self.port.rts, self.port.dtr = rts, dtr  # the idle levels, applied by open
        self.port.port = "loop://"
        self.port.open()
        self.port.changes.clear()  # what open itself set is the starting state, not a change
        self.sessions = 0  # sessions accepted so far
        self.hangups = 0  # sessions ended so far
        self.session_changed = threading.Condition()
        self._lock = threading.Lock()  # PortManager and the socket writer: one thread at a time
        self._manager: PortManager | None = None
        self._client: socket.socket | None = None
        self._stopping = threading.Event()
        self._listener: socket.socket | None = None
        self.tcp_port = 0
        self.listen()
        self._thread = threading.Thread(target=self._serve, name="rfc2217-peer", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"rfc2217://127.0.0.1:{self.tcp_port}"

    # -- what tests call -------------------------------------------------------------------------
    def set_lines(self, *, rts: bool | None = None, dtr: bool | None = None) -> float:
        """Set the server port's outputs (seen on its CTS/DSR) and notify the client at once.

        Returns when the change was made (``time.monotonic()``), for measuring latency.
        """
        with self._lock:
            t = time.monotonic()
            if rts is not None:
                self.port.rts = rts
            if dtr is not None:
                self.port.dtr = dtr
            if self._manager is not None:
                self._manager.check_modem_lines()
        return t

    def drop_session(self) -> None:
        """Break the current TCP session, as a network failure would."""
        client = self._client
        if client is not None:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def refuse(self) -> None:
        """Stop listening: new connections are refused until ``listen``."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()

    def listen(self) -> None:
        """Listen (again) on the same TCP port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.tcp_port))
        listener.listen(1)
        listener.settimeout(0.02)
        self.tcp_port = listener.getsockname()[1]
        self._listener = listener

    def wait_sessions(self, *, accepted: int | None = None, ended: int | None = None, timeout: float = 5.0) -> None:
        with self.session_changed:
            ok = self.session_changed.wait_for(
                lambda: (accepted is None or self.sessions >= accepted) and (ended is None or self.hangups >= ended),
                timeout)
        if not ok:
            raise AssertionError(f"peer sessions: {self.sessions} accepted, {self.hangups} ended "
                                 f"(wanted {accepted} accepted, {ended} ended)")

    def close(self) -> None:
        self._stopping.set()
        self.drop_session()
        self._thread.join(5)
        self.refuse()
        self.port.close()

    def __enter__(self) -> Rfc2217Peer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the server's thread -----------------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stopping.is_set():
            listener = self._listener
            if listener is None:
                self._stopping.wait(0.02)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            self._session(client)

    def _session(self, client: socket.socket) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self._client = client
            self._manager = PortManager(self.port, _Connection(client, threading.Lock()))
        with self.session_changed:
            self.sessions += 1
            self.session_changed.notify_all()
        try:
            while not self._stopping.is_set():
                readable, _, _ = select.select([client], [], [], 0.001)
                if readable:
                    try:
                        data = client.recv(4096)
                    except OSError:
                        data = b""
                    if not data:
                        break  # the client is gone
                    with self._lock:
                        payload = b"".join(self._manager.filter(data))
                        if payload:
                            self.port.write(payload)
                with self._lock:
                    echoed = self.port.read(self.port.in_waiting) if self.port.in_waiting else b""
                    if echoed:
                        self._manager.connection.write(b"".join(self._manager.escape(echoed)))
                    self._manager.check_modem_lines()
        finally:
            with self._lock:
                self._manager = None
                self._client = None
                if self.drop_on_hangup:  # what a terminal server does when the session ends
                    self.port.rts = False
                    self.port.dtr = False
            client.close()
            with self.session_changed:
                self.hangups += 1
                self.session_changed.notify_all()
