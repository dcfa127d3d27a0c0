"""Console state -> mix plan: the gain matrix the audio callback applies each block (pure; no Qt).

The control thread builds a ``MixState`` from the console, calls ``compute_plan`` and hands the
resulting immutable ``MixPlan`` to the callback (``Engine.set_plan``). One block is then
``out = inp @ plan.G``: row i of G says where input i goes, column o what output o hears.

Rules (each has an exact test in tests/unit/test_mixplan.py):
- Pan law: constant power, theta = (pan + 1) * pi / 4, left = cos(theta), right = sin(theta);
  centre is 0.7071 (-3.01 dB) in each ear, hard left is 1.0 / 0.0.
- Selected channels go to the headset at their volume and pan (split ears: the select ear only,
  at full channel gain). With ``select_speaker_with_headset`` they also go to the select speaker.
- Unselected channels go to the unselect speaker ("speaker" mode), or to the headset at
  ``unselect_db`` below their volume ("headset" mode, or the other ear when ``split_ears``).
- Headset unplugged: what would go to the headset goes to the select speaker (selected) or the
  unselect speaker (unselected), mono at channel gain; the active mic is the desk mic; no sidetone.
- Mute silences a channel in the operator's outputs only; patches still carry it.
- Keyed channels get the active mic at unity on their transmit output; while any channel is keyed
  the headset hears the mic at ``sidetone_db`` (None: no sidetone).
- Patch groups: each member's receive audio goes to every other member's transmit output while that
  member has carrier. ``ChannelState.receiving`` is carrier *including the patch hang time*: the
  caller holds it up for the hang (``HangTimer`` below does that), so a plan depends on state only.
- Phone call: phone receive audio goes to the headset (select speaker when unplugged) at the phone
  volume and pan; radio audio in those outputs ducks by ``duck_db`` (also when the phone's audio does
  not come through this device); the active mic goes to the phone line while no radio channel is keyed.
- Phone patch (on a call): phone receive -> the patched radio's transmit; that radio's receive ->
  phone transmit while it has carrier.
- Nothing ever reaches its own transmit output; master volumes scale the operator outputs only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan: (left, right) for pan in [-1 (left), +1 (right)]."""
    theta = (pan + 1.0) * math.pi / 4.0
    return math.cos(theta), math.sin(theta)


@dataclass(frozen=True)
class ChannelState:
    name: str
    selected: bool = False
    volume_db: float = 0.0
    pan: float = 0.0  # -1 left .. +1 right
    mute: bool = False
    receiving: bool = False  # carrier present, held up by the caller for the patch hang time
    keyed: bool = False


@dataclass(frozen=True)
class PhoneState:
    call_active: bool = False
    volume_db: float = 0.0
    pan: float = 0.0
    patch_channel: str | None = None  # phone patch: the radio channel the line is connected to


@dataclass(frozen=True)
class MixOptions:
    unselect_mode: Literal["speaker", "headset"] = "speaker"
    unselect_db: float = -9.0
    split_ears: bool = False
    select_ear: Literal["left", "right"] = "left"
    duck_db: float = -12.0
    sidetone_db: float | None = -12.0
    select_speaker_with_headset: bool = False
    headset_db: float = 0.0
    select_speaker_db: float = 0.0
    unselect_speaker_db: float = 0.0


@dataclass(frozen=True)
class MixState:
    channels: tuple[ChannelState, ...] = ()
    patches: tuple[tuple[str, ...], ...] = ()  # groups of channel names patched together
    phone: PhoneState = field(default_factory=PhoneState)
    headset_present: bool = True
    options: MixOptions = field(default_factory=MixOptions)


