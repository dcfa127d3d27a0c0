"""Radio channels at this position: selection, receive activity, and push-to-talk with fail-safes.

Lives on the control thread, which alone changes this state. Rules kept here:
- A PTT press keys the channels selected at that moment; the release unkeys exactly those. Each
  channel is held by one hold at a time (a source's general PTT, an instant transmit, talk back, a
  patch, an alert), so two sources never fight: a higher-priority source takes a channel over, a
  lower or equal one pressing while another holds it is refused and logged. Releases are per hold.
  A radio nobody holds is never left keyed: a late key confirmation for it is answered with an unkey.
- Priority: alerts > the profile's classes (console > headset > footswitch > desk by default) > patches.
- An input lost while pressed counts as released; a radio fault or link loss drops its TX state;
  the transmit time-out timer unkeys a channel held too long (latched or not); a radio that does not
  confirm a key in time is marked failed to key; ``shutdown`` and ``fail_safe`` unkey everything,
  patches and alerts included.
- Busy-channel lockout (per radio) refuses to key a receiving channel; a second press within the
  override window, or an explicit override, keys it anyway.
- A channel shows keyed after its key-up delay; then its talk-permit tone plays, and an alert's tone.
  An alert holds its channels until the tone has played out.
- An emergency sounds the local alarm until every emergency is acknowledged.
Every select, key, unkey (with source and reason), carrier start/end, patch, alert, monitor and
emergency goes to the event log.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from app.console.patches import PatchGroups
from app.console.settings import ConsoleSettings
from app.console.unit_aliases import UnitAliases
from app.eventlog import EventLog
from app.snapshots import ChannelView, ConsoleSnapshot
from hardware.events import (
    CarrierChanged, DeviceFault, EmergencyDeclared, InputChanged, KeyStateChanged, LinkChanged, LinkState,
    SignalDecoded,
)
from hardware.radio.base import RadioDriver

DEFAULT_TIMEOUT_S = 60.0
MIN_VOLUME_DB, MAX_VOLUME_DB = -60.0, 12.0
ALERT_KINDS = ("alert1", "alert2", "alert3", "marker")
ALERT_RANK = -1  # above every configured PTT class
PATCH_RANK = 1000  # below every configured PTT class

TonePlayer = Callable[[str, tuple[str, ...]], "int | None"]  # (kind, channel ids) -> voice id
# (signaling kind, encoder params, channel ids) -> voice id (app/audio/service.py AudioService.play_signal_kind)
SignalPlayer = Callable[[str, dict, tuple[str, ...]], "int | None"]
SELCALL_KINDS = ("zvei1", "ccir", "eea", "eia")


@dataclass
class _Channel:
    view: ChannelView
    driver: RadioDriver | None  # None when the radio's driver could not be built
    tot: QTimer  # transmit time-out
    warning: QTimer  # time-out warning
    confirm: QTimer  # the radio must confirm a key within key_confirm_s
    key_up: QTimer  # key-up delay before the channel shows keyed


@dataclass
class _Hold:
    """Who holds which channels keyed. ``key`` tells a source's general PTT from its instant transmits."""

    key: str
    source: str  # logged and shown: input id, "console", "patch:<group>", "alert:<kind>"
    rank: int  # lower wins
    targets: tuple[str, ...]
    latched: bool = False


@dataclass
class _Alert:
    kind: str
    voice: int | None = None  # set once the tone is playing
    signal: tuple[str, dict] | None = None  # (signaling kind, encoder params): a signal instead of a tone


