"""A reader thread for a byte stream (the ALI spill line): open, read, report, reopen with backoff.

Bytes are reported exactly as read, in order, as ``BytesReceived``; framing is the app's job.
If the port cannot be opened or fails mid-read (cable pulled, USB adapter gone, terminal server
down), the link is reported DOWN with the reason and reopened with exponential backoff.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from hardware.events import BytesReceived, EventSink, LinkChanged, LinkState, now
from hardware.worker import DriverThread


Opener = Callable[[], Any]  # returns an open object with read(n), close() and optionally in_waiting


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
    ) -> None:
        super().__init__(device_id, sink)
        self._open = opener
        self.describe = describe or device_id
        self.backoff_min, self.backoff_max = backoff_s
        self.chunk = chunk
        self._port: Any = None
        self.bytes_read = 0

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
                self._port = self._open()
            except Exception as exc:  # noqa: BLE001 - any failure to open is reported the same way
                self.emit(LinkChanged(self.device_id, LinkState.DOWN, f"cannot open {self.describe}: {exc}"))
                self.run_commands_until(time.monotonic() + backoff)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            self.emit(LinkChanged(self.device_id, LinkState.UP, f"open: {self.describe}"))
            backoff = self.backoff_min
            reason = self._read_until_failure(self._port)
            self._close_port()
            if not self.stopping:
                self.emit(LinkChanged(self.device_id, LinkState.DOWN, f"{self.describe}: {reason}"))
                self.run_commands_until(time.monotonic() + backoff)

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
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except Exception:  # noqa: BLE001
                pass

    def on_exit(self) -> None:
        self._close_port()
