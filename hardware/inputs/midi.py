"""MIDI footswitches and control surfaces through python-rtmidi (imported lazily).

The driver opens the MIDI input port whose name contains ``port`` and turns each bound note or CC into
an event: a note (on = pressed, off or velocity 0 = released) or a CC button (value >= 64 = pressed)
becomes ``InputChanged(control=...)``; a CC fader becomes ``ControlValue`` (0..1). When the surface has
an output port of the same name, ``set_led`` lights its buttons (note on/off, or CC 127/0).

Hot-plug: while open, the port list is checked every ``PRESENCE_S``; a port gone releases every
pressed control, reports LinkChanged DOWN, and is looked for again every ``RESCAN_S`` and reopened
(UP) when it comes back. LED states are remembered and sent again after a reopen.

Messages arrive on rtmidi's thread (ALSA's reader thread or JACK's process thread): the callback only
decodes and calls the sink, under a lock shared with the close path so no edge is reported after the
port was declared lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hardware.events import ControlValue, EventSink, InputChanged, LinkChanged, LinkState, now
from hardware.worker import DriverThread

PRESENCE_S = 0.25  # how often an open port is checked for still being there
RESCAN_S = 1.0  # how often a missing port is looked for
CLIENT_NAME = "dispatch-console"
# The rtmidi API names a profile can choose; "auto" is rtmidi's default for the platform (ALSA on Linux).
API_NAMES = {"auto": "API_UNSPECIFIED", "alsa": "API_LINUX_ALSA", "jack": "API_UNIX_JACK",
             "coremidi": "API_MACOSX_CORE", "winmm": "API_WINDOWS_MM"}

NOTE_OFF, NOTE_ON, CONTROL_CHANGE = 0x80, 0x90, 0xB0
PRESSED_AT = 64  # a CC used as a button: 64..127 pressed, 0..63 released (the sustain-pedal convention)


def control_name(kind: str, number: int, channel: int | None = None) -> str:
    """The control name events carry: "note60", "cc7", or with a channel "note60/ch2"."""
    name = f"{kind}{number}"
    return name if channel is None else f"{name}/ch{channel}"


@dataclass(frozen=True, slots=True)
class MidiBinding:
    """One note or CC the driver reports."""

    kind: Literal["note", "cc"]
    number: int  # 0..127
    channel: int | None = None  # 1..16; None = any channel
    continuous: bool = False  # a CC fader: ControlValue 0..1 instead of pressed/released

    @property
    def control(self) -> str:
        return control_name(self.kind, self.number, self.channel)


class MidiInput(DriverThread):
    def __init__(self, device_id: str, sink: EventSink, *, port: str, bindings: Sequence[MidiBinding],
                 api: str = "auto", client_name: str = CLIENT_NAME) -> None:
        super().__init__(device_id, sink)
        if api not in API_NAMES:
            raise ValueError(f"unknown MIDI API {api!r} (expected one of {', '.join(API_NAMES)})")
        self.port = port
        self.api = api
        self.bindings = tuple(bindings)
        self.client_name = f"{client_name}-{device_id}"
        self._by_message: dict[tuple[str, int, int | None], list[MidiBinding]] = {}
        for binding in self.bindings:
            self._by_message.setdefault((binding.kind, binding.number, binding.channel), []).append(binding)
        self._by_control = {b.control: b for b in self.bindings}
        self._lock = threading.Lock()  # the callback's view of "open" and the pressed set
        self._live = False
        self._pressed: set[str] = set()
        self._cc_levels: dict[str, int] = {}
        self._midi_in: Any = None
        self._midi_out: Any = None
        self._midi_out_name = ""
        self._in_name = ""
        self._leds: dict[str, bool] = {}  # control -> wanted LED state (driver thread only)

    # -- commands (any thread) -----------------------------------------------------------------
    def set_led(self, control: str, on: bool) -> None:
        """Light or darken the surface's LED of ``control`` (a binding's control name)."""
        self.post(self._set_led, control, on)

    @property
    def port_name(self) -> str:
        """The input port open now ("" while none)."""
        return self._in_name

    # -- driver thread -------------------------------------------------------------------------
    def run_loop(self) -> None:
        try:
            import rtmidi  # lazy: device library
        except ImportError as err:
            self.emit(LinkChanged(self.device_id, LinkState.FAULT, f"python-rtmidi is not available: {err}"))
            return
        api = getattr(rtmidi, API_NAMES[self.api], None)
        if api is None or (self.api != "auto" and api not in rtmidi.get_compiled_api()):
            self.emit(LinkChanged(self.device_id, LinkState.FAULT,
                                  f"this python-rtmidi was built without the {self.api} MIDI API"))
            return
        reported = ""
        while not self.stopping:
            if self._midi_in is None:
                problem = self._open(rtmidi, api)
                if not problem:
                    reported = ""
                    out = f"; LEDs on {self._midi_out_name}" if self._midi_out is not None else "; no LED output port"
                    self.emit(LinkChanged(self.device_id, LinkState.UP, f"{self._in_name}{out}"))
                    self._send_all_leds()
                elif problem != reported:
                    reported = problem
                    self.emit(LinkChanged(self.device_id, LinkState.DOWN, problem))
                self.run_commands_until(time.monotonic() + (PRESENCE_S if not problem else RESCAN_S))
            else:
                self.run_commands_until(time.monotonic() + PRESENCE_S)
                if self.stopping:
                    break
                if not self._still_there():
                    reported = f"MIDI port {self._in_name!r} disappeared"
                    self._lose(reported)

    def on_exit(self) -> None:
        self._lose("")  # releases anything pressed; no DOWN when stopping

    def _open(self, rtmidi: Any, api: int) -> str:
        """Opens the matching ports; returns "" or why not."""
        try:
            midi_in = rtmidi.MidiIn(api, self.client_name)
        except Exception as err:  # noqa: BLE001 - rtmidi raises SystemError/RtMidiError when the MIDI system is down
            return f"cannot use the MIDI system ({self.api}): {err}"
        try:
            names = [n for n in midi_in.get_ports() if not self._is_ours(n)]
            index = _find(names, self.port)
            if index is None:
                _close_quietly(midi_in)
                shown = ", ".join(repr(n) for n in names) or "none"
                return f"no MIDI input port name contains {self.port!r} (found: {shown})"
            midi_in.ignore_types(sysex=True, timing=True, active_sense=True)
            midi_in.set_callback(self._on_message)
            midi_in.open_port(_real_index(midi_in, names[index]), "in")
        except Exception as err:  # noqa: BLE001
            _close_quietly(midi_in)
            return f"cannot open MIDI port {self.port!r}: {err}"
        self._in_name = names[index]
        self._midi_out, self._midi_out_name = self._open_output(rtmidi, api)
        with self._lock:
            self._midi_in = midi_in
            self._live = True
            self._pressed.clear()
            self._cc_levels.clear()
        return ""

    def _open_output(self, rtmidi: Any, api: int) -> tuple[Any, str]:
        """The surface's output side for LEDs, when it has one (a footswitch usually has not)."""
        try:
            midi_out = rtmidi.MidiOut(api, self.client_name + "-leds")
        except Exception:  # noqa: BLE001 - LEDs are optional
            return None, ""
        try:
            names = [n for n in midi_out.get_ports() if not self._is_ours(n)]
            index = _find(names, self.port)
            if index is None:
                _close_quietly(midi_out)
                return None, ""
            midi_out.open_port(_real_index(midi_out, names[index]), "leds")
            return midi_out, names[index]
        except Exception:  # noqa: BLE001
            _close_quietly(midi_out)
            return None, ""

    def _is_ours(self, name: str) -> bool:
        return name.startswith(self.client_name)

    def _still_there(self) -> bool:
        try:
            return self._in_name in self._midi_in.get_ports()
        except Exception:  # noqa: BLE001 - the MIDI system itself went away
            return False

    def _lose(self, why: str) -> None:
        """Close the ports; release what was pressed, then report DOWN (unless ``why`` is "")."""
        with self._lock:
            was_open = self._midi_in is not None
            self._live = False
            released = sorted(self._pressed)
            self._pressed.clear()
            midi_in, self._midi_in = self._midi_in, None
        t = now()
        for control in released:
            self.emit(InputChanged(self.device_id, False, t, control=control))
        if was_open and why:
            self.emit(LinkChanged(self.device_id, LinkState.DOWN, why))
        # Closed outside the lock: closing may wait for rtmidi's thread, which may be waiting for the lock.
        if midi_in is not None:
            _close_quietly(midi_in)
        if self._midi_out is not None:
            _close_quietly(self._midi_out)
            self._midi_out = None
        self._in_name = ""

    # -- rtmidi's thread -----------------------------------------------------------------------
    def _on_message(self, event: tuple[list[int], float], _data: Any = None) -> None:
        t = now()
        message = event[0]
        if len(message) < 3:
            return
        status, number, value = message[0], message[1], message[2]
        kind_bits, channel = status & 0xF0, (status & 0x0F) + 1
        if kind_bits in (NOTE_ON, NOTE_OFF):
            kind = "note"
        elif kind_bits == CONTROL_CHANGE:
            kind = "cc"
        else:
            return
        matches = self._by_message.get((kind, number, channel), []) + self._by_message.get((kind, number, None), [])
        if not matches:
            return
        with self._lock:
            if not self._live:
                return
            for binding in matches:
                control = binding.control
                if binding.continuous:
                    if self._cc_levels.get(control) != value:
                        self._cc_levels[control] = value
                        self.emit(ControlValue(self.device_id, control, value / 127.0, t))
                    continue
                pressed = value >= PRESSED_AT if kind == "cc" else (kind_bits == NOTE_ON and value > 0)
                if pressed == (control in self._pressed):
                    continue
                if pressed:
                    self._pressed.add(control)
                else:
                    self._pressed.discard(control)
                self.emit(InputChanged(self.device_id, pressed, t, control=control))

    # -- LEDs (driver thread) ------------------------------------------------------------------
    def _set_led(self, control: str, on: bool) -> None:
        if control not in self._by_control or self._leds.get(control) == on:
            return
        self._leds[control] = on
        self._send_led(control, on)

    def _send_all_leds(self) -> None:
        for control, on in self._leds.items():
            self._send_led(control, on)

    def _send_led(self, control: str, on: bool) -> None:
        if self._midi_out is None:
            return
        binding = self._by_control[control]
        channel = (binding.channel or 1) - 1
        if binding.kind == "note":
            message = [(NOTE_ON if on else NOTE_OFF) | channel, binding.number, 127 if on else 0]
        else:
            message = [CONTROL_CHANGE | channel, binding.number, 127 if on else 0]
        try:
            self._midi_out.send_message(message)
        except Exception:  # noqa: BLE001 - an LED is not worth a fault; the port check notices a lost surface
            pass


