"""What drivers report, as small immutable records.

Every driver is given one callable, an ``EventSink``, and calls it from its own thread with one of
these records. The sink must return quickly: on the app side it only emits a Qt signal that is queued
to the control thread. ``t`` is ``time.monotonic()`` when the driver saw the thing happen, so events
from different threads can be ordered and latencies measured.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass, field
from typing import Callable, Union


def now() -> float:
    """The clock every event is stamped with."""
    return time.monotonic()


class LinkState(enum.Enum):
    """Health of one device's connection, as the status bar shows it."""

    UNKNOWN = "unknown"  # not yet started
    UP = "up"
    DOWN = "down"  # lost, being retried
    FAULT = "fault"  # failed in a way retrying will not fix (bad URL, permission)


@dataclass(frozen=True, slots=True)
class LinkChanged:
    device: str
    state: LinkState
    detail: str = ""
    t: float = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class CarrierChanged:
    """Receive activity on a radio (COR/squelch open or closed)."""

    device: str
    active: bool
    t: float = field(default_factory=now)
    unit_id: str | None = None  # when the radio or a decoder knows who is talking


@dataclass(frozen=True, slots=True)
class InputChanged:
    """A footswitch, headset PTT, MIDI pad or key went down or up."""

    device: str
    pressed: bool
    t: float = field(default_factory=now)
    control: str = "ptt"  # which control of the device (a MIDI note, a modem line)


@dataclass(frozen=True, slots=True)
class KeyStateChanged:
    """A transmitter's keyed state as the driver actually set it (not as it was asked)."""

    device: str
    keyed: bool
    t: float = field(default_factory=now)
    error: str = ""  # non-empty when asked to key and it could not


@dataclass(frozen=True, slots=True)
class BytesReceived:
    """Raw bytes from a data link (the ALI spill line). Never altered by the driver."""

    device: str
    data: bytes
    t: float = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class RingChanged:
    """A trunk starts or stops ringing at this position (RI line, CPE message or simulator)."""

    device: str
    line: str
    ringing: bool
    t: float = field(default_factory=now)
    call_ref: str = ""  # the phone system's reference for the call, when it gives one
    ani: str = ""  # the calling number, when the ring carries it (CPE message, simulator)


@dataclass(frozen=True, slots=True)
class DeviceFault:
    """Something went wrong inside a driver. The driver has already made itself safe (unkeyed)."""

    device: str
    message: str
    t: float = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class EmergencyDeclared:
    """A unit declared an emergency on a radio channel (its emergency button, decoded signaling, a simulator)."""

    device: str  # the radio channel it was heard on
    unit_id: str  # "" when the unit is not known
    t: float = field(default_factory=now)
    source: str = ""  # what decoded it: "sim", "mdc1200", a driver name


@dataclass(frozen=True, slots=True)
class SignalDecoded:
    """Signaling decoded from a receive input (MDC1200 unit ID, a page, TTY text), by the DSP worker.

    ``value`` is what the decoder reports (app/dsp/signal_event.py): a digit string, a tone pair, text,
    or for MDC1200 a dict ``{"op", "arg", "unit", "meaning"}``. ``device`` is the radio id, or "phone".
    """

    device: str
    kind: str  # "mdc1200", "dtmf", "qc2", "zvei1", "ccir", "eea", "eia", "tty"
    value: object
    extra: dict = field(default_factory=dict)
    t: float = field(default_factory=now)


@dataclass(frozen=True, slots=True)
class ControlValue:
    """A continuous control moved (a MIDI fader or knob): ``value`` 0..1 across its travel."""

    device: str
    control: str
    value: float
    t: float = field(default_factory=now)


DeviceEvent = Union[
    LinkChanged, CarrierChanged, InputChanged, KeyStateChanged, BytesReceived, RingChanged, DeviceFault,
    EmergencyDeclared, ControlValue, SignalDecoded,
]
EventSink = Callable[[DeviceEvent], None]
