"""Opening serial ports by pyserial URL without glitching the control lines.

A radio interface keys its transmitter on RTS or DTR. Most operating systems raise both lines when a
port is opened, which would key the radio for a moment: so the unkeyed levels are set on the port
object before ``open()`` (pyserial applies them during open) and set again right after.
pyserial is imported here, lazily, so a machine without it still starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LineSettings:
    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    timeout: float = 0.1


def open_port(url: str, settings: LineSettings = LineSettings(), *, rts: bool | None = False,
              dtr: bool | None = False, exclusive: bool = True) -> Any:
    """Open ``url`` (a device path, ``COM3``, ``socket://``, ``rfc2217://``, ``loop://``...).

    ``rts``/``dtr`` are the levels the lines must have from the first instant (None leaves the
    driver's default). Raises ``serial.SerialException`` (an OSError) naming the port on failure.
    """
    import serial  # lazy: device library

    port = serial.serial_for_url(
        url,
        do_not_open=True,
        baudrate=settings.baudrate,
        bytesize=settings.bytesize,
        parity=settings.parity,
        stopbits=settings.stopbits,
        timeout=settings.timeout,
    )
    if rts is not None:
        port.rts = rts
    if dtr is not None:
        port.dtr = dtr
    if exclusive and hasattr(port, "exclusive"):
        try:
            port.exclusive = True
        except (ValueError, NotImplementedError):
            pass  # not every URL handler supports exclusive access
    port.open()
    try:
        if rts is not None:
            port.rts = rts
        if dtr is not None:
            port.dtr = dtr
    except BaseException:
        port.close()  # a port whose lines cannot be set (a pseudo-terminal) is not left open
        raise
    return port
