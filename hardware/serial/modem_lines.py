"""Reading and watching a serial port's modem input lines: CTS, DSR, CD (carrier detect) and RI (ring).

Footswitches, carrier/COR outputs of radios and a phone line's ring indicator arrive on these lines.
``LineWatcher`` turns their levels into debounced, polarity-corrected changes, each stamped with
``time.monotonic()``. It does not own the port and never writes to it (RTS/DTR are left alone).

How a change is noticed:

- ``wait`` mode (Linux, a real serial device): a helper thread blocks in the ``TIOCMIWAIT`` ioctl and
  wakes the watcher when a watched line changes. The ioctl has no time-out and closing the port does
  not end it (the kernel keeps the file open while the call is in progress), so stopping never waits
  for it: the watcher itself sleeps on an event that ``wake``/``close`` set, and the helper, working on
  its own duplicate of the descriptor, ends at the next line change or when the device goes away.
  ``close`` releases the port's exclusive lock at once so the port can be reopened meanwhile.
  A 16550 UART signals RI only on its trailing edge, so a watched RI line is also sampled every
  ``poll_s``; the other lines are sampled every ``GUARD_S`` as a safety net (a change that falls
  between the helper waking and waiting again, or a device that fails without an error).
- ``poll`` mode (pseudo-terminals, pyserial URL handlers such as ``loop://``, ``socket://``,
  ``rfc2217://``, and other systems): the lines are sampled every ``poll_s`` (default 2 ms, so at
  most 5 ms apart).

A pseudo-terminal has no modem lines at all: reading them raises ``NoModemLines``, which retrying
will not fix.
"""

from __future__ import annotations

import errno
import os
import struct
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

LINE_NAMES = ("cts", "dsr", "cd", "ri")
POLL_S = 0.002  # poll-mode sampling period: at most 5 ms between samples (2 ms keeps a footswitch edge p99 in budget)
GUARD_S = 0.1  # wait-mode safety sampling of lines TIOCMIWAIT reports reliably

# errno values meaning "this device does not do that", as opposed to "the device failed".
_UNSUPPORTED = {errno.ENOTTY, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}


class NoModemLines(OSError):
    """The port has no modem lines to read (a pseudo-terminal, or a driver without TIOCMGET)."""


@dataclass(frozen=True)
class ModemLines:
    """Levels of the four input lines as the port reports them: True = asserted."""

    cts: bool
    dsr: bool
    cd: bool
    ri: bool

    def get(self, line: str) -> bool:
        return bool(getattr(self, line_name(line)))


@dataclass(frozen=True)
class WatchedLine:
    """One line to watch: its name, which level means "active", and how long a change must hold."""

    name: str  # "cts", "dsr", "cd" or "ri" (any case)
    active_low: bool = False  # True: the line is active when NOT asserted
    debounce_ms: float = 0.0  # a new level must hold this long before it is reported

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", line_name(self.name))
        if self.debounce_ms < 0:
            raise ValueError(f"debounce for {self.name.upper()} must not be negative (got {self.debounce_ms} ms)")


@dataclass(frozen=True)
class LineChange:
    """A watched line became active or inactive; ``t`` is when the new level was first seen."""

    line: str
    active: bool
    t: float


def line_name(line: str) -> str:
    name = line.strip().lower()
    if name not in LINE_NAMES:
        raise ValueError(f"unknown modem line {line!r}: expected one of CTS, DSR, CD, RI")
    return name


def port_name(port: Any) -> str:
    return str(getattr(port, "name", None) or getattr(port, "port", None) or "serial port")


def _tty_fd(port: Any) -> int | None:
    """The descriptor of a port that is a real OS tty (pyserial's posix ``Serial``), else None."""
    fd = getattr(port, "fd", None)
    if not isinstance(fd, int) or sys.platform == "win32":
        return None
    try:
        import termios  # noqa: F401 - present on every POSIX system
    except ImportError:
        return None
    try:
        return fd if os.isatty(fd) else None
    except OSError:
        return None


