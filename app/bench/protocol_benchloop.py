"""pyserial URL handler ``benchloop://NAME``: a ``loop://`` port the PTT bench can reach and watch.

Each open of ``benchloop://NAME`` is an ordinary loop-back port (RTS shows on CTS, DTR on DSR) that is
also registered under NAME, so the bench can toggle the very port a driver opened (its RTS drives the
CTS the footswitch driver watches) and be told the moment a radio driver sets RTS (``rts_changed``,
stamped with ``time.monotonic()`` inside the driver's own ``port.rts = ...``). Registered with
``register()``; pyserial finds it as ``app.bench.protocol_benchloop``.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

_PORTS: dict[str, Any] = {}
_LOCK = threading.Lock()
_SERIAL_CLASS: Any = None


def register() -> None:
    import serial

    if "app.bench" not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append("app.bench")


def port(name: str) -> Any:
    """The port last opened as ``benchloop://name`` (None before)."""
    with _LOCK:
        return _PORTS.get(name)


def __getattr__(name: str) -> Any:
    # pyserial looks up ``Serial`` here; the class is made on first use so importing this module
    # does not load pyserial (device libraries load only when used).
    if name != "Serial":
        raise AttributeError(name)
    global _SERIAL_CLASS
    if _SERIAL_CLASS is None:
        _SERIAL_CLASS = _make_serial_class()
    return _SERIAL_CLASS


def _make_serial_class() -> type:
    from serial.urlhandler import protocol_loop

    class Serial(protocol_loop.Serial):
        on_rts: Callable[[bool, float], Any] | None = None  # set by the bench: called with (level, t)

        def from_url(self, url: str) -> str:
            self.bench_name = url.split("://", 1)[1].split("?", 1)[0]
            with _LOCK:
                _PORTS[self.bench_name] = self
            return super().from_url("loop://")

        def _update_rts_state(self) -> None:
            t = time.monotonic()
            super()._update_rts_state()
            hook = self.on_rts
            if hook is not None:
                hook(self._rts_state, t)

    return Serial