@dataclass(frozen=True)
class Endpoints:
    """Which input/output column is which. Missing endpoints are None (or absent from the maps)."""

    n_in: int
    n_out: int
    radio_rx: Mapping[str, int] = field(default_factory=dict)
    radio_tx: Mapping[str, int] = field(default_factory=dict)
    phone_rx: int | None = None
    phone_tx: int | None = None
    headset_mics: tuple[int, ...] = ()
    desk_mic: int | None = None
    headset_left: int | None = None
    headset_right: int | None = None
    select_speaker: int | None = None
    unselect_speaker: int | None = None

    def __post_init__(self) -> None:
        ins = [*self.radio_rx.values(), *self.headset_mics]
        ins += [i for i in (self.phone_rx, self.desk_mic) if i is not None]
        outs = [*self.radio_tx.values()]
        outs += [o for o in (self.phone_tx, self.headset_left, self.headset_right,
                             self.select_speaker, self.unselect_speaker) if o is not None]
        for kind, used, n in (("input", ins, self.n_in), ("output", outs, self.n_out)):
            bad = [i for i in used if not 0 <= i < n]
            if bad:
                raise ValueError(f"endpoints: {kind} index {bad[0]} is outside 0..{n - 1}")
            if len(set(used)) != len(used):
                raise ValueError(f"endpoints: an {kind} index is used twice: {sorted(used)}")

    def transmit_outputs(self) -> frozenset[int]:
        outs = set(self.radio_tx.values())
        if self.phone_tx is not None:
            outs.add(self.phone_tx)
        return frozenset(outs)


@dataclass(frozen=True, eq=False)
class MixPlan:
    G: np.ndarray  # float32 (n_in, n_out), C-contiguous, read-only
    transmit_outputs: frozenset[int]  # outputs wired to a transmitter or the phone line
    live_transmit: frozenset[int]  # transmit outputs that carry audio under this plan
    replay_gains: np.ndarray  # float32 (n_out,): where recall replay plays; zero on transmit outputs


class HangTimer:
    """Carrier held up for a hang time after it drops (control thread; times are monotonic seconds)."""

    def __init__(self, hang_s: float) -> None:
        self.hang_s = hang_s
        self._dropped_at: dict[str, float] = {}
        self._carrier: dict[str, bool] = {}

    def update(self, name: str, carrier: bool, now: float) -> None:
        if self._carrier.get(name) and not carrier:
            self._dropped_at[name] = now
        self._carrier[name] = carrier

    def held(self, name: str, now: float) -> bool:
        if self._carrier.get(name):
            return True
        dropped = self._dropped_at.get(name)
        return dropped is not None and now - dropped < self.hang_s