def read_lines(port: Any) -> ModemLines:
    """Read CTS, DSR, CD and RI at once (one TIOCMGET on a tty; the port's properties otherwise).

    Raises ``NoModemLines`` when the port has none, or the port's own error when it has failed.
    """
    fd = _tty_fd(port)
    if fd is not None:
        import fcntl
        import termios

        try:
            bits = struct.unpack("I", fcntl.ioctl(fd, termios.TIOCMGET, bytes(4)))[0]
        except OSError as exc:
            if exc.errno in _UNSUPPORTED:
                raise NoModemLines(exc.errno, f"{port_name(port)} has no modem lines to read "
                                   f"(a pseudo-terminal?): {exc.strerror}") from exc
            raise
        return ModemLines(
            cts=bool(bits & termios.TIOCM_CTS),
            dsr=bool(bits & termios.TIOCM_DSR),
            cd=bool(bits & termios.TIOCM_CAR),
            ri=bool(bits & termios.TIOCM_RNG),
        )
    return ModemLines(cts=bool(port.cts), dsr=bool(port.dsr), cd=bool(port.cd), ri=bool(port.ri))


def choose_mode(port: Any) -> str:
    """``"wait"`` when the port looks able to do TIOCMIWAIT, else ``"poll"``. Never blocks.

    TIOCMIWAIT itself cannot be probed without blocking, so this asks for the line-change counters
    (TIOCGICOUNT), which every driver that implements TIOCMIWAIT also keeps. If the guess is wrong the
    helper thread's first TIOCMIWAIT fails at once and the watcher falls back to polling.
    """
    fd = _tty_fd(port)
    if fd is None or not sys.platform.startswith("linux"):
        return "poll"
    import fcntl
    import termios

    if not hasattr(termios, "TIOCMIWAIT") or not hasattr(termios, "TIOCGICOUNT"):
        return "poll"
    try:
        fcntl.ioctl(fd, termios.TIOCGICOUNT, bytes(80))  # struct serial_icounter_struct is 80 bytes
    except OSError:
        return "poll"
    return "wait"


class _Debounced:
    """One line's reported state and the new level waiting to prove it holds."""

    __slots__ = ("active", "pending", "since", "spec")

    def __init__(self, spec: WatchedLine, active: bool) -> None:
        self.spec = spec
        self.active = active
        self.pending: bool | None = None
        self.since = 0.0

    def feed(self, active: bool, t: float) -> LineChange | None:
        if active == self.active:
            self.pending = None  # a blip shorter than the debounce: dropped
            return None
        if self.pending is None:
            self.pending, self.since = active, t
        if t - self.since >= self.spec.debounce_ms / 1000.0:
            self.active, self.pending = active, None
            return LineChange(self.spec.name, active, self.since)
        return None

    def due(self) -> float | None:
        """When the pending level will have held long enough, if one is pending."""
        return None if self.pending is None else self.since + self.spec.debounce_ms / 1000.0


