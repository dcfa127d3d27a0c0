"""``tcp-listen://HOST:PORT``: the console listens and the phone system (or a serial-to-Ethernet box
in client mode) connects to it and sends the ALI spill stream.

One connection carries the stream at a time. Until a peer connects, the link is DOWN ("listening,
no connection"); it is UP while a peer is connected. When the peer closes or fails, the link goes
DOWN and the next connection is accepted. A CPE that reconnects after a network glitch often leaves a
half-open socket behind, so a new connection replaces the one open before (logged), never waits for
it. A port that cannot be bound (in use, no permission) is DOWN with the reason and retried with
backoff. Bytes are reported exactly as received, like ``ByteStreamReader``; ``send`` writes back to the
connected peer from any thread.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import selectors
import socket
import threading
import time
from dataclasses import dataclass

from hardware.events import BytesReceived, EventSink, LinkChanged, LinkState, now
from hardware.worker import DriverThread

log = logging.getLogger(__name__)

SCHEME = "tcp-listen://"
_EXAMPLE = "tcp-listen://0.0.0.0:5001"
_HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$")


class ListenUrlError(ValueError):
    """A ``tcp-listen://`` URL that cannot be used; the message says what is wrong with it."""


@dataclass(frozen=True)
class ListenAddress:
    host: str
    port: int  # 0 = any free port (tests); the reader reports the port it bound

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_listen_url(url: str) -> ListenAddress:
    """``tcp-listen://HOST:PORT`` -> address. HOST is an IPv4 address, a host name, or an IPv6 address
    in brackets; ``0.0.0.0`` listens on every interface. Raises ``ListenUrlError``."""

    def bad(why: str) -> ListenUrlError:
        return ListenUrlError(f"ALI URL {url!r}: {why} (expected tcp-listen://HOST:PORT, e.g. {_EXAMPLE})")

    if url[:len(SCHEME)].lower() != SCHEME:
        raise bad("not a tcp-listen:// URL")
    rest = url[len(SCHEME):]
    if any(c in rest for c in "/?#@") or any(c.isspace() for c in rest):
        raise bad("only HOST:PORT may follow tcp-listen:// (no path, query, user or spaces)")
    if rest.startswith("["):
        host, closed, tail = rest[1:].partition("]")
        if not closed or not tail.startswith(":"):
            raise bad("an IPv6 address goes in brackets followed by :PORT, e.g. tcp-listen://[::1]:5001")
        port_text = tail[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise bad(f"{host!r} is not an IPv6 address") from None
    else:
        host, colon, port_text = rest.rpartition(":")
        if not colon:
            raise bad("the :PORT is missing")
        if ":" in host:
            raise bad("an IPv6 address goes in brackets, e.g. tcp-listen://[::1]:5001")
        if host and not _HOSTNAME.match(host):
            raise bad(f"{host!r} is not a host name or IPv4 address")
    if not host:
        raise bad("the HOST is missing (0.0.0.0 listens on every interface)")
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        raise bad(f"the port {port_text!r} is not a number from 0 to 65535")
    return ListenAddress(host, int(port_text))


class TcpListenReader(DriverThread):
    def __init__(
        self,
        device_id: str,
        sink: EventSink,
        url: str | ListenAddress,
        *,
        backoff_s: tuple[float, float] = (0.2, 10.0),
        chunk: int = 4096,
        write_timeout_s: float = 0.5,
    ) -> None:
        super().__init__(device_id, sink)
        self.address = parse_listen_url(url) if isinstance(url, str) else url
        self.describe = f"{SCHEME}{self.address}"
        self.backoff_min, self.backoff_max = backoff_s
        self.chunk = chunk
        self.write_timeout_s = write_timeout_s
        self.bound_port: int | None = None  # the port actually listened on (differs when asked for 0)
        self.peer = ""  # "host:port" of the connected peer, "" when none
        self.connections = 0
        self.bytes_read = 0
        self.bytes_sent = 0
        self._conn: socket.socket | None = None
        # Held while writing and while dropping the connection, so it is never closed under a write.
        self._io_lock = threading.Lock()
        self._wake: tuple[socket.socket, socket.socket] | None = None

    @property
    def listening(self) -> str:
        port = self.bound_port if self.bound_port is not None else self.address.port
        return str(ListenAddress(self.address.host, port))

    # -- any thread -------------------------------------------------------------------------------
    def send(self, data: bytes) -> bool:
        """Write ``data`` to the connected peer; False (logged, never raised) with no peer, on a
        failed write, or when a write cannot finish within about ``write_timeout_s``."""
        if not self._io_lock.acquire(timeout=self.write_timeout_s):
            log.warning("%s: write of %d byte(s) dropped: connection busy", self.describe, len(data))
            return False
        try:
            conn = self._conn
            if conn is None:
                return False
            try:
                conn.sendall(data)  # bounded by the socket's time-out
            except OSError as exc:
                log.warning("%s: write of %d byte(s) to %s failed: %s", self.describe, len(data), self.peer, exc)
                return False
            self.bytes_sent += len(data)
            return True
        finally:
            self._io_lock.release()

    def on_stop_requested(self) -> None:
        wake = self._wake
        if wake is not None:
            try:
                wake[1].send(b"\0")
            except OSError:
                pass  # already closed: the thread has ended

    # -- the listener's thread --------------------------------------------------------------------
    def run_loop(self) -> None:
        self._wake = socket.socketpair()
        backoff = self.backoff_min
        while not self.stopping:
            try:
                listener = self._bind()
            except OSError as exc:
                self.emit(LinkChanged(self.device_id, LinkState.DOWN,
                                      f"cannot listen on {self.address}: {exc.strerror or exc}"))
                self.run_commands_until(time.monotonic() + backoff)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            backoff = self.backoff_min
            self.emit(LinkChanged(self.device_id, LinkState.DOWN, f"listening on {self.listening}, no connection"))
            try:
                reason = self._serve(listener)
            finally:
                self._drop_connection()
                listener.close()
            if not self.stopping:
                self.emit(LinkChanged(self.device_id, LinkState.DOWN, f"{self.describe}: {reason}"))
                self.run_commands_until(time.monotonic() + backoff)

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.address.host else socket.AF_INET
        listener = socket.create_server((self.address.host, self.address.port), family=family, backlog=4)
        listener.setblocking(False)  # accept() after select must not block if the client gave up meanwhile
        self.bound_port = listener.getsockname()[1]
        return listener

    def _serve(self, listener: socket.socket) -> str:
        assert self._wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ, "listen")
            selector.register(self._wake[0], selectors.EVENT_READ, "wake")
            while not self.stopping:
                for key, _ in selector.select(timeout=1.0):
                    if key.data == "wake":
                        self._wake[0].recv(64)
                    elif key.data == "listen":
                        failure = self._accept(listener, selector)
                        if failure:
                            return failure
                    elif key.fileobj is self._conn:  # not a connection replaced earlier in this batch
                        self._receive(key.fileobj, selector)
        return "stopped"

    def _accept(self, listener: socket.socket, selector: selectors.BaseSelector) -> str:
        try:
            conn, address = listener.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return ""  # the client gave up between select and accept
        except OSError as exc:
            return f"listening socket failed: {exc}"
        peer = _format_peer(address)
        conn.settimeout(self.write_timeout_s)  # bounds send(); recv runs only when select says readable
        _tune(conn)
        replaced = self.peer
        if self._conn is not None:
            selector.unregister(self._conn)
            self._drop_connection()
            log.warning("%s: new connection from %s replaces the one from %s (left half-open)",
                        self.describe, peer, replaced)
        with self._io_lock:
            self._conn, self.peer = conn, peer
        self.connections += 1
        selector.register(conn, selectors.EVENT_READ, "conn")
        detail = f"connected from {peer} on {self.listening}"
        if replaced:
            detail += f" (replaces the connection from {replaced})"
        self.emit(LinkChanged(self.device_id, LinkState.UP, detail))
        return ""

    def _receive(self, conn: socket.socket, selector: selectors.BaseSelector) -> None:
        peer = self.peer
        try:
            data = conn.recv(self.chunk)
        except (BlockingIOError, InterruptedError, TimeoutError):
            return
        except OSError as exc:
            reason = f"connection from {peer} failed: {exc}"
        else:
            if data:
                self.bytes_read += len(data)
                self.emit(BytesReceived(self.device_id, data, now()))
                return
            reason = f"{peer} closed the connection"
        selector.unregister(conn)
        self._drop_connection()
        self.emit(LinkChanged(self.device_id, LinkState.DOWN,
                              f"{reason}; listening on {self.listening}, no connection"))

    def _drop_connection(self) -> None:
        locked = self._io_lock.acquire(timeout=self.write_timeout_s * 2)  # a write in progress ends soon
        try:
            conn, self._conn, self.peer = self._conn, None, ""
        finally:
            if locked:
                self._io_lock.release()
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def on_exit(self) -> None:
        self._drop_connection()
        wake, self._wake = self._wake, None
        if wake is not None:
            for sock in wake:
                sock.close()


def _format_peer(address: tuple) -> str:
    host, port = address[0], address[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _tune(conn: socket.socket) -> None:
    """Replies (ACK/NAK) go out at once; a peer that vanished is noticed by keepalive probes."""
    try:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for option, value in (("TCP_KEEPIDLE", 30), ("TCP_KEEPINTVL", 10), ("TCP_KEEPCNT", 3)):
            if hasattr(socket, option):  # Linux names; other systems keep their defaults
                conn.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
    except OSError as exc:
        log.debug("socket options not set: %s", exc)