def _find(names: Sequence[str], wanted: str) -> int | None:
    """Index of the first port whose name contains ``wanted`` (case-insensitive), preferring an exact match."""
    folded = wanted.casefold()
    for i, name in enumerate(names):
        if name.casefold() == folded:
            return i
    return next((i for i, name in enumerate(names) if folded in name.casefold()), None)


def _real_index(rt: Any, name: str) -> int:
    # The filtered list hides our own ports; open by the index rtmidi itself uses.
    return list(rt.get_ports()).index(name)


def _close_quietly(rt: Any) -> None:
    try:
        rt.cancel_callback() if hasattr(rt, "cancel_callback") else None
    except Exception:  # noqa: BLE001
        pass
    try:
        rt.close_port()
    except Exception:  # noqa: BLE001
        pass
    try:
        rt.delete()
    except Exception:  # noqa: BLE001
        pass


def bindings_from(items: Iterable[tuple[str, int, int | None, bool]]) -> list[MidiBinding]:
    """Bindings from (kind, number, channel, continuous) tuples, dropping repeats of the same control."""
    seen: dict[str, MidiBinding] = {}
    for kind, number, channel, continuous in items:
        binding = MidiBinding(kind, number, channel, continuous)  # type: ignore[arg-type]
        seen.setdefault(binding.control, binding)
    return list(seen.values())
