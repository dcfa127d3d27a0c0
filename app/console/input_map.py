"""From an input's control to a console command, by the profile's bindings.

Each footswitch, pedal, surface button or key is bound to an action (app/config/schema.py INPUT_ACTIONS):
``ptt``, ``headset-ptt``, ``talk-back``, ``itx:<radio>`` and ``monitor`` act while held; ``select:<radio>``
and ``alertN[:<radio>]`` act on the press; ``volume:<radio>`` follows a fader; ``jackbox`` tells the audio
service whether the headset is plugged in. Runs on the control thread (ControlHub calls it).

Two controls bound to the same held action (two PTT pedals on one board) hold it together: it starts
with the first press and ends with the last release. A device that goes down or faults lets go of
everything it held, whatever the driver reported before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Callable

from app.config.schema import action_radio
from app.console.service import MAX_VOLUME_DB, MIN_VOLUME_DB
from app.console.surface_leds import SurfaceLeds
from app.snapshots import ConsoleSnapshot
from hardware.events import ControlValue, InputChanged, LinkChanged, LinkState
from hardware.inputs.midi import control_name

ANY_CONTROL = "*"  # single-action inputs (sim, serial line, keyboard): every control does the action
HEADSET_SUFFIX = ":headset"


@dataclass(frozen=True, slots=True)
class Binding:
    device: str
    control: str  # as the driver names it ("note60", "cc7/ch2", "KEY_F13"), or ANY_CONTROL
    action: str
    led: str = "none"  # what the control's LED shows: selected, receive, transmit, none


def bindings_for(inputs: Iterable[Any]) -> list[Binding]:
    """Every binding of the profile's inputs, with control names as the drivers report them."""
    out: list[Binding] = []
    for cfg in inputs:
        if cfg.kind == "midi":
            for b in cfg.all_bindings():
                kind, number, channel = b.control_key()
                led = auto_led(b.action) if b.led == "auto" else b.led
                out.append(Binding(cfg.id, control_name(kind, number, channel), b.action, led))
        elif cfg.kind == "evdev":
            out.extend(Binding(cfg.id, k.key, k.action) for k in cfg.all_keys())
        else:
            out.append(Binding(cfg.id, ANY_CONTROL, cfg.action))
    return out


def auto_led(action: str) -> str:
    verb = action.partition(":")[0]
    if verb == "select":
        return "selected"
    if verb == "monitor":
        return "receive"
    if verb in ("ptt", "headset-ptt", "itx", "talk-back", "alert1", "alert2", "alert3"):
        return "transmit"
    return "none"


def ptt_source(binding: Binding) -> str:
    """The PTT source a binding keys as: the input's id, or "<id>:headset" for a surface's headset PTT."""
    if binding.action == "headset-ptt" and binding.control != ANY_CONTROL:
        return binding.device + HEADSET_SUFFIX
    return binding.device


def ptt_source_classes(inputs: Iterable[Any]) -> dict[str, str]:
    """PTT source -> PTT class (app/console/settings.py) for every source the bindings key with."""
    classes: dict[str, str] = {}
    for b in bindings_for(inputs):
        if b.action == "headset-ptt":
            classes[ptt_source(b)] = "headset"
        elif b.action in ("ptt", "talk-back") or b.action.startswith("itx:"):
            classes.setdefault(ptt_source(b), "footswitch")
    return classes


def fader_db(value: float) -> float:
    """A fader's travel (0..1) as channel volume: linear in dB across the console's range."""
    value = min(max(value, 0.0), 1.0)
    return round(MIN_VOLUME_DB + value * (MAX_VOLUME_DB - MIN_VOLUME_DB), 1)


