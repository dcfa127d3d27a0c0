"""A live serial port for the technician (pure: no Qt): hex+ASCII dump, raw capture, lamps and toggles.

``HexDump`` turns received bytes into rows of at most 16: offset, hex cells, ASCII. ALI framing is
marked: a row starts at each STX, whose cell reads ``[02`` and whose ASCII is ``«``; an ETX cell reads
``03]`` (ASCII ``»``); the row ends with the marks it holds (``STX``/``ETX``), so a frame reads as a
bracketed run of cells. Bytes outside 0x20-0x7E show as ``.`` in the ASCII column.

``PortSession`` owns one open port on one thread (``start``) or the caller's (``run``): it reads bytes
(written, exactly as received, to a capture file while capturing: ``dispatch-console ali parse`` reads
it), samples CTS/DSR/CD/RI and sets RTS/DTR when asked. Closing drops RTS/DTR to their unkeyed levels
and closes the port and the capture, whatever ended the session.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO

from app.bench.serial_checks import LineRecord, PortOpenError, open_quiet, release
from hardware.serial.modem_lines import LINE_NAMES, LineWatcher, ModemLines, NoModemLines, WatchedLine
from hardware.serial.ports import LineSettings

STX, ETX = 0x02, 0x03
ROW_BYTES = 16
_CELL = {STX: "[02 ", ETX: " 03]"}
_ASCII_MARK = {STX: "«", ETX: "»"}


def format_row(offset: int, chunk: bytes) -> str:
    """One dump row: ``OOOOOOOO  cells  |ascii|  marks``; cells are 4 wide so rows line up."""
    cells = "".join(_CELL.get(b, f" {b:02X} ") for b in chunk).ljust(4 * ROW_BYTES)
    text = "".join(_ASCII_MARK.get(b) or (chr(b) if 0x20 <= b < 0x7F else ".") for b in chunk)
    marks = " ".join("STX" if b == STX else "ETX" for b in chunk if b in (STX, ETX))
    return f"{offset:08X} {cells} |{text.ljust(ROW_BYTES)}|" + (f"  {marks}" if marks else "")


class HexDump:
    """Bytes in, finished rows out; ``flush`` ends a part row (after a pause in the data)."""

    def __init__(self) -> None:
        self.offset = 0  # bytes fed so far
        self._row = bytearray()
        self._row_at = 0

    def feed(self, data: bytes) -> list[str]:
        rows = []
        for byte in data:
            if byte == STX and self._row:
                rows.append(self._take())
            if not self._row:
                self._row_at = self.offset
            self._row.append(byte)
            self.offset += 1
            if len(self._row) == ROW_BYTES:
                rows.append(self._take())
        return rows

    def flush(self) -> list[str]:
        return [self._take()] if self._row else []

    def _take(self) -> str:
        row = format_row(self._row_at, bytes(self._row))
        self._row.clear()
        return row


class PortSession:
    """One port opened for watching: data, line changes, RTS/DTR commands and an optional capture.

    Callbacks run on the session's thread: ``on_open(ok, text)`` once (text: how lines are watched,
    or why opening failed), ``on_data(bytes, t)``, ``on_lines(LineRecord)`` (the starting state first,
    then changes), ``on_outputs(rts, dtr)`` after each change of RTS/DTR, ``on_idle()`` after a read
    that got nothing (about every 20 ms while the port is quiet), ``on_closed(reason)`` last ("" for a
    normal close).
    """

    def __init__(self, url: str, settings: LineSettings = LineSettings(), *, idle: tuple[bool, bool] = (False, False),
                 on_open: Callable[[bool, str], None] | None = None,
                 on_data: Callable[[bytes, float], None] | None = None,
                 on_lines: Callable[[LineRecord], None] | None = None,
                 on_outputs: Callable[[bool, bool], None] | None = None,
                 on_closed: Callable[[str], None] | None = None,
                 on_idle: Callable[[], None] | None = None) -> None:
        self.url = url
        self.settings = LineSettings(settings.baudrate, settings.bytesize, settings.parity, settings.stopbits,
                                     timeout=0.02)
        self.idle = idle
        self._on_open = on_open or (lambda ok, text: None)
        self._on_data = on_data or (lambda data, t: None)
        self._on_lines = on_lines or (lambda record: None)
        self._on_outputs = on_outputs or (lambda rts, dtr: None)
        self._on_closed = on_closed or (lambda reason: None)
        self._on_idle = on_idle or (lambda: None)
        self._stop = threading.Event()
        self._commands: queue.SimpleQueue[tuple[str, bool]] = queue.SimpleQueue()
        self._capture_lock = threading.Lock()
        self._capture: BinaryIO | None = None
        self.captured = 0  # bytes written to the current capture
        self.received = 0
        self.has_lines = False
        self._thread: threading.Thread | None = None

    # -- what the owner calls (any thread) ------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._run_quietly, name=f"serial-session:{self.url}", daemon=True)
        self._thread.start()

    def set_output(self, line: str, level: bool) -> None:
        """Set RTS or DTR (the caller has passed the PTT interlock)."""
        if line not in ("rts", "dtr"):
            raise ValueError(f"only RTS and DTR can be set, not {line!r}")
        self._commands.put((line, level))

    def start_capture(self, path: str) -> None:
        """Write every byte received from now on to ``path`` (replacing it). Raises OSError."""
        handle = open(path, "wb")
        with self._capture_lock:
            old, self._capture, self.captured = self._capture, handle, 0
        if old is not None:
            old.close()

    def stop_capture(self) -> int:
        """Stop capturing; returns the bytes written."""
        with self._capture_lock:
            handle, self._capture = self._capture, None
        if handle is not None:
            handle.close()
        return self.captured

    @property
    def capturing(self) -> bool:
        return self._capture is not None

    def close(self, timeout: float = 5.0) -> bool:
        """Stop and wait for the port to be released; False if it did not end within ``timeout``."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            return not thread.is_alive()
        return True

    # -- the session ------------------------------------------------------------------------------------
    def _run_quietly(self) -> None:
        try:
            self.run()
        except PortOpenError:
            pass  # reported through on_open

    def run(self, seconds: float | None = None) -> None:
        """Open, serve until ``close`` (or ``seconds``), release. Raises ``PortOpenError`` after ``on_open``."""
        try:
            port, settable = open_quiet(self.url, self.settings, rts=self.idle[0], dtr=self.idle[1])
        except PortOpenError as err:
            self.stop_capture()
            self._on_open(False, str(err))
            self._on_closed(str(err))
            raise
        watcher = None
        reason = ""
        try:
            try:
                watcher = LineWatcher(port, [WatchedLine(name) for name in LINE_NAMES])
                how = f"modem lines: {watcher.how}"
            except NoModemLines:
                how = "no modem lines on this port"
            self.has_lines = watcher is not None and settable
            self._on_open(True, how)
            if watcher is not None:
                self._on_lines(LineRecord(0.0, state=ModemLines(*(watcher.active(n) for n in LINE_NAMES))))
            if self.has_lines:
                self._on_outputs(bool(port.rts), bool(port.dtr))
            reason = self._serve(port, watcher, seconds)
        except OSError as err:
            reason = f"{self.url} failed: {getattr(err, 'strerror', None) or err}"
        finally:
            if watcher is not None:
                watcher.close()
            if settable:
                release(port, *self.idle)
            else:
                port.close()
            self.stop_capture()
            self._on_closed(reason)

    def _serve(self, port: Any, watcher: LineWatcher | None, seconds: float | None) -> str:
        start = time.monotonic()
        end = None if seconds is None else start + seconds
        while not self._stop.is_set():
            if end is not None and time.monotonic() >= end:
                break
            self._apply_commands(port)
            data = port.read(max(1, port.in_waiting))  # waits at most the port's 20 ms timeout
            if data:
                t = time.monotonic()
                self.received += len(data)
                with self._capture_lock:
                    if self._capture is not None:
                        self._capture.write(data)
                        self._capture.flush()  # a capture is readable while it grows
                        self.captured += len(data)
                self._on_data(data, t)
            else:
                self._on_idle()
            if watcher is not None:
                for change in watcher.wait(0):
                    self._on_lines(LineRecord(max(0.0, change.t - start), change.line, change.active))
        return ""

    def _apply_commands(self, port: Any) -> None:
        changed = False
        while True:
            try:
                line, level = self._commands.get_nowait()
            except queue.Empty:
                break
            if self.has_lines:
                setattr(port, line, level)
                changed = True
        if changed:
            self._on_outputs(bool(port.rts), bool(port.dtr))