class ConsoleService(QObject):
    changed = Signal(object)  # ConsoleSnapshot
    alarm = Signal(bool)  # the local emergency alarm: on while any emergency is not acknowledged

    def __init__(
        self,
        radios: list[tuple[str, str, str, RadioDriver | None]],  # (id, name, kind, driver)
        events: EventLog,
        *,
        ptt_inputs: set[str] = frozenset(),
        timeout_s: float | None = None,
        levels: dict[str, tuple[float, float]] | None = None,  # radio id -> starting (volume_db, pan)
        settings: ConsoleSettings | None = None,
        play_tone: TonePlayer | None = None,
        operator: str = "operator",  # user@position, for acknowledgements
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._events = events
        self._ptt_inputs = set(ptt_inputs)
        self.settings = settings or ConsoleSettings()
        if timeout_s is not None:
            self.settings = replace(self.settings, tot_s=timeout_s)
        self._play_tone = play_tone
        self._operator = operator
        self._channels: dict[str, _Channel] = {}
        levels = dict(levels or {})
        for radio_id, name, kind, driver in radios:
            timers = [self._timer(lambda rid=radio_id, f=f: f(rid))
                      for f in (self._time_out, self._tot_warning, self._confirm_timed_out, self._keyed_up)]
            link = "unknown" if driver is not None else LinkState.FAULT.value
            volume_db, pan = levels.get(radio_id, (0.0, 0.0))
            view = ChannelView(radio_id, name, kind, link=link, volume_db=volume_db, pan=pan,
                               channels=_channel_names(driver), tuned=_tuned(driver))
            timers[3].setTimerType(Qt.TimerType.PreciseTimer)  # the key-up delay is never cut short
            self._channels[radio_id] = _Channel(view, driver, *timers)
        self._holds: dict[str, _Hold] = {}
        self._owner: dict[str, str] = {}  # channel id -> key of the hold that has it
        self._alerts: dict[str, _Alert] = {}  # hold key -> alert being sent
        self._alert_seq = 0
        self._busy_refused: dict[str, float] = {}  # channel id -> when a press was refused as busy
        self._patches = PatchGroups(self.settings.patch_hang_s)
        self._patch_timers: dict[str, QTimer] = {}
        self._last_active = ""
        self._alarm_on = False
        self._seq = 0
        self._shut_down = False
        self._play_signal: SignalPlayer | None = None
        self._aliases = UnitAliases()
        self._ack_emergency = False  # transmit the MDC1200 acknowledge when an MDC1200 emergency is acknowledged
        self._selcall_emergency = ""
        self._emergency_source: dict[str, str] = {}  # channel id -> what declared its emergency

    def _timer(self, slot: Callable[[], None]) -> QTimer:
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.timeout.connect(slot)
        return timer

    def set_tone_player(self, play_tone: TonePlayer | None) -> None:
        """The audio service's play_tone (talk-permit and alert tones); None: no tones."""
        self._play_tone = play_tone

    def set_signaling(self, play_signal: SignalPlayer | None, aliases: UnitAliases | None = None, *,
                      ack_emergency: bool = False, selcall_emergency: str = "") -> None:
        """Signals sent from the console (pages, call alert, the emergency acknowledge) and unit names."""
        self._play_signal = play_signal
        self._aliases = aliases or UnitAliases()
        self._ack_emergency = ack_emergency
        self._selcall_emergency = selcall_emergency

    @Slot(str, object, object)
    def send_signal(self, kind: str, params: dict, channel_ids: tuple[str, ...] = ()) -> None:
        """Key the channels, send one signaling burst (a page, call alert, radio check), unkey after it."""
        from app.dsp.signaling import SignalingError, encode

        targets = tuple(c for c in channel_ids if c in self._channels) if channel_ids else tuple(
            cid for cid, ch in self._channels.items() if ch.view.selected)
        label = f"{kind} {_signal_text(kind, params)}"
        why = ""
        if self._shut_down:
            why = "console shutting down"
        elif not targets:
            why = "no channel to send it on"
        elif self._play_signal is None:
            why = "no audio engine to send signals with"
        else:
            try:
                encode(kind, samplerate=8000, **params)  # refuse a bad request before anything is keyed
            except SignalingError as err:
                why = str(err)
        if why:
            self._events.log("signal.refused", channel=",".join(channel_ids), source="console",
                             detail=f"{label}: {why}")
            return
        self._alert_seq += 1
        key = f"alert#{self._alert_seq}"
        self._events.log("signal.send", channel=",".join(targets), source="console", detail=label)
        granted = self._acquire(key, f"signal:{kind}", ALERT_RANK, targets, override=False)
        if granted:
            self._alerts[key] = _Alert(kind, signal=(kind, dict(params)))
            for cid in granted:
                self._set_view(cid, alert=label)
            self._check_alert(key)
        self._publish()

    def on_signal(self, ev: SignalDecoded) -> None:
        """Signaling decoded on a radio's receive audio: the unit on the tile and in the log; an emergency."""
        unit = _signal_unit(ev, self._selcall_emergency)
        emergency = _signal_emergency(ev, self._selcall_emergency)
        name = self._aliases.name(unit) if unit else ""
        self._events.log("signal", channel=ev.device, source=ev.kind,
                         detail=_signal_detail(ev) + (f" · unit {unit}" if unit else "") + (f" ({name})" if name else ""))
        if emergency:
            self.on_emergency(EmergencyDeclared(ev.device, unit, ev.t, ev.kind))
            return
        ch = self._channels.get(ev.device)
        if ch is not None and unit:
            ch.view = replace(ch.view, unit_id=unit, unit_name=name)
            self._publish()

    # -- commands (GUI, CLI, tests) -----------------------------------------------------------
    @Slot(str, bool)
    def select_channel(self, channel_id: str, exclusive: bool = True) -> None:
        if channel_id not in self._channels:
            return
        for cid, ch in self._channels.items():
            if exclusive:
                selected = cid == channel_id
            else:
                selected = (not ch.view.selected) if cid == channel_id else ch.view.selected
            if selected != ch.view.selected:
                ch.view = replace(ch.view, selected=selected)
        picked = [cid for cid, ch in self._channels.items() if ch.view.selected]
        self._events.log("select", channel=",".join(picked), source="console",
                         detail=f"{channel_id} {'only' if exclusive else 'toggled'}")
        self._publish()

    @Slot(str, str)
    def tune(self, channel_id: str, name: str) -> None:
        """Switch a radio to one of its channels (hamlib: frequency and mode; tone remote: a function)."""
        ch = self._channels.get(channel_id)
        if ch is None:
            return
        tune = getattr(ch.driver, "tune", None)
        try:
            if tune is None or not ch.view.channels:
                raise ValueError(f"radio {channel_id} has no channels to switch to")
            tune(name)
        except (ValueError, RuntimeError) as err:
            self._events.log("radio.tune.refused", channel=channel_id, source=self._operator, detail=str(err))
            return
        ch.view = replace(ch.view, tuned=name)
        self._events.log("radio.tune", channel=channel_id, source=self._operator, detail=name)
        self._publish()

    @Slot(str, bool)
    def ptt(self, source: str, pressed: bool, override: bool = False) -> None:
        """General PTT: the selected channels."""
        targets = tuple(cid for cid, ch in self._channels.items() if ch.view.selected)
        self._ptt(source, source, targets, pressed, override, "no channel selected")

    @Slot(str, bool)
    def ptt_override(self, source: str, pressed: bool) -> None:
        """General PTT that keys a busy channel at once (the operator's explicit override)."""
        self.ptt(source, pressed, override=True)

    @Slot(str, str, bool)
    def instant_transmit(self, channel_id: str, source: str, pressed: bool, override: bool = False) -> None:
        """Key one channel whatever is selected."""
        targets = (channel_id,) if channel_id in self._channels else ()
        self._ptt(f"{source}>{channel_id}", source, targets, pressed, override, f"unknown channel {channel_id!r}")

    @Slot(str, bool)
    def talk_back(self, source: str, pressed: bool, override: bool = False) -> None:
        """Key the channel that received most recently."""
        targets = (self._last_active,) if self._last_active else ()
        self._ptt(f"{source}>talkback", source, targets, pressed, override, "no channel has received yet")

    @Slot(str, bool)
    def monitor(self, channel_id: str, on: bool) -> None:
        """Open the channel's audio regardless of squelch (drivers that can are told to)."""
        ch = self._channels.get(channel_id)
        if ch is None or ch.view.monitor == on:
            return
        ch.view = replace(ch.view, monitor=on)
        set_monitor = getattr(ch.driver, "monitor", None)
        if callable(set_monitor):
            set_monitor(on)
        self._events.log("monitor", channel=channel_id, source="console", detail="on" if on else "off")
        self._publish()

    @Slot(str, float)
    def set_volume(self, channel_id: str, volume_db: float) -> None:
        self._set_level(channel_id, volume_db=min(max(volume_db, MIN_VOLUME_DB), MAX_VOLUME_DB))

    @Slot(str, float)
    def set_pan(self, channel_id: str, pan: float) -> None:
        self._set_level(channel_id, pan=min(max(pan, -1.0), 1.0))

    @Slot(str, bool)
    def set_mute(self, channel_id: str, muted: bool) -> None:
        self._set_level(channel_id, muted=muted)

    def _set_level(self, channel_id: str, **change: object) -> None:
        ch = self._channels.get(channel_id)
        if ch is None:
            return
        view = replace(ch.view, **change)
        if view == ch.view:
            return
        ch.view = view
        detail = ", ".join(f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}"
                           for key, value in change.items())
        self._events.log("channel.level", channel=channel_id, source="console", detail=detail)
        self._publish()

    @Slot(str, object)
    def patch(self, group_id: str, channel_ids: tuple[str, ...]) -> None:
        """Patch these channels together as ``group_id`` (replacing what the group held)."""
        members = tuple(dict.fromkeys(c for c in channel_ids if c in self._channels))
        unknown = [c for c in channel_ids if c not in self._channels]
        if not group_id or len(members) < 2 or unknown:
            why = (f"unknown channel(s) {', '.join(map(repr, unknown))}" if unknown
                   else "a patch needs a group id" if not group_id else "a patch needs two or more channels")
            self._events.log("patch.refused", channel=",".join(map(str, channel_ids)), source="console",
                             detail=f"{group_id}: {why}")
            return
        changed = self._patches.set(group_id, members)
        self._events.log("patch", channel=",".join(members), source="console", detail=group_id)
        for other in changed:
            if self._patches.get(other) is None:
                self._events.log("unpatch", source="console", detail=f"{other}: fewer than two channels left")
        for gid in [group_id, *changed]:
            self._repatch(gid)
        self._publish()

    @Slot(str)
    def unpatch(self, group_id: str) -> None:
        group = self._patches.get(group_id)
        if group is None:
            return
        self._patches.remove(group_id)
        self._events.log("unpatch", channel=",".join(group.members), source="console", detail=group_id)
        self._repatch(group_id)
        self._publish()

    @Slot(str, object)
    def send_alert(self, kind: str, channel_ids: tuple[str, ...] = ()) -> None:
        """Key the channels (the selected ones when none are given), send the tone, unkey after it."""
        targets = tuple(c for c in channel_ids if c in self._channels) if channel_ids else tuple(
            cid for cid, ch in self._channels.items() if ch.view.selected)
        if kind not in ALERT_KINDS or not targets or self._shut_down:
            why = (f"unknown alert {kind!r} (known: {', '.join(ALERT_KINDS)})" if kind not in ALERT_KINDS
                   else "console shutting down" if self._shut_down else "no channel to send it on")
            self._events.log("alert.refused", channel=",".join(channel_ids), source="console", detail=why)
            return
        self._alert_seq += 1
        key = f"alert#{self._alert_seq}"
        self._events.log("alert", channel=",".join(targets), source="console", detail=kind)
        granted = self._acquire(key, f"alert:{kind}", ALERT_RANK, targets, override=False)
        if granted:
            self._alerts[key] = _Alert(kind)
            for cid in granted:
                self._set_view(cid, alert=kind)
            self._check_alert(key)
        self._publish()

    @Slot(int)
    def on_voice_finished(self, voice_id: int) -> None:
        """The audio service finished a voice: an alert whose tone it was lets go of its channels."""
        for key, alert in list(self._alerts.items()):
            if alert.voice == voice_id:
                self._release(key, f"alert {alert.kind} sent")
                self._publish()

    @Slot(str)
    def acknowledge_emergency(self, channel_id: str) -> None:
        ch = self._channels.get(channel_id)
        if ch is None or not ch.view.emergency:
            return
        unit = ch.view.emergency_unit
        ch.view = replace(ch.view, emergency=False)
        self._events.log("emergency.ack", channel=channel_id, source=self._operator,
                         detail=f"unit {unit}" if unit else "unit unknown")
        self._update_alarm()
        self._publish()
        if self._ack_emergency and unit and self._emergency_source.pop(channel_id, "") == "mdc1200":
            from app.dsp.mdc1200_meaning import emergency_ack

            op, arg = emergency_ack(unit)
            self.send_signal("mdc1200", {"op": op, "arg": arg, "unit": unit}, (channel_id,))

    @Slot(str)
    def fail_safe(self, reason: str) -> None:
        """Unkey every transmitter now (a lost audio device, a fault elsewhere); keying works again after."""
        for key in list(self._holds):
            self._release(key, reason)
        for cid, ch in self._channels.items():
            if ch.view.transmitting or ch.view.key_pending:
                self._unkey(cid, "console", reason)
            elif ch.driver is not None:
                ch.driver.key(False)  # whatever we think, make sure
        self._publish()

    @Slot()
    def shutdown(self) -> None:
        """Unkey every transmitter and refuse further keying. Idempotent."""
        self._shut_down = True
        for key in list(self._holds):
            self._release(key, "shutdown")
        for timer in self._patch_timers.values():
            timer.stop()
        for cid, ch in self._channels.items():
            if ch.driver is not None:
                ch.driver.key(False)
            self._stop_timers(ch)
            if ch.view.transmitting or ch.view.key_pending:
                ch.view = replace(ch.view, transmitting=False, key_pending=False, tx_source="",
                                  tx_deadline_t=None, tot_warning=False, latched=False, alert="")
        if self._alarm_on:
            self._alarm_on = False
            self.alarm.emit(False)
        self._publish()

    # -- driver events (routed here on the control thread) -------------------------------------
    def on_carrier(self, ev: CarrierChanged) -> None:
        ch = self._channels.get(ev.device)
        if ch is None or ch.view.receiving == ev.active:
            return
        unit = ev.unit_id or ""
        ch.view = replace(
            ch.view,
            receiving=ev.active,
            unit_id=unit or ch.view.unit_id,
            last_rx_wall=time.time() if ev.active else ch.view.last_rx_wall,
        )
        self._last_active = ev.device
        self._events.log("rx.start" if ev.active else "rx.end", channel=ev.device, source="carrier",
                         detail=f"unit {unit}" if unit else "")
        group = self._patches.carrier(ev.device, ev.active, time.monotonic())
        if group is not None:
            self._repatch(group.id)
        self._publish()

    def on_key_state(self, ev: KeyStateChanged) -> None:
        ch = self._channels.get(ev.device)
        if ch is None:
            return
        wanted = ev.device in self._owner and not self._shut_down
        if ev.keyed and not wanted:
            # Confirmation arrived after everyone let go (or during shutdown): drop it at once.
            if ch.driver is not None:
                ch.driver.key(False)
            self._events.log("ptt.unkey", channel=ev.device, source="console", detail="late key confirmation")
        if not ev.keyed and ch.view.transmitting and wanted:
            # The radio dropped out of transmit on its own while someone still holds PTT.
            self._events.log("ptt.unkey", channel=ev.device, source=ev.device, detail="radio reported unkeyed")
        ch.confirm.stop()
        if ev.error:
            self._events.log("ptt.failed", channel=ev.device, detail=ev.error)
            self._fail(ev.device, ev.error)
        elif ev.keyed and wanted:
            if not ch.view.transmitting and not ch.key_up.isActive():
                delay = self.settings.radio(ev.device).key_up_delay_ms
                if delay > 0:
                    ch.key_up.start(delay)
                else:
                    self._keyed_up(ev.device)
                    return
        elif not ev.keyed:
            self._stop_timers(ch)
            ch.view = replace(ch.view, key_pending=False, transmitting=False, tx_deadline_t=None, tot_warning=False)
        self._publish()

    def on_input(self, ev: InputChanged) -> None:
        if ev.device in self._ptt_inputs:
            self.ptt(ev.device, ev.pressed)

    def on_emergency(self, ev: EmergencyDeclared) -> None:
        ch = self._channels.get(ev.device)
        if ch is None:
            self._events.log("emergency", channel=ev.device, source=ev.source,
                             detail=f"unit {ev.unit_id or 'unknown'} on a channel this position does not have")
            return
        ch.view = replace(ch.view, emergency=True, emergency_unit=ev.unit_id or ch.view.emergency_unit,
                          emergency_wall=time.time(), unit_id=ev.unit_id or ch.view.unit_id,
                          unit_name=self._aliases.name(ev.unit_id) if ev.unit_id else ch.view.unit_name)
        self._emergency_source[ev.device] = ev.source
        self._last_active = ev.device
        self._events.log("emergency", channel=ev.device, source=ev.source or ev.device,
                         detail=f"unit {ev.unit_id}" if ev.unit_id else "unit unknown")
        self._update_alarm()
        self._publish()

    def on_link(self, ev: LinkChanged) -> None:
        if ev.state is not LinkState.UP and ev.device not in self._channels:
            self._release_source(ev.device, f"input lost: {ev.detail}")
        ch = self._channels.get(ev.device)
        if ch is None:
            return
        view = replace(ch.view, link=ev.state.value, link_detail=ev.detail)
        if ev.state is not LinkState.UP:
            # A radio we cannot reach is not transmitting as far as anyone can tell; make sure.
            if ch.driver is not None:
                ch.driver.key(False)
            self._stop_timers(ch)
            self._drop_from_holds(ev.device)
            view = replace(view, transmitting=False, key_pending=False, receiving=False, tx_deadline_t=None,
                           tot_warning=False, latched=False, alert="")
        ch.view = view
        self._publish()

    def on_fault(self, ev: DeviceFault) -> None:
        ch = self._channels.get(ev.device)
        if ch is None:
            self._release_source(ev.device, f"input fault: {ev.message}")
            self._publish()
            return
        if ch.driver is not None:
            ch.driver.key(False)
        self._drop_from_holds(ev.device)
        self._stop_timers(ch)
        ch.view = replace(ch.view, transmitting=False, key_pending=False, link=LinkState.FAULT.value,
                          link_detail=ev.message, tx_deadline_t=None, tot_warning=False, latched=False, alert="")
        self._publish()

    # -- state ----------------------------------------------------------------------------------
    def snapshot(self) -> ConsoleSnapshot:
        groups = self._patches.groups()
        sources = tuple(dict.fromkeys(h.source for h in self._holds.values()))
        return ConsoleSnapshot(tuple(ch.view for ch in self._channels.values()), sources, self._seq,
                               patches=tuple(g.members for g in groups), patch_ids=tuple(g.id for g in groups),
                               last_active=self._last_active, latching=tuple(sorted(self.settings.latching)))

    def keyed_channels(self) -> list[str]:
        return [cid for cid, ch in self._channels.items() if ch.view.transmitting or ch.view.key_pending]

    def holder_of(self, channel_id: str) -> str:
        """The source holding the channel keyed ("" when none)."""
        key = self._owner.get(channel_id)
        return self._holds[key].source if key else ""

    def _publish(self) -> None:
        self._seq += 1
        self.changed.emit(self.snapshot())

    def _set_view(self, channel_id: str, **change: object) -> None:
        ch = self._channels[channel_id]
        ch.view = replace(ch.view, **change)

    # -- holding and keying ---------------------------------------------------------------------
    def _rank(self, source: str) -> int:
        klass = self.settings.source_class(source)
        order = self.settings.priority
        return order.index(klass) if klass in order else len(order)

    def _ptt(self, key: str, source: str, targets: tuple[str, ...], pressed: bool, override: bool,
             nothing: str) -> None:
        latching = self.settings.source_class(source) in self.settings.latching
        if not pressed:
            if key in self._holds and not self._holds[key].latched:
                self._release(key, "released")
                self._publish()
            return
        if key in self._holds:
            if self._holds[key].latched:
                self._release(key, "latch released")
                self._publish()
            return  # a switch bounce or a repeated key: already holding
        if self._shut_down:
            self._events.log("ptt.refused", source=source, detail="console shutting down")
            return
        if not targets:
            self._events.log("ptt.refused", source=source, detail=nothing)
            return
        self._acquire(key, source, self._rank(source), self._with_patches(targets), override=override,
                      latched=latching)
        self._publish()

    def _with_patches(self, targets: tuple[str, ...]) -> tuple[str, ...]:
        """The operator talking on a patched channel talks on its whole patch, as on the air."""
        wanted = list(targets)
        for cid in targets:
            group = self._patches.group_of(cid)
            if group is not None:
                wanted += [m for m in group.members if m not in wanted]
        return tuple(wanted)

    def _acquire(self, key: str, source: str, rank: int, wanted: tuple[str, ...], *, override: bool,
                 latched: bool = False) -> tuple[str, ...]:
        """Give ``key`` whichever of ``wanted`` it may have and key them; returns those it got."""
        granted: list[str] = []
        for cid in wanted:
            owner_key = self._owner.get(cid)
            if owner_key == key:
                granted.append(cid)
                continue
            if owner_key is not None:
                owner = self._holds[owner_key]
                if owner.rank <= rank:
                    if rank != PATCH_RANK:  # a patch waits quietly for the operator to let go
                        self._events.log("ptt.refused", channel=cid, source=source, detail=f"held by {owner.source}")
                    continue
                self._take_from(owner_key, cid)
                self._events.log("ptt.takeover", channel=cid, source=source, detail=f"from {owner.source}")
                self._owner[cid] = key
                self._set_view(cid, tx_source=source, latched=latched, alert="")
                granted.append(cid)
                continue
            if self._may_key(cid, source, override, quiet=rank == PATCH_RANK):
                self._owner[cid] = key
                self._key(cid, source, latched)
                granted.append(cid)
        if granted:
            hold = self._holds.get(key)
            if hold is None:
                self._holds[key] = _Hold(key, source, rank, tuple(granted), latched)
            else:
                hold.targets = tuple(dict.fromkeys(hold.targets + tuple(granted)))
        return tuple(granted)

    def _may_key(self, cid: str, source: str, override: bool, *, quiet: bool) -> bool:
        ch = self._channels[cid]
        if ch.driver is None or ch.view.link == LinkState.FAULT.value:
            reason = ch.view.link_detail or "radio driver not available"
            ch.view = replace(ch.view, failed_to_key=reason)
            self._events.log("ptt.failed", channel=cid, source=source, detail=reason)
            return False
        if ch.view.receiving and self.settings.radio(cid).busy_lockout:
            if quiet:
                return False
            now = time.monotonic()
            refused_at = self._busy_refused.pop(cid, None)
            again = refused_at is not None and now - refused_at <= self.settings.lockout_override_s
            if override or again:
                how = "override" if override else f"pressed again within {self.settings.lockout_override_s:g} s"
                self._events.log("ptt.override", channel=cid, source=source, detail=f"busy channel keyed: {how}")
                return True
            self._busy_refused[cid] = now
            reason = f"busy: receiving (press again within {self.settings.lockout_override_s:g} s to override)"
            ch.view = replace(ch.view, failed_to_key=reason)
            self._events.log("ptt.refused", channel=cid, source=source, detail="busy channel lockout")
            return False
        return True

    def _key(self, cid: str, source: str, latched: bool) -> None:
        ch = self._channels[cid]
        if ch.view.transmitting or ch.view.key_pending:
            ch.view = replace(ch.view, tx_source=source, latched=latched)
            return
        ch.view = replace(ch.view, key_pending=True, tx_source=source, failed_to_key="", latched=latched)
        ch.confirm.start(int(self.settings.key_confirm_s * 1000))
        ch.driver.key(True)
        self._events.log("ptt.key", channel=cid, source=source, detail="latched" if latched else "")

    def _keyed_up(self, cid: str) -> None:
        """The radio confirmed and its key-up delay is over: the channel is on the air."""
        ch = self._channels[cid]
        if cid not in self._owner:
            return
        tot_ms = int(self.settings.tot_s * 1000)
        ch.tot.start(tot_ms)
        warn_ms = tot_ms - int(self.settings.tot_warning_s * 1000)
        if self.settings.tot_warning_s > 0:
            ch.warning.start(max(0, warn_ms))
        ch.view = replace(ch.view, key_pending=False, transmitting=True, failed_to_key="",
                          tx_deadline_t=time.monotonic() + self.settings.tot_s, tot_warning=False)
        if self.settings.radio(cid).talk_permit and self._play_tone is not None:
            self._play_tone("talk_permit", (cid,))
        self._check_alert(self._owner[cid])
        self._publish()

    def _release(self, key: str, reason: str) -> None:
        hold = self._holds.pop(key, None)
        self._alerts.pop(key, None)
        if hold is None:
            return
        for cid in hold.targets:
            if self._owner.get(cid) == key:
                del self._owner[cid]
                self._unkey(cid, hold.source, reason)

    def _release_source(self, source: str, reason: str) -> None:
        """Everything one source holds (its PTT, instant transmits, talk back): an input lost or faulted."""
        for key in [k for k, h in self._holds.items() if h.source == source]:
            self._release(key, reason)

    def _take_from(self, key: str, cid: str) -> None:
        hold = self._holds[key]
        hold.targets = tuple(t for t in hold.targets if t != cid)
        del self._owner[cid]
        if not hold.targets:
            del self._holds[key]
            self._alerts.pop(key, None)

    def _drop_from_holds(self, cid: str) -> None:
        key = self._owner.get(cid)
        if key is not None:
            self._take_from(key, cid)
            if key in self._alerts:
                self._check_alert(key)

    def _unkey(self, channel_id: str, source: str, reason: str) -> None:
        ch = self._channels[channel_id]
        if ch.driver is not None:
            ch.driver.key(False)
        self._stop_timers(ch)
        if ch.view.transmitting or ch.view.key_pending:
            self._events.log("ptt.unkey", channel=channel_id, source=source, detail=reason)
        ch.view = replace(ch.view, key_pending=False, transmitting=False, tx_source="", tx_deadline_t=None,
                          tot_warning=False, latched=False, alert="")

    @staticmethod
    def _stop_timers(ch: _Channel) -> None:
        for timer in (ch.tot, ch.warning, ch.confirm, ch.key_up):
            timer.stop()

    def _fail(self, cid: str, reason: str) -> None:
        """The channel did not key: mark it, let go of it, make sure the radio is unkeyed."""
        self._drop_from_holds(cid)
        ch = self._channels[cid]
        if ch.driver is not None:
            ch.driver.key(False)
        self._stop_timers(ch)
        ch.view = replace(ch.view, key_pending=False, transmitting=False, failed_to_key=reason, tx_source="",
                          tx_deadline_t=None, tot_warning=False, latched=False, alert="")

    def _confirm_timed_out(self, cid: str) -> None:
        reason = f"radio did not confirm the key within {self.settings.key_confirm_s:g} s"
        self._events.log("ptt.failed", channel=cid, source=self.holder_of(cid), detail=reason)
        self._fail(cid, reason)
        self._publish()

    def _tot_warning(self, cid: str) -> None:
        ch = self._channels[cid]
        if ch.view.transmitting:
            ch.view = replace(ch.view, tot_warning=True)
            self._events.log("ptt.tot_warning", channel=cid, source="console",
                             detail=f"time-out in {self.settings.tot_warning_s:g} s")
            self._publish()

    def _time_out(self, cid: str) -> None:
        self._drop_from_holds(cid)
        self._unkey(cid, "console", f"time-out after {self.settings.tot_s:g} s")
        self._publish()

    # -- alerts, patches, emergencies -------------------------------------------------------------
    def _check_alert(self, key: str) -> None:
        """Start an alert's tone once every channel it still holds is on the air."""
        alert = self._alerts.get(key)
        hold = self._holds.get(key)
        if alert is None or alert.voice is not None:
            return
        if hold is None:
            self._alerts.pop(key, None)
            return
        if not all(self._channels[c].view.transmitting for c in hold.targets):
            return
        if alert.signal is not None:
            kind, params = alert.signal
            voice = self._play_signal(kind, params, hold.targets) if self._play_signal is not None else None
        else:
            voice = self._play_tone(alert.kind, hold.targets) if self._play_tone is not None else None
        if voice is None:
            self._release(key, f"alert {alert.kind}: no tone could be played")
            return
        alert.voice = voice

    def _repatch(self, group_id: str) -> None:
        """Key the members the group's VOX wants keyed now, unkey the rest; re-arm the hang timer."""
        key = f"patch:{group_id}"
        group = self._patches.get(group_id)
        now = time.monotonic()
        carriers = {cid for cid, ch in self._channels.items() if ch.view.receiving}
        wanted = self._patches.to_key(group, carriers, now) if group is not None and not self._shut_down else ()
        for cid, ch in self._channels.items():
            in_group = group is not None and cid in group.members
            if in_group and ch.view.patch_group != group_id:
                ch.view = replace(ch.view, patch_group=group_id)
            elif not in_group and ch.view.patch_group == group_id:
                ch.view = replace(ch.view, patch_group="")
        hold = self._holds.get(key)
        for cid in hold.targets if hold is not None else ():
            if cid not in wanted and self._owner.get(cid) == key:
                self._take_from(key, cid)
                reason = "patch hang time over" if group is not None else "unpatched"
                self._unkey(cid, key, reason)
        if wanted:
            self._acquire(key, key, PATCH_RANK, wanted, override=False)
        timer = self._patch_timers.get(group_id)
        if group is not None and not carriers & set(group.members) and now < group.hang_until:
            if timer is None:
                timer = self._patch_timers[group_id] = self._timer(lambda g=group_id: self._hang_over(g))
            timer.start(max(1, int((group.hang_until - now) * 1000) + 1))
        elif timer is not None:
            timer.stop()

    def _hang_over(self, group_id: str) -> None:
        self._repatch(group_id)
        self._publish()

    def _update_alarm(self) -> None:
        on = any(ch.view.emergency for ch in self._channels.values())
        if on != self._alarm_on:
            self._alarm_on = on
            self._events.log("emergency.alarm", source="console", detail="on" if on else "off")
            self.alarm.emit(on)