class InputMap:
    def __init__(self, bindings: Iterable[Binding], console: Any, audio: Any = None,
                 leds: SurfaceLeds | None = None) -> None:
        self.console = console
        self.audio = audio
        self.leds = leds
        self._exact: dict[tuple[str, str], Binding] = {}
        self._any: dict[str, Binding] = {}
        for b in bindings:
            if b.control == ANY_CONTROL:
                self._any.setdefault(b.device, b)
            else:
                self._exact.setdefault((b.device, b.control), b)
        # A held action (its key) -> the (device, control)s holding it, and how to end it.
        self._holders: dict[tuple[str, ...], set[tuple[str, str]]] = {}
        self._enders: dict[tuple[str, ...], Callable[[], None]] = {}
        self._snapshot = ConsoleSnapshot()

    @classmethod
    def from_profile(cls, inputs: Iterable[Any], console: Any, audio: Any = None,
                     drivers: Mapping[str, Any] | None = None) -> "InputMap":
        """The map for the profile's inputs; ``drivers`` (input id -> driver) light surfaces with set_led."""
        bindings = bindings_for(inputs)
        with_leds = {d: drv for d, drv in (drivers or {}).items() if hasattr(drv, "set_led")}
        leds = SurfaceLeds([b for b in bindings if b.device in with_leds], with_leds) if with_leds else None
        return cls(bindings, console, audio, leds)

    def binding(self, device: str, control: str) -> Binding | None:
        return self._exact.get((device, control)) or self._any.get(device)

    # -- events (control thread) -------------------------------------------------------------
    def on_input(self, ev: InputChanged) -> None:
        b = self.binding(ev.device, ev.control)
        if b is None:
            return
        verb, radio = b.action.partition(":")[0], action_radio(b.action)
        who = (ev.device, ev.control)
        if verb == "jackbox":
            if self.audio is not None:
                self.audio.on_input(ev)
        elif verb in ("ptt", "headset-ptt"):
            source = ptt_source(b)
            self._hold(("ptt", source), who, ev.pressed,
                       lambda: self.console.ptt(source, True), lambda: self.console.ptt(source, False))
        elif verb == "itx":
            self._hold(("itx", radio, ev.device), who, ev.pressed,
                       lambda: self.console.instant_transmit(radio, ev.device, True),
                       lambda: self.console.instant_transmit(radio, ev.device, False))
        elif verb == "talk-back":
            self._hold(("talk-back", ev.device), who, ev.pressed,
                       lambda: self.console.talk_back(ev.device, True),
                       lambda: self.console.talk_back(ev.device, False))
        elif verb == "monitor":
            targets = (radio,) if radio else tuple(c.id for c in self._snapshot.channels if c.selected)
            key = ("monitor", radio) if radio else ("monitor", ev.device)
            self._hold(key, who, ev.pressed, lambda: self._monitor(targets, True), lambda: self._monitor(targets, False))
        elif ev.pressed and verb == "select":
            self.console.select_channel(radio, True)
        elif ev.pressed and verb in ("alert1", "alert2", "alert3"):
            self.console.send_alert(verb, (radio,) if radio else ())

    def on_value(self, ev: ControlValue) -> None:
        b = self.binding(ev.device, ev.control)
        if b is not None and b.action.startswith("volume:"):
            self.console.set_volume(action_radio(b.action), fader_db(ev.value))

    def on_link(self, ev: LinkChanged) -> None:
        """A device gone or faulted lets go of everything it held."""
        if ev.state is LinkState.UP:
            return
        for key in list(self._holders):
            holders = self._holders[key]
            mine = {h for h in holders if h[0] == ev.device}
            if mine:
                holders -= mine
                if not holders:
                    self._end(key)

    def on_console(self, snapshot: ConsoleSnapshot) -> None:
        self._snapshot = snapshot
        if self.leds is not None:
            self.leds.on_console(snapshot)

    def held(self) -> list[tuple[str, ...]]:
        """The held actions now (for tests and the technician view)."""
        return list(self._holders)

    # -- internals -----------------------------------------------------------------------------
    def _hold(self, key: tuple[str, ...], who: tuple[str, str], pressed: bool,
              start: Callable[[], None], stop: Callable[[], None]) -> None:
        holders = self._holders.get(key)
        if pressed:
            if holders is None:
                self._holders[key] = {who}
                self._enders[key] = stop
                start()
            else:
                holders.add(who)
        elif holders is not None and who in holders:
            holders.discard(who)
            if not holders:
                self._end(key)

    def _end(self, key: tuple[str, ...]) -> None:
        self._holders.pop(key, None)
        stop = self._enders.pop(key, None)
        if stop is not None:
            stop()

    def _monitor(self, channel_ids: tuple[str, ...], on: bool) -> None:
        for cid in channel_ids:
            self.console.monitor(cid, on)
