"""A radio keyed by a serial port's RTS or DTR, its carrier (COR) read from CTS, DSR, CD or RI.

The port is any pyserial URL: a device path, ``COM3``, ``socket://``, ``rfc2217://`` (a terminal
server), ``loop://``. The radio has its own thread, which alone touches the port: ``key`` only records
what the console wants and wakes that thread, so it never blocks (an RFC 2217 line change waits for the
server's acknowledgement; a tty's is one ioctl). ``KeyStateChanged`` reports what was actually set on
the port, or the error when the port is gone.

Never keyed by accident:

- Opening: both RTS and DTR are given their unkeyed level on the port object before ``open`` (pyserial
  applies it while opening) and again right after (``hardware/serial/ports.py``). The line that is not
  PTT is held at the same idle level: a cable that keys on either line must not transmit either.
  (A Linux UART driver itself raises both lines at open for the few microseconds until pyserial sets
  them; no user-space program can avoid that, a radio interface's keying delay swallows it.)
- Process death: on a real POSIX tty the driver sets ``HUPCL``, so when the last descriptor closes -
  including when the kernel closes it for a process killed by SIGKILL - the kernel drops RTS and DTR.
  With active-high PTT that is "unkeyed", whatever the process was doing. With active-low PTT dropping
  the lines would key the radio, so ``HUPCL`` is cleared instead (the lines stay at whatever level they
  had; nothing can unkey a dead process's active-low radio). A terminal server (``rfc2217://``) drops its
  lines when the TCP session ends, which the kernel ends for a dead process.
- A lost port (cable pulled, server gone) while keyed reports unkeyed with the reason; a key asked for
  while the port is down is refused at once, not kept for later. ``stop`` unkeys before closing.

Carrier: ``LineWatcher`` (``hardware/serial/modem_lines.py``): TIOCMIWAIT on a Linux tty, otherwise
polling every 4 ms; debounced, polarity-corrected edges become ``CarrierChanged``. A port that vanished is
noticed by the watcher, by a failed line change, or by a non-blocking read every ``HEALTH_S`` (any data
arriving on a PTT port is discarded); it is reopened with exponential backoff.
"""

from __future__ import annotations

import errno
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from hardware.events import CarrierChanged, EventSink, KeyStateChanged, LinkChanged, LinkState, now
from hardware.serial.modem_lines import POLL_S, LineWatcher, NoModemLines, WatchedLine, close_watched, line_name
from hardware.worker import DriverThread

log = logging.getLogger(__name__)

Opener = Callable[[], Any]  # returns an open pyserial port

PTT_LINES = ("rts", "dtr")
NO_CARRIER = ("", "none")
HEALTH_S = 0.25  # longest time between checks that an idle port still works
BACKOFF_S = (0.2, 5.0)  # first retry, longest wait between retries
FIRST_STATE_S = 1.0  # how long an RFC 2217 server may take to send its first modem-line state
_NO_LINES_ERRNO = {errno.ENOTTY, errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}  # "no modem lines here"


class PortLost(OSError):
    """The port stopped working (the reason is the message); it will be reopened unless ``no_lines``."""

    def __init__(self, message: str, *, no_lines: bool = False) -> None:
        super().__init__(message)
        self.no_lines = no_lines  # it failed because it has no modem lines: reopening cannot help


def set_hangup_on_close(port: Any, on: bool) -> bool:
    """Set (``on``) or clear the tty's HUPCL flag; False when the port is not a real POSIX tty.

    With HUPCL the kernel lowers RTS and DTR when the last descriptor of the tty is closed, which
    includes the close the kernel does for a process that was killed.
    """
    fd = getattr(port, "fd", None)
    if not isinstance(fd, int) or sys.platform == "win32":
        return False
    try:
        import termios

        if not os.isatty(fd):
            return False
        attrs = termios.tcgetattr(fd)
        wanted = (attrs[2] | termios.HUPCL) if on else (attrs[2] & ~termios.HUPCL)
        if wanted != attrs[2]:
            attrs[2] = wanted
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
        return True
    except (ImportError, OSError):
        return False


def wait_first_modem_state(port: Any, stopping: threading.Event, timeout_s: float = FIRST_STATE_S) -> None:
    """An RFC 2217 port knows its modem lines only once the server has sent them: wait for that.

    Other ports know them at once. Raises ``PortLost`` when the server says nothing in ``timeout_s``.
    """
    if not hasattr(port, "get_modem_state"):
        return
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            port.get_modem_state()
            return
        except Exception as exc:  # noqa: BLE001 - pyserial's SerialException until the first notification
            if time.monotonic() >= deadline or stopping.is_set():
                raise PortLost(f"no modem-line state from the server within {timeout_s:g} s: {exc}") from None
        stopping.wait(0.005)


def check_port(port: Any) -> None:
    """Raise ``PortLost`` when the port no longer works; reads (and discards) what has arrived.

    The port is opened with a zero read time-out, so this never blocks: a vanished USB adapter fails
    the read, a closed TCP connection (``socket://``) reads as disconnected, and an RFC 2217 port whose
    reader thread ended fails on the read after the one that drains it.
    """
    try:
        port.read(4096)
    except Exception as exc:  # noqa: BLE001 - serial, socket and OS errors all mean "link lost"
        raise PortLost(f"port failed: {exc}") from None


def no_modem_lines(exc: BaseException) -> bool:
    """True when ``exc`` says the port has no modem lines to set or read (a pseudo-terminal)."""
    if isinstance(exc, NoModemLines) or getattr(exc, "no_lines", False):
        return True
    return isinstance(exc, OSError) and exc.errno in _NO_LINES_ERRNO


class SerialLineRadio(DriverThread):
    """PTT on RTS or DTR, carrier on a modem input line; see the module docstring for the rules."""

    def __init__(
        self,
        device_id: str,
        sink: EventSink,
        *,
        url: str,
        ptt_line: str = "rts",
        ptt_active_high: bool = True,
        carrier_line: str | None = "cts",
        carrier_active_high: bool = True,
        debounce_ms: float = 20.0,
        opener: Opener | None = None,
        backoff_s: tuple[float, float] = BACKOFF_S,
        poll_s: float = POLL_S,
    ) -> None:
        super().__init__(device_id, sink)
        ptt = ptt_line.strip().lower()
        if ptt not in PTT_LINES:
            raise ValueError(f"radio {device_id}: PTT line {ptt_line!r} must be RTS or DTR")
        self.url = url
        self.ptt_line = ptt
        self.ptt_active_high = ptt_active_high
        self.carrier: WatchedLine | None = None
        if (carrier_line or "").strip().lower() not in NO_CARRIER:
            self.carrier = WatchedLine(line_name(carrier_line), not carrier_active_high, debounce_ms)
        self.backoff_min, self.backoff_max = backoff_s
        self.poll_s = poll_s
        self._open = opener or self._open_url
        self._lock = threading.Lock()
        self._want_keyed = False  # what the console last asked for
        self._keyed = False  # what is set on the port (radio thread only)
        self._carrier = False
        self._port: Any = None
        self._watcher: LineWatcher | None = None
        self.hangup_on_close: bool | None = None  # HUPCL as set on the last port opened (None: not a tty)

    @property
    def keyed(self) -> bool:
        """The PTT state last set on the port."""
        return self._keyed

    @property
    def port(self) -> Any:
        """The open port (tests and the bench look at it); None while down."""
        return self._port

    def describe(self) -> str:
        carrier = f", carrier on {self.carrier.name.upper()}" if self.carrier else ""
        polarity = "" if self.ptt_active_high else " (active low)"
        return f"{self.url}: PTT on {self.ptt_line.upper()}{polarity}{carrier}"

    # -- what the console calls (any thread, never blocks) ------------------------------------
    def key(self, on: bool) -> None:
        with self._lock:
            self._want_keyed = on
        self._wake()

    def on_stop_requested(self) -> None:
        self._wake()

    def _wake(self) -> None:
        self.post(_noop)  # wakes a thread waiting on commands (no carrier line, or down)
        watcher = self._watcher
        if watcher is not None:
            watcher.wake()

    # -- the radio's thread -----------------------------------------------------------------------
    def _idle_level(self) -> bool:
        """The level of the PTT line when not transmitting."""
        return not self.ptt_active_high

    def _open_url(self) -> Any:
        from hardware.serial.ports import LineSettings, open_port

        idle = self._idle_level()
        # Zero read time-out: check_port must never block the radio's thread.
        return open_port(self.url, LineSettings(timeout=0), rts=idle, dtr=idle)

    def run_loop(self) -> None:
        backoff = self.backoff_min
        down_reason = ""
        while not self.stopping:
            try:
                self._port = self._open()
                tty = set_hangup_on_close(self._port, self.ptt_active_high)
                self.hangup_on_close = self.ptt_active_high if tty else None
                self._watcher = self._watch_carrier(self._port)
            except Exception as exc:  # noqa: BLE001 - sorted below into FAULT and retry
                self._close_port()
                if no_modem_lines(exc):
                    self._fault(f"{self.url} has no modem lines to key (a pseudo-terminal?): {exc}")
                    return
                if isinstance(exc, ValueError):  # pyserial's word for a bad URL or setting
                    self._fault(f"cannot open {self.url}: {exc}")
                    return
                reason = f"cannot open {self.url}: {exc}"
                if reason != down_reason:
                    log.warning("%s: %s", self.device_id, reason)
                    self.emit(LinkChanged(self.device_id, LinkState.DOWN, reason, now()))
                    down_reason = reason
                self._serve_while_down(time.monotonic() + backoff, reason)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            how = f" ({self._watcher.how})" if self._watcher is not None else ""
            self.emit(LinkChanged(self.device_id, LinkState.UP, f"open: {self.describe()}{how}", now()))
            backoff, down_reason = self.backoff_min, ""
            try:
                self._serve(self._port, self._watcher)
            except Exception as exc:  # noqa: BLE001 - the port failed while in use
                if no_modem_lines(exc):
                    self._lost(f"{self.url} has no modem lines (a pseudo-terminal?): {exc}", LinkState.FAULT)
                    return
                down_reason = f"{self.url}: {exc}"
                log.warning("%s: %s", self.device_id, down_reason)
                self._lost(down_reason, LinkState.DOWN)
                self._serve_while_down(time.monotonic() + backoff, down_reason)

    def _watch_carrier(self, port: Any) -> LineWatcher | None:
        if self.carrier is None:
            return None
        wait_first_modem_state(port, self._stopping)
        return LineWatcher(port, [self.carrier], poll_s=self.poll_s)

    def _serve(self, port: Any, watcher: LineWatcher | None) -> None:
        if watcher is not None and watcher.active(self.carrier.name):  # receiving when the port opened
            self._set_carrier(True, now())
        while not self.stopping:
            self._sync_ptt(port)
            if watcher is not None:
                for change in watcher.wait(HEALTH_S):
                    self._set_carrier(change.active, change.t)
                while self.wait_command(0):  # the wake-ups key() posted
                    pass
            else:
                self.wait_command(HEALTH_S)
            check_port(port)

    def _sync_ptt(self, port: Any) -> None:
        """Set the PTT line to what the console last asked for; report what was set."""
        with self._lock:
            want = self._want_keyed
        if want == self._keyed:
            return
        try:
            setattr(port, self.ptt_line, want == self.ptt_active_high)
        except Exception as exc:  # noqa: BLE001 - the port is gone: the caller reports the loss
            raise PortLost(f"cannot set {self.ptt_line.upper()}: {exc}", no_lines=no_modem_lines(exc)) from None
        self._keyed = want
        self.emit(KeyStateChanged(self.device_id, want, now()))

    def _set_carrier(self, active: bool, t: float) -> None:
        if active != self._carrier:
            self._carrier = active
            self.emit(CarrierChanged(self.device_id, active, t))

    def _serve_while_down(self, deadline: float, reason: str) -> None:
        while not self.stopping:
            self._refuse_key(f"not keyed: {reason}")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.wait_command(remaining)

    def _refuse_key(self, error: str) -> None:
        """A key asked for while there is no port fails at once; it is not kept for later."""
        with self._lock:
            refused, self._want_keyed = self._want_keyed, False
        if refused:
            self.emit(KeyStateChanged(self.device_id, False, now(), error=error))

    def _lost(self, reason: str, state: LinkState) -> None:
        """The port failed: report unkeyed (whatever was asked) and no carrier, then the link."""
        with self._lock:
            wanted, self._want_keyed = self._want_keyed, False
        was_keyed, self._keyed = self._keyed, False
        self._close_port()
        if was_keyed or wanted:
            self.emit(KeyStateChanged(self.device_id, False, now(), error=reason))
        self._set_carrier(False, now())
        self.emit(LinkChanged(self.device_id, state, reason, now()))

    def _fault(self, reason: str) -> None:
        log.error("%s: %s", self.device_id, reason)
        self._refuse_key(f"not keyed: {reason}")
        self.emit(LinkChanged(self.device_id, LinkState.FAULT, reason, now()))

    def _close_port(self) -> None:
        watcher, self._watcher = self._watcher, None
        port, self._port = self._port, None
        close_watched(watcher, port)

    def on_exit(self) -> None:
        """Leave the transmitter unkeyed: set the idle level, then close the port."""
        with self._lock:
            self._want_keyed = False
        port = self._port
        if port is not None:
            try:
                setattr(port, self.ptt_line, self._idle_level())
            except Exception as exc:  # noqa: BLE001 - a port that is going away
                log.error("%s: could not unkey %s on stop: %s", self.device_id, self.url, exc)
        if self._keyed:
            self._keyed = False
            self.emit(KeyStateChanged(self.device_id, False, now()))
        self._close_port()


def _noop() -> None:
    pass