def compute_plan(state: MixState, ep: Endpoints) -> MixPlan:
    opts = state.options
    names = [ch.name for ch in state.channels]
    if len(set(names)) != len(names):
        raise ValueError(f"mix state: channel names repeat: {names}")
    for group in state.patches:
        for name in group:
            if name not in names:
                raise ValueError(f"mix state: patch names unknown channel {name!r}")
    if state.phone.patch_channel is not None and state.phone.patch_channel not in names:
        raise ValueError(f"mix state: phone patch names unknown channel {state.phone.patch_channel!r}")
    for ch in state.channels:
        if not -1.0 <= ch.pan <= 1.0:
            raise ValueError(f"mix state: channel {ch.name!r} pan {ch.pan} is outside -1..1")

    G = np.zeros((ep.n_in, ep.n_out), dtype=np.float64)
    headset = state.headset_present and (ep.headset_left is not None or ep.headset_right is not None)

    def add(i: int | None, o: int | None, gain: float) -> None:
        if i is not None and o is not None:
            G[i, o] += gain

    def to_headset(i: int, gain: float, pan: float) -> None:
        left, right = pan_gains(pan)
        add(i, ep.headset_left, gain * left)
        add(i, ep.headset_right, gain * right)

    select_left = opts.select_ear == "left"
    unselect_g = db_to_gain(opts.unselect_db)
    radio_outputs: set[int] = set()  # operator outputs that carry radio audio (for ducking)

    # Operator monitoring of each radio's receive audio.
    for ch in state.channels:
        i = ep.radio_rx.get(ch.name)
        if i is None or ch.mute:
            continue
        g = db_to_gain(ch.volume_db)
        if ch.selected:
            if headset:
                if opts.split_ears:
                    add(i, ep.headset_left if select_left else ep.headset_right, g)
                else:
                    to_headset(i, g, ch.pan)
                if opts.select_speaker_with_headset:
                    add(i, ep.select_speaker, g)
            else:
                add(i, ep.select_speaker, g)
        elif headset and opts.split_ears:
            add(i, ep.headset_right if select_left else ep.headset_left, g * unselect_g)
        elif headset and opts.unselect_mode == "headset":
            to_headset(i, g * unselect_g, ch.pan)
        else:
            add(i, ep.unselect_speaker, g)
    radio_outputs = {o for o in range(ep.n_out) if any(G[i, o] for i in ep.radio_rx.values())}

    mics = ep.headset_mics if state.headset_present else ((ep.desk_mic,) if ep.desk_mic is not None else ())
    keyed = [ch for ch in state.channels if ch.keyed]

    # Keyed channels get the active mic; the headset hears it as sidetone.
    for ch in keyed:
        for m in mics:
            add(m, ep.radio_tx.get(ch.name), 1.0)
    if keyed and headset and opts.sidetone_db is not None:
        for m in mics:
            add(m, ep.headset_left, db_to_gain(opts.sidetone_db))
            add(m, ep.headset_right, db_to_gain(opts.sidetone_db))

    # Patches: receive of A -> transmit of each other member while A has carrier.
    by_name = {ch.name: ch for ch in state.channels}
    for group in state.patches:
        for a in group:
            if not by_name[a].receiving:
                continue
            for b in group:
                if b != a:
                    add(ep.radio_rx.get(a), ep.radio_tx.get(b), 1.0)

    phone = state.phone
    if phone.call_active:
        # Radio ducks where the call is heard even when the phone's audio does not pass through this
        # device (a phone with its own headset port): the caller must be understood.
        g = db_to_gain(phone.volume_db)
        if headset:
            if ep.phone_rx is not None:
                to_headset(ep.phone_rx, g, phone.pan)
            phone_outs = {o for o in (ep.headset_left, ep.headset_right) if o is not None}
        else:
            add(ep.phone_rx, ep.select_speaker, g)
            phone_outs = {ep.select_speaker} if ep.select_speaker is not None else set()
        duck = db_to_gain(opts.duck_db)
        for o in phone_outs & radio_outputs:
            for i in ep.radio_rx.values():
                G[i, o] *= duck
    if phone.call_active:
        if not keyed:
            for m in mics:
                add(m, ep.phone_tx, 1.0)
        if phone.patch_channel is not None:
            add(ep.phone_rx, ep.radio_tx.get(phone.patch_channel), 1.0)
            if by_name[phone.patch_channel].receiving:
                add(ep.radio_rx.get(phone.patch_channel), ep.phone_tx, 1.0)

    # Master volumes on the operator outputs.
    for o, db in ((ep.headset_left, opts.headset_db), (ep.headset_right, opts.headset_db),
                  (ep.select_speaker, opts.select_speaker_db), (ep.unselect_speaker, opts.unselect_speaker_db)):
        if o is not None:
            G[:, o] *= db_to_gain(db)

    replay = np.zeros(ep.n_out, dtype=np.float32)
    if headset:
        for o in (ep.headset_left, ep.headset_right):
            if o is not None:
                replay[o] = db_to_gain(opts.headset_db)
    elif ep.select_speaker is not None:
        replay[ep.select_speaker] = db_to_gain(opts.select_speaker_db)

    transmit = ep.transmit_outputs()
    plan_G = np.ascontiguousarray(G, dtype=np.float32)
    plan_G.flags.writeable = False
    replay.flags.writeable = False
    live = frozenset(o for o in transmit if plan_G[:, o].any())
    return MixPlan(G=plan_G, transmit_outputs=transmit, live_transmit=live, replay_gains=replay)