class LineWatcher:
    """Watches some modem lines of an open port; call ``wait`` from the thread that owns the port.

    The levels at construction are the starting state (``active``), not reported as changes.
    ``use_wait`` forces (True) or forbids (False) TIOCMIWAIT; None chooses by ``choose_mode``.
    """

    def __init__(self, port: Any, lines: Iterable[WatchedLine], *, poll_s: float = POLL_S,
                 use_wait: bool | None = None) -> None:
        specs = list(lines)
        if not specs:
            raise ValueError("LineWatcher needs at least one line to watch")
        if len({s.name for s in specs}) != len(specs):
            raise ValueError("each modem line may be watched once")
        if poll_s <= 0:
            raise ValueError("poll_s must be positive")
        self.port = port
        self.poll_s = poll_s
        self._event = threading.Event()
        self._interrupted = False
        self._closed = False
        self._failure: OSError | None = None
        first = read_lines(port)
        self._lines = [_Debounced(s, first.get(s.name) != s.active_low) for s in specs]
        self._last_sample = time.monotonic()
        self.samples = 1  # lines read so far (for measuring the sampling rate)
        self._wait_fd: int | None = None
        self._fd_lock = threading.Lock()
        self._helper: threading.Thread | None = None
        wanted = choose_mode(port) == "wait" if use_wait is None else use_wait
        self.mode = "poll"
        if wanted and _tty_fd(port) is not None and sys.platform.startswith("linux"):
            self._start_helper(_tty_fd(port))

    # -- what the owner calls ---------------------------------------------------------------------
    def active(self, line: str) -> bool:
        """The reported (debounced, polarity-corrected) state of a watched line."""
        name = line_name(line)
        for d in self._lines:
            if d.spec.name == name:
                return d.active
        raise ValueError(f"{name.upper()} is not watched")

    @property
    def how(self) -> str:
        """How changes are noticed, for status text."""
        if self.mode == "wait":
            return "TIOCMIWAIT"
        return f"polling every {self.poll_s * 1000:.0f} ms"

    def wait(self, timeout: float) -> list[LineChange]:
        """Block up to ``timeout`` s for changes of the watched lines and return them ([] on time-out).

        Returns early, with whatever has changed, when ``wake`` is called. ``timeout`` 0 samples once.
        Raises ``NoModemLines``, or the port's error when it has failed (cable pulled, port closed).
        """
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            changes = self._sample()
            if changes:
                return changes
            now = time.monotonic()
            if self._interrupted or self._closed or now >= deadline:
                self._interrupted = False
                return []
            wake_at = min(deadline, self._last_sample + self._period())
            for d in self._lines:
                due = d.due()
                if due is not None:
                    wake_at = min(wake_at, due)
            if wake_at > now:
                self._event.wait(wake_at - now)
            self._event.clear()

    def wake(self) -> None:
        """Make a ``wait`` in progress (on any thread) return now. Safe from any thread."""
        self._interrupted = True
        self._event.set()

    def close(self) -> None:
        """Stop watching; call it just before closing the port. Does not close the port."""
        self._closed = True
        self._event.set()
        with self._fd_lock:
            if self._wait_fd is not None:
                import fcntl

                try:
                    # The helper may still be blocked in TIOCMIWAIT on the same open file: let go of
                    # pyserial's exclusive lock now so the port can be reopened before it returns.
                    fcntl.flock(self._wait_fd, fcntl.LOCK_UN)
                except OSError:
                    pass

    # -- internals --------------------------------------------------------------------------------
    def _period(self) -> float:
        if self.mode == "wait" and all(d.spec.name != "ri" for d in self._lines):
            return GUARD_S
        return self.poll_s

    def _sample(self) -> list[LineChange]:
        if self._failure is not None:
            raise self._failure
        t = time.monotonic()
        levels = read_lines(self.port)
        self._last_sample = t
        self.samples += 1
        changes = []
        for d in self._lines:
            change = d.feed(levels.get(d.spec.name) != d.spec.active_low, t)
            if change is not None:
                changes.append(change)
        return changes

    def _start_helper(self, fd: int) -> None:
        import termios

        bits = {"cts": termios.TIOCM_CTS, "dsr": termios.TIOCM_DSR, "cd": termios.TIOCM_CAR, "ri": termios.TIOCM_RNG}
        mask = 0
        for d in self._lines:
            mask |= bits[d.spec.name]
        # The helper's own descriptor: the port closing its fd cannot make the helper's ioctl land on
        # whatever file reuses that number.
        self._wait_fd = os.dup(fd)
        self.mode = "wait"
        self._helper = threading.Thread(target=self._wait_for_changes, args=(self._wait_fd, mask),
                                         name=f"tiocmiwait:{port_name(self.port)}", daemon=True)
        self._helper.start()

    def _wait_for_changes(self, fd: int, mask: int) -> None:
        import fcntl
        import termios

        try:
            while not self._closed:
                try:
                    fcntl.ioctl(fd, termios.TIOCMIWAIT, mask)  # blocks (GIL released) until a line changes
                except OSError as exc:
                    if self._closed:
                        return
                    if exc.errno == errno.EINTR:
                        continue
                    if exc.errno in _UNSUPPORTED:
                        self.mode = "poll"  # this driver has no TIOCMIWAIT after all
                    else:
                        self._failure = exc  # device gone (EIO) and the like: the next wait raises it
                    self._event.set()
                    return
                self._event.set()
        finally:
            with self._fd_lock:
                self._wait_fd = None
                os.close(fd)


def close_watched(watcher: "LineWatcher | None", port: Any) -> None:
    """Stop watching a port's lines, then close the port (either may be None). A dying port may fail
    to close in many ways; nothing more can be done about it, so that is ignored."""
    if watcher is not None:
        watcher.close()
    if port is not None:
        try:
            port.close()
        except Exception:  # noqa: BLE001 - closing a dying port may fail in many ways
            pass

