"""Writes to a link without blocking the caller: the control thread queues, a thread of its own writes.

A serial or TCP write can wait up to its time-out when the far end stops reading; the control thread
also routes PTT, so it must never wait on a write. ``submit`` returns at once: True when the bytes are
queued for a link that is open, False when the link is down or the queue is full (the far end has
stopped reading for a long while). Write failures are logged by the link's own ``send``.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

log = logging.getLogger(__name__)

MAX_QUEUED = 64  # ACKs and rebid requests are a few bytes each; more than this means nobody is reading


class SendQueue:
    def __init__(self, name: str, send: Callable[[bytes], bool], is_open: Callable[[], bool]) -> None:
        self.name = name
        self._send = send
        self._is_open = is_open
        self._queue: queue.Queue[bytes | None] = queue.Queue(MAX_QUEUED)
        self._thread = threading.Thread(target=self._run, name=f"{name}-send", daemon=True)
        self._thread.start()

    def submit(self, data: bytes) -> bool:
        if not self._is_open():
            return False
        try:
            self._queue.put_nowait(bytes(data))
        except queue.Full:
            log.warning("%s: %d byte(s) not sent: %d writes already waiting", self.name, len(data), MAX_QUEUED)
            return False
        return True

    def stop(self, timeout: float = 1.0) -> None:
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            pass  # the thread is stuck in a write; it is a daemon and goes with the process
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            data = self._queue.get()
            if data is None:
                return
            try:
                self._send(data)
            except Exception:  # noqa: BLE001 - a link's send should not raise; if one does, keep serving
                log.exception("%s: write of %d byte(s) failed", self.name, len(data))
