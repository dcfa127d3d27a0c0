"""What the console's keying rules are set to: the profile's [console] section and per-radio keying
options, as plain values the ConsoleService takes (pure; no Qt, no pydantic)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# PTT source classes, highest priority first by default. GUI buttons and the keyboard are "console".
PTT_CLASSES = ("console", "headset", "footswitch", "desk")
DEFAULT_PRIORITY = PTT_CLASSES
# Classes an input gets from its profile action when [console] ptt_class does not name it.
ACTION_CLASSES = {"ptt": "footswitch", "headset-ptt": "headset"}


@dataclass(frozen=True, slots=True)
class RadioKeying:
    """How one radio keys: a talk-permit tone once it is up, a key-up delay, busy-channel lockout."""

    talk_permit: bool = False
    key_up_delay_ms: int = 0  # the channel shows keyed this long after the radio confirmed
    busy_lockout: bool = False  # refuse to key while it is receiving (a second press overrides)


@dataclass(frozen=True, slots=True)
class ConsoleSettings:
    tot_s: float = 60.0  # transmit time-out timer
    tot_warning_s: float = 10.0  # the tile warns this long before the time-out
    key_confirm_s: float = 2.0  # a radio that has not confirmed a key in this time failed to key
    lockout_override_s: float = 1.0  # a second press this soon after a busy refusal keys anyway
    patch_hang_s: float = 2.0  # a patch keeps the other members keyed this long after carrier drops
    priority: tuple[str, ...] = DEFAULT_PRIORITY  # PTT classes, highest first
    latching: frozenset[str] = frozenset()  # PTT classes whose press toggles instead of holding
    source_classes: Mapping[str, str] = field(default_factory=dict)  # input id -> PTT class
    radios: Mapping[str, RadioKeying] = field(default_factory=dict)  # radio id -> keying options

    def radio(self, radio_id: str) -> RadioKeying:
        return self.radios.get(radio_id, RadioKeying())

    def source_class(self, source: str) -> str:
        """The PTT class of a source: configured, then a class name used as a source, else "console"."""
        known = self.source_classes.get(source)
        if known is not None:
            return known
        return source if source in PTT_CLASSES else "console"


def console_settings(profile: Any) -> ConsoleSettings:
    """The profile's [console] section, inputs and radios as ConsoleSettings."""
    cfg = profile.console
    classes = {"console": "console", "keyboard": "console"}
    for source in profile.inputs:
        if source.action in ACTION_CLASSES:
            classes[source.id] = ACTION_CLASSES[source.action]
    from app.console.input_map import ptt_source_classes  # here: input_map imports the console service

    for source, ptt_class in ptt_source_classes(profile.inputs).items():  # each bound control of a surface
        classes.setdefault(source, ptt_class)
    classes.update(cfg.ptt_class)
    radios = {r.id: RadioKeying(r.talk_permit, r.key_up_delay_ms, r.busy_lockout) for r in profile.radios}
    return ConsoleSettings(
        tot_s=cfg.tot_s, tot_warning_s=cfg.tot_warning_s, key_confirm_s=cfg.key_confirm_s,
        lockout_override_s=cfg.lockout_override_s, patch_hang_s=profile.audio.mix.patch_hang_s,
        priority=tuple(cfg.ptt_priority), latching=frozenset(cfg.latching), source_classes=classes,
        radios=radios,
    )
