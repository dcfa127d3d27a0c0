"""A reader thread for a byte stream (the ALI spill line): open, read, report, reopen with backoff.

Bytes are reported exactly as read, in order, as ``BytesReceived``; framing is the app's job.
If the port cannot be opened or fails mid-read (cable pulled, USB adapter gone, terminal server
down), the link is reported DOWN with the reason and reopened with exponential backoff.

``send`` writes to the same port from any thread (ACK/NAK replies, a rebid request). A write never
holds the caller longer than about ``write_timeout_s`` and never stops the reader: a port that
cannot be written is noticed by the next read.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable

from hardware.events import BytesReceived, EventSink, LinkChanged, LinkState, now
from hardware.worker import DriverThread

log = logging.getLogger(__name__)

Opener = Callable[[], Any]  # returns an open object with read(n), close() and optionally write(b), in_waiting

WRITE_TIMEOUT_S = 0.5


class ByteStreamReader(DriverThread):
    def __init__(
        self,
        device_id: str,
        sink: EventSink,
        opener: Opener,
        *,
        describe: str = "",
        backoff_s: tuple[float, float] = (0.2, 10.0),
        chunk: int = 4096,
        write_timeout_s: float = WRITE_TIMEOUT_S,
    ) -> None:
        super().__init__(device_id, sink)
        self._open = opener
        self.describe = describe or device_id
        self.backoff_min, self.backoff_max = backoff_s
        self.chunk = chunk
        self.write_timeout_s = write_timeout_s
        self._port: Any = None
        # Held while writing and while closing, so a port is never closed under a write in progress.
        self._io_lock = threading.Lock()
        self.bytes_read = 0
        self.bytes_sent = 0

    # -- any thread -------------------------------------------------------------------------------
    def send(self, data: bytes) -> bool:
        """Write ``data`` to the open port; False (logged, never raised) when the link is down, the
        port cannot be written, or another write holds the port past the time-out."""
        if not self._io_lock.acquire(timeout=self.write_timeout_s):
            log.warning("%s: write of %d byte(s) dropped: port busy", self.describe, len(data))
            return False
        try:
            port = self._port
            if port is None:
                return False
            try:
                written = port.write(data)
            except Exception as exc:  # noqa: BLE001 - serial, socket and OS errors all mean "not sent"
                log.warning("%s: write of %d byte(s) failed: %s", self.describe, len(data), exc)
                return False
            if written is not None and written < len(data):
                log.warning("%s: only %d of %d byte(s) written", self.describe, written, len(data))
                self.bytes_sent += written
                return False
            self.bytes_sent += len(data)
            return True
        finally:
            self._io_lock.release()

    @property
    def is_open(self) -> bool:
        return self._port is not None

    # -- the reader's thread ------------------------------------------------------------------
    def on_stop_requested(self) -> None:
        port = self._port
        if port is not None:
            try:
                port.close()  # unblocks a read in progress
            except Exception:  # noqa: BLE001 - closing a dying port may fail in many ways
                pass

    def run_loop(self) -> None:
        backoff = self.backoff_min
        while not self.stopping:
            try:
                port = self._open()
            except Exception as exc:  # noqa: BLE001 - any failure to open is reported the same way
                self.emit(LinkChanged(self.device_id, LinkState.DOWN, f"cannot open {self.describe}: {exc}"))
                self.run_commands_until(time.monotonic() + backoff)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            self._bound_writes(port)
            self._port = port
            self.emit(LinkChanged(self.device_id, LinkState.UP, f"open: {self.describe}"))
            backoff = self.backoff_min
            reason = self._read_until_failure(port)
            self._close_port()
            if not self.stopping:
                self.emit(LinkChanged(self.device_id, LinkState.DOWN, f"{self.describe}: {reason}"))
                self.run_commands_until(time.monotonic() + backoff)

    def _bound_writes(self, port: Any) -> None:
        """A pyserial port without a write time-out blocks a writer as long as flow control says so."""
        if getattr(port, "write_timeout", 0) is None:
            try:
                port.write_timeout = self.write_timeout_s
            except Exception as exc:  # noqa: BLE001 - a URL handler that cannot: writes stay unbounded
                log.warning("%s: cannot bound writes: %s", self.describe, exc)

    def _read_until_failure(self, port: Any) -> str:
        while not self.stopping:
            try:
                waiting = getattr(port, "in_waiting", 0) or 0
                data = port.read(max(1, min(waiting, self.chunk)))
            except Exception as exc:  # noqa: BLE001 - serial, socket and OS errors all mean "link lost"
                return f"read failed: {exc}"
            if data:
                self.bytes_read += len(data)
                self.emit(BytesReceived(self.device_id, bytes(data), now()))
        return "stopped"

    def _close_port(self) -> None:
        # Wait (bounded) for a write in progress; the port is closed either way.
        locked = self._io_lock.acquire(timeout=self.write_timeout_s * 2)
        try:
            port, self._port = self._port, None
        finally:
            if locked:
                self._io_lock.release()
        if port is not None:
            try:
                port.close()
            except Exception:  # noqa: BLE001
                pass

    def on_exit(self) -> None:
        self._close_port()
