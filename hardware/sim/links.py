"""Byte streams a simulator can write into and the app can read from, like a serial line.

``MemoryLink``: an in-process pipe. ``PtyLink``: a real pseudo-terminal, so the reading side opens a
device path through pyserial exactly as it would open ``/dev/ttyUSB0``.
Both readers follow pyserial's contract: ``read(n)`` returns up to ``n`` bytes, or ``b""`` after
``timeout`` seconds with nothing to read.
"""

from __future__ import annotations

import os
import select
import threading


class LinkClosed(OSError):
    pass


class MemoryLink:
    """A one-way in-memory byte pipe: the simulator writes, one reader reads."""

    def __init__(self, timeout: float = 0.1) -> None:
        self.timeout = timeout
        self._buffer = bytearray()
        self._cond = threading.Condition()
        self._closed = False
        self.name = "memory"

    # writer side
    def write(self, data: bytes) -> int:
        with self._cond:
            if self._closed:
                raise LinkClosed("memory link closed")
            self._buffer += data
            self._cond.notify_all()
        return len(data)

    # reader side (pyserial-like)
    def read(self, size: int = 1) -> bytes:
        with self._cond:
            if not self._buffer and not self._closed:
                self._cond.wait(self.timeout)
            if not self._buffer and self._closed:
                raise LinkClosed("memory link closed")
            data = bytes(self._buffer[:size])
            del self._buffer[:size]
            return data

    @property
    def in_waiting(self) -> int:
        with self._cond:
            return len(self._buffer)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


class PtyLink:
    """A pseudo-terminal pair: the simulator writes to the master; ``slave_path`` is a serial port."""

    def __init__(self) -> None:
        import tty  # POSIX only; imported here so Windows can still import the module

        self._master, self._slave = os.openpty()
        # Raw mode: no CR/LF translation or echo, so bytes arrive exactly as written.
        tty.setraw(self._slave)
        self.slave_path = os.ttyname(self._slave)
        self.name = self.slave_path
        self._lock = threading.Lock()

    def write(self, data: bytes, timeout: float = 2.0) -> int:
        """Write all of ``data``; a reader that stops reading for ``timeout`` raises TimeoutError
        rather than hanging the simulator's thread."""
        with self._lock:
            view = memoryview(data)
            while view:
                _, writable, _ = select.select([], [self._master], [], timeout)
                if not writable:
                    raise TimeoutError(f"nobody is reading {self.slave_path}")
                written = os.write(self._master, view)
                view = view[written:]
        return len(data)

    def close(self) -> None:
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