# -- signaling text (pure helpers) ---------------------------------------------------------------

def _signal_unit(ev: SignalDecoded, selcall_emergency: str) -> str:
    """The unit a decoded signal names: an MDC1200 ID, or a 5-tone address (without an emergency suffix)."""
    if ev.kind == "mdc1200" and isinstance(ev.value, dict):
        return str(ev.value.get("unit", ""))
    if ev.kind in SELCALL_KINDS and isinstance(ev.value, str):
        if selcall_emergency and ev.value.endswith(selcall_emergency) and len(ev.value) > len(selcall_emergency):
            return ev.value[:-len(selcall_emergency)]
        return ev.value
    return ""


def _signal_emergency(ev: SignalDecoded, selcall_emergency: str) -> bool:
    if ev.kind == "mdc1200" and isinstance(ev.value, dict):
        from app.dsp.mdc1200_meaning import is_emergency

        return is_emergency(ev.value)
    return (ev.kind in SELCALL_KINDS and bool(selcall_emergency) and isinstance(ev.value, str)
            and len(ev.value) > len(selcall_emergency) and ev.value.endswith(selcall_emergency))


def _signal_detail(ev: SignalDecoded) -> str:
    if ev.kind == "mdc1200" and isinstance(ev.value, dict):
        return f"MDC1200 {ev.value.get('meaning', '')}".rstrip()
    if ev.kind == "qc2" and isinstance(ev.value, (tuple, list)) and len(ev.value) == 2:
        capcode = ev.extra.get("capcode")
        return f"Quick Call II {ev.value[0]:.1f}/{ev.value[1]:.1f} Hz" + (f" capcode {capcode}" if capcode else "")
    return f"{ev.kind.upper()} {ev.value}"


def _signal_text(kind: str, params: dict) -> str:
    """A request to send, as the tile and the log say it."""
    if kind == "mdc1200":
        from app.dsp.mdc1200_meaning import meaning

        try:
            return f"{meaning(int(params['op']), int(params['arg']))} to {params['unit']}"
        except (KeyError, TypeError, ValueError):
            return str(params)
    if kind == "qc2":
        tones = params.get("tones")
        return f"{tones[0]}/{tones[1]} Hz" if tones else f"group {params.get('group')} code {params.get('code')}"
    return str(params.get("digits", params))


def _channel_names(driver: object) -> tuple[str, ...]:
    """The channels a radio's driver can be switched to: a hamlib channel list, tone-remote functions."""
    for attribute in ("channels", "functions"):
        table = getattr(driver, attribute, None)
        if isinstance(table, dict):
            return tuple(table)
    return ()


def _tuned(driver: object) -> str:
    for attribute in ("function", "tuned"):
        value = getattr(driver, attribute, "")
        if isinstance(value, str) and value:
            return value
    return ""
