"""A 9-1-1 trunk's ring, read from a serial port's modem line (``[calls] ring_source = "ri"``).

A ring indicator does not stay on for a whole call: it follows the ring cadence (in North America
2 s on, 4 s off), and some modems pulse it at the 20 Hz ringing frequency within each burst. So one
call is one *ring*, made of pulses: the first pulse starts it (``RingChanged(ringing=True)`` with a
fresh ``call_ref``), later pulses keep it going, and it ends (``ringing=False``, same ``call_ref``)
only when the line has been quiet for ``ring_off_s`` (default 6.5 s: longer than the 4 s silent gap,
with room for a slow ringing generator). The ring stops when the call is answered or the caller
hangs up; telling those apart is the calls service's job.

The port is opened for input only: RTS and DTR are left as the opener sets them. If the port cannot be
opened or fails (USB adapter pulled, terminal server down), the link goes DOWN with the reason, a ring
in progress ends (nothing can follow it any more) and the port is reopened with exponential backoff.
A port without modem lines (a pseudo-terminal) or a URL pyserial rejects is a FAULT: retrying cannot
fix it, so the thread ends. Stopping the driver ends a ring silently (the console is going away).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from hardware.events import EventSink, LinkChanged, LinkState, RingChanged, now
from hardware.serial.modem_lines import (
    POLL_S,
    LineChange,
    LineWatcher,
    NoModemLines,
    WatchedLine,
    close_watched,
    line_name,
)
from hardware.worker import DriverThread

Opener = Callable[[], Any]  # returns an open pyserial port (or anything with cts/dsr/cd/ri and close())

RING_OFF_S = 6.5
RING_DEBOUNCE_MS = 10.0  # rejects contact noise, keeps the 25 ms half-cycles of a 20 Hz ring
IDLE_WAIT_S = 1.0  # longest single wait while nothing is timing out (stop wakes it anyway)


class RingLineWatcher(DriverThread):
    """Reports rings on one modem line of one port as ``RingChanged`` events for trunk ``trunk``."""

    def __init__(
        self,
        device_id: str,
        sink: EventSink,
        opener: Opener,
        *,
        line: str = "RI",
        trunk: str = "",
        active_low: bool = False,
        debounce_ms: float = RING_DEBOUNCE_MS,
        ring_off_s: float = RING_OFF_S,
        describe: str = "",
        backoff_s: tuple[float, float] = (0.2, 10.0),
        poll_s: float = POLL_S,
    ) -> None:
        super().__init__(device_id, sink)
        if ring_off_s <= 0:
            raise ValueError(f"ring_off_s must be positive (got {ring_off_s})")
        self._open = opener
        self.line = WatchedLine(line_name(line), active_low, debounce_ms)
        self.trunk = trunk or self.line.name.upper()
        self.ring_off_s = ring_off_s
        self.describe = describe or device_id
        self.backoff_min, self.backoff_max = backoff_s
        self.poll_s = poll_s
        self._port: Any = None
        self._watcher: LineWatcher | None = None
        # Ring state, touched only by the driver thread (read by tests and the bench).
        self.ringing = False
        self.call_ref = ""
        self.line_active = False
        self.pulses = 0  # pulses seen in the current (or last) ring
        self._quiet_since = 0.0  # when the line last went inactive

    def on_stop_requested(self) -> None:
        watcher = self._watcher
        if watcher is not None:
            watcher.wake()

    def run_loop(self) -> None:
        backoff = self.backoff_min
        while not self.stopping:
            try:
                self._port = self._open()
                self._watcher = LineWatcher(self._port, [self.line], poll_s=self.poll_s)
            except NoModemLines as exc:
                self._close_port()
                self.emit(LinkChanged(self.device_id, LinkState.FAULT, f"{self.describe}: {exc.strerror}"))
                return
            except ValueError as exc:  # pyserial's word for a bad URL or setting: a profile error
                self._close_port()
                self.emit(LinkChanged(self.device_id, LinkState.FAULT, f"cannot open {self.describe}: {exc}"))
                return
            except Exception as exc:  # noqa: BLE001 - any other failure to open is retried
                self._close_port()
                self.emit(LinkChanged(self.device_id, LinkState.DOWN, f"cannot open {self.describe}: {exc}"))
                self.run_commands_until(time.monotonic() + backoff)
                backoff = min(backoff * 2, self.backoff_max)
                continue
            watcher = self._watcher
            self.emit(LinkChanged(self.device_id, LinkState.UP,
                                  f"open: {self.describe}, ring on {self.trunk} ({self.line.name.upper()}, {watcher.how})"))
            backoff = self.backoff_min
            try:
                reason = self._watch(watcher)
            except NoModemLines as exc:
                self._close_port()
                self.emit(LinkChanged(self.device_id, LinkState.FAULT, f"{self.describe}: {exc.strerror}"))
                return
            self._close_port()
            if not self.stopping:
                self.emit(LinkChanged(self.device_id, LinkState.DOWN, f"{self.describe}: {reason}"))
                self._end_ring(now())
                self.run_commands_until(time.monotonic() + backoff)

    def _watch(self, watcher: LineWatcher) -> str:
        self.line_active = False
        if watcher.active(self.line.name):  # already ringing when the port opened
            self._on_change(LineChange(self.line.name, True, now()))
        while not self.stopping:
            timeout = IDLE_WAIT_S
            if self.ringing and not self.line_active:
                timeout = min(timeout, self._quiet_since + self.ring_off_s - time.monotonic())
            try:
                changes = watcher.wait(max(0.0, timeout))
            except NoModemLines:
                raise  # a FAULT, not a lost link
            except Exception as exc:  # noqa: BLE001 - serial, socket and OS errors all mean "link lost"
                return f"modem lines unreadable: {exc}"
            for change in changes:
                self._on_change(change)
            if self.ringing and not self.line_active and time.monotonic() - self._quiet_since >= self.ring_off_s:
                self._end_ring(now())
        return "stopped"

    def _on_change(self, change: LineChange) -> None:
        self.line_active = change.active
        if not change.active:
            self._quiet_since = change.t
            return
        if self.ringing:
            self.pulses += 1
            return
        self.ringing = True
        self._quiet_since = change.t
        self.call_ref = f"{self.trunk}-{uuid.uuid4().hex[:12]}"
        self.pulses = 1
        self.emit(RingChanged(self.device_id, self.trunk, True, change.t, self.call_ref))

    def _end_ring(self, t: float) -> None:
        if self.ringing:
            self.ringing = False
            self.emit(RingChanged(self.device_id, self.trunk, False, t, self.call_ref))

    def _close_port(self) -> None:
        watcher, self._watcher = self._watcher, None
        port, self._port = self._port, None
        close_watched(watcher, port)

    def on_exit(self) -> None:
        self._close_port()
