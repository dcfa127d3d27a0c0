"""Two-way byte streams between a simulator and the app, like the two data wires of a serial line.

``MemoryLink``: an in-process pair of pipes. ``PtyLink``: a real pseudo-terminal, so the console's side
opens a device path through pyserial exactly as it would open ``/dev/ttyUSB0``.

The simulator's side of both: ``write(data)`` towards the console and ``receive(size, timeout)`` for what
the console sent back (ACK/NAK, a rebid request); ``receive`` returns ``b""`` after ``timeout`` with
nothing to read and raises ``LinkClosed`` (an OSError) once the link is closed.
The console's side follows pyserial's contract: ``read(n)`` returns up to ``n`` bytes, or ``b""`` after
``timeout`` seconds with nothing to read.
"""

from __future__ import annotations

import os
import select
import threading


class LinkClosed(OSError):
    pass


class MemoryLink:
    """In-memory pipes: the simulator writes and receives here; a reader opens ``port``."""

    def __init__(self, timeout: float = 0.1) -> None:
        self.timeout = timeout
        self._cond = threading.Condition()
        self._to_console = bytearray()
        self._to_simulator = bytearray()
        self._closed = False
        self.name = "memory"
        self.port = MemoryPort(self)

    # -- the simulator's side -------------------------------------------------------------------
    def write(self, data: bytes) -> int:
        return self._put(self._to_console, data)

    def receive(self, size: int = 4096, timeout: float | None = None) -> bytes:
        return self._take(self._to_simulator, size, self.timeout if timeout is None else timeout)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    # -- shared by both sides -------------------------------------------------------------------
    def _put(self, buffer: bytearray, data: bytes) -> int:
        with self._cond:
            if self._closed:
                raise LinkClosed("memory link closed")
            buffer += data
            self._cond.notify_all()
        return len(data)

    def _take(self, buffer: bytearray, size: int, timeout: float) -> bytes:
        with self._cond:
            if not buffer and not self._closed:
                self._cond.wait(timeout)
            if not buffer and self._closed:
                raise LinkClosed("memory link closed")
            data = bytes(buffer[:size])
            del buffer[:size]
            return data

    def _waiting(self, buffer: bytearray) -> int:
        with self._cond:
            return len(buffer)


class MemoryPort:
    """The console's end of a ``MemoryLink``, pyserial-like. Closing it closes the link (cable cut)."""

    def __init__(self, link: MemoryLink) -> None:
        self._link = link
        self.name = link.name

    def read(self, size: int = 1) -> bytes:
        return self._link._take(self._link._to_console, size, self._link.timeout)

    def write(self, data: bytes) -> int:
        return self._link._put(self._link._to_simulator, data)

    @property
    def in_waiting(self) -> int:
        return self._link._waiting(self._link._to_console)

    def close(self) -> None:
        self._link.close()


class PtyLink:
    """A pseudo-terminal pair: the simulator uses the master; ``slave_path`` is a serial port."""

    def __init__(self) -> None:
        import tty  # POSIX only; imported here so Windows can still import the module

        self._master, self._slave = os.openpty()
        # Raw mode: no CR/LF translation or echo, so bytes arrive exactly as written.
        tty.setraw(self._slave)
        self.slave_path = os.ttyname(self._slave)
        self.name = self.slave_path
        self._lock = threading.Lock()
        self._closed = False

    def write(self, data: bytes, timeout: float = 2.0) -> int:
        """Write all of ``data``; a reader that stops reading for ``timeout`` raises TimeoutError
        rather than hanging the simulator's thread."""
        with self._lock:
            view = memoryview(data)
            while view:
                if self._closed:
                    raise LinkClosed(f"{self.slave_path} closed")
                _, writable, _ = select.select([], [self._master], [], timeout)
                if not writable:
                    raise TimeoutError(f"nobody is reading {self.slave_path}")
                written = os.write(self._master, view)
                view = view[written:]
        return len(data)

    def receive(self, size: int = 4096, timeout: float = 0.1) -> bytes:
        """What the console wrote to the slave side, up to ``size`` bytes; ``b""`` after ``timeout``."""
        if self._closed:
            raise LinkClosed(f"{self.slave_path} closed")
        readable, _, _ = select.select([self._master], [], [], timeout)
        if not readable or self._closed:
            return b""
        return os.read(self._master, size)

    def close(self) -> None:
        self._closed = True
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass
