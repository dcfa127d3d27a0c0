"""A footswitch, headset PTT or jackbox presence on one modem line of a serial port.

The line (CTS, DSR, CD or RI) is watched by ``LineWatcher`` (TIOCMIWAIT on a Linux tty, polling every
4 ms otherwise) with polarity and debounce; each debounced edge is ``InputChanged(control=<line>)``.
A line already active when the port opens is reported pressed right after the link comes UP (a
jackbox's headset was plugged in before the console started).

The port is any pyserial URL. Its output lines are held low by default, so the port drives nothing;
``power=True`` holds RTS and DTR asserted, for a passive switch wired from one of them to the input.

A port lost while the line is active reports the release first, then ``LinkChanged(DOWN)``, so nothing
stays held by a switch nobody can see any more; the port is reopened with exponential backoff and found
again without a restart. A port without modem lines (a pseudo-terminal) or a URL pyserial rejects is a
FAULT: retrying cannot fix it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from hardware.events import EventSink, InputChanged, LinkChanged, LinkState, now
from hardware.radio.serial_line import (
    BACKOFF_S,
    HEALTH_S,
    Opener,
    check_port,
    no_modem_lines,
    wait_first_modem_state,
)
from hardware.serial.modem_lines import POLL_S, LineChange, LineWatcher, WatchedLine, close_watched, line_name
from hardware.worker import DriverThread

log = logging.getLogger(__name__)


class SerialLineInput(DriverThread):
    """Reports one modem line of one port as a pressed/released control named after the line."""

    def __init__(
        self,
        device_id: str,
        sink: EventSink,
        *,
        url: str,
        line: str = "cts",
        active_high: bool = True,
        debounce_ms: float = 10.0,
        power: bool = False,
        opener: Opener | None = None,
        backoff_s: tuple[float, float] = BACKOFF_S,
        poll_s: float = POLL_S,
    ) -> None:
        super().__init__(device_id, sink)
        self.url = url
        self.line = WatchedLine(line_name(line), not active_high, debounce_ms)
        self.control = self.line.name
        self.power = power
        self.backoff_min, self.backoff_max = backoff_s
        self.poll_s = poll_s
        self._open = opener or self._open_url
        self._port: Any = None
        self._watcher: LineWatcher | None = None
        self.pressed = False  # as last reported (input thread only)

    @property
    def port(self) -> Any:
        """The open port (tests and the bench toggle its loop-back lines); None while down."""
        return self._port

    def describe(self) -> str:
        polarity = " (active low)" if self.line.active_low else ""
        return f"{self.url}: {self.line.name.upper()}{polarity}"

    def on_stop_requested(self) -> None:
        watcher = self._watcher
        if watcher is not None:
            watcher.wake()

    def _open_url(self) -> Any:
        from hardware.serial.ports import LineSettings, open_port

        # Zero read time-out: check_port must never block the input's thread.
        return open_port(self.url, LineSettings(timeout=0), rts=self.power, dtr=self.power)

    def run_loop(self) -> None:
        backoff = self.backoff_min
        down_reason = ""
        while not self.stopping:
            try:
                self._port = self._open()
                wait_first_modem_state(self._port, self._stopping)
                self._watcher = LineWatcher(self._port, [self.line], poll_s=self.poll_s)
            except Exception as exc:  # noqa: BLE001 - sorted below into FAULT and retry
                self._close_port()
                if no_modem_lines(exc) or isinstance(exc, ValueError):
                    self._fault(f"{self.url}: {exc}")
                    return
                reason = f"cannot open {self.url}: {exc}"
                if reason != down_reason:
                    log.warning("%s: %s", self.device_id, reason)
                    self.emit(LinkChanged(self.device_id, LinkState.DOWN, reason, now()))
                    down_reason = reason
                self.run_commands_until(time.monotonic() + backoff)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            watcher = self._watcher
            self.emit(LinkChanged(self.device_id, LinkState.UP, f"open: {self.describe()} ({watcher.how})", now()))
            backoff, down_reason = self.backoff_min, ""
            try:
                self._watch(self._port, watcher)
            except Exception as exc:  # noqa: BLE001 - the port failed while in use
                reason = f"{self.url}: {exc}"
                self._release(now())
                self._close_port()
                if no_modem_lines(exc):
                    self._fault(reason)
                    return
                log.warning("%s: %s", self.device_id, reason)
                self.emit(LinkChanged(self.device_id, LinkState.DOWN, reason, now()))
                self.run_commands_until(time.monotonic() + backoff)

    def _watch(self, port: Any, watcher: LineWatcher) -> None:
        if watcher.active(self.line.name):
            self._report(LineChange(self.line.name, True, now()))
        while not self.stopping:
            for change in watcher.wait(HEALTH_S):
                self._report(change)
            check_port(port)

    def _report(self, change: LineChange) -> None:
        if change.active != self.pressed:
            self.pressed = change.active
            self.emit(InputChanged(self.device_id, change.active, change.t, control=self.control))

    def _release(self, t: float) -> None:
        self._report(LineChange(self.line.name, False, t))

    def _fault(self, reason: str) -> None:
        log.error("%s: %s", self.device_id, reason)
        self.emit(LinkChanged(self.device_id, LinkState.FAULT, reason, now()))

    def _close_port(self) -> None:
        watcher, self._watcher = self._watcher, None
        port, self._port = self._port, None
        close_watched(watcher, port)

    def on_exit(self) -> None:
        """A switch held while the driver stops is let go of: nothing may stay keyed by it."""
        self._release(now())
        self._close_port()
