"""Radio channels at this position: selection, receive activity, and push-to-talk with fail-safes.

Lives on the control thread, which alone changes this state. Rules kept here:
- A PTT press keys the channels selected at that moment; the release unkeys exactly those, unless
  another source still holds them. A radio nobody holds is never left keyed: a late key
  confirmation for a channel nobody wants is answered with an unkey.
- An input lost while pressed counts as released; a radio fault or link loss drops its TX state;
  the transmit time-out timer unkeys a channel held too long; ``shutdown`` unkeys everything.
Every select, key, unkey (with source and reason), carrier start/end goes to the event log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.eventlog import EventLog
from app.snapshots import ChannelView, ConsoleSnapshot
from hardware.events import CarrierChanged, DeviceFault, InputChanged, KeyStateChanged, LinkChanged, LinkState
from hardware.radio.base import RadioDriver

DEFAULT_TIMEOUT_S = 60.0
MIN_VOLUME_DB, MAX_VOLUME_DB = -60.0, 12.0


@dataclass
class _Channel:
    view: ChannelView
    driver: RadioDriver | None  # None when the radio's driver could not be built
    timer: QTimer


class ConsoleService(QObject):
    changed = Signal(object)  # ConsoleSnapshot

    def __init__(
        self,
        radios: list[tuple[str, str, str, RadioDriver | None]],  # (id, name, kind, driver)
        events: EventLog,
        *,
        ptt_inputs: set[str] = frozenset(),
        timeout_s: float = DEFAULT_TIMEOUT_S,
        levels: dict[str, tuple[float, float]] | None = None,  # radio id -> starting (volume_db, pan)
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._events = events
        self._ptt_inputs = set(ptt_inputs)
        self._timeout_ms = int(timeout_s * 1000)
        self._channels: dict[str, _Channel] = {}
        levels = dict(levels or {})
        for radio_id, name, kind, driver in radios:
            timer = QTimer(self)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda rid=radio_id: self._time_out(rid))
            link = "unknown" if driver is not None else LinkState.FAULT.value
            volume_db, pan = levels.get(radio_id, (0.0, 0.0))
            view = ChannelView(radio_id, name, kind, link=link, volume_db=volume_db, pan=pan)
            self._channels[radio_id] = _Channel(view, driver, timer)
        self._holders: dict[str, tuple[str, ...]] = {}  # PTT source -> channels it keyed
        self._seq = 0
        self._shut_down = False

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
        self._events.log("select", channel=",".join(picked), detail="exclusive" if exclusive else "multi")
        self._publish()

    @Slot(str, bool)
    def ptt(self, source: str, pressed: bool) -> None:
        if pressed:
            self._press(source)
        else:
            self._release(source, "released")

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
        self._events.log("channel.level", channel=channel_id, detail=detail)
        self._publish()

    @Slot(str)
    def fail_safe(self, reason: str) -> None:
        """Unkey every transmitter now (a lost audio device, a fault elsewhere); keying works again after."""
        for source in list(self._holders):
            self._release(source, reason)
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
        for source in list(self._holders):
            self._release(source, "shutdown")
        for cid, ch in self._channels.items():
            if ch.driver is not None:
                ch.driver.key(False)
            ch.timer.stop()
            if ch.view.transmitting or ch.view.key_pending:
                ch.view = replace(ch.view, transmitting=False, key_pending=False, tx_source="")
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
        self._events.log("rx.start" if ev.active else "rx.end", channel=ev.device, source="carrier",
                         detail=f"unit {unit}" if unit else "")
        self._publish()

    def on_key_state(self, ev: KeyStateChanged) -> None:
        ch = self._channels.get(ev.device)
        if ch is None:
            return
        wanted = self._is_held(ev.device) and not self._shut_down
        if ev.keyed and not wanted:
            # Confirmation arrived after everyone let go (or during shutdown): drop it at once.
            if ch.driver is not None:
                ch.driver.key(False)
            self._events.log("ptt.unkey", channel=ev.device, source="console", detail="late key confirmation")
        if not ev.keyed and ch.view.transmitting and wanted:
            # The radio dropped out of transmit on its own while someone still holds PTT.
            self._events.log("ptt.unkey", channel=ev.device, source=ev.device, detail="radio reported unkeyed")
        if ev.error:
            ch.view = replace(ch.view, key_pending=False, transmitting=False, failed_to_key=ev.error)
            self._events.log("ptt.failed", channel=ev.device, detail=ev.error)
        else:
            ch.view = replace(ch.view, key_pending=False, transmitting=ev.keyed, failed_to_key="")
        if ev.keyed and wanted:
            ch.timer.start(self._timeout_ms)
        elif not ev.keyed:
            ch.timer.stop()
        self._publish()

    def on_input(self, ev: InputChanged) -> None:
        if ev.device in self._ptt_inputs:
            self.ptt(ev.device, ev.pressed)

    def on_link(self, ev: LinkChanged) -> None:
        if ev.device in self._ptt_inputs and ev.state is not LinkState.UP and ev.device in self._holders:
            self._release(ev.device, f"input lost: {ev.detail}")
        ch = self._channels.get(ev.device)
        if ch is None:
            return
        view = replace(ch.view, link=ev.state.value, link_detail=ev.detail)
        if ev.state is not LinkState.UP:
            # A radio we cannot reach is not transmitting as far as anyone can tell; make sure.
            if ch.driver is not None:
                ch.driver.key(False)
            ch.timer.stop()
            view = replace(view, transmitting=False, key_pending=False, receiving=False)
        ch.view = view
        self._publish()

    def on_fault(self, ev: DeviceFault) -> None:
        ch = self._channels.get(ev.device)
        if ch is None:
            if ev.device in self._holders:
                self._release(ev.device, f"input fault: {ev.message}")
            return
        if ch.driver is not None:
            ch.driver.key(False)
        self._drop_from_holders(ev.device)
        ch.timer.stop()
        ch.view = replace(ch.view, transmitting=False, key_pending=False, link=LinkState.FAULT.value,
                          link_detail=ev.message)
        self._publish()

    # -- state ----------------------------------------------------------------------------------
    def snapshot(self) -> ConsoleSnapshot:
        return ConsoleSnapshot(tuple(ch.view for ch in self._channels.values()), tuple(self._holders), self._seq)

    def keyed_channels(self) -> list[str]:
        return [cid for cid, ch in self._channels.items() if ch.view.transmitting or ch.view.key_pending]

    def _publish(self) -> None:
        self._seq += 1
        self.changed.emit(self.snapshot())

    def _is_held(self, channel_id: str) -> bool:
        return any(channel_id in targets for targets in self._holders.values())

    def _press(self, source: str) -> None:
        if source in self._holders:
            return  # a switch bounce or a repeated key: already holding
        if self._shut_down:
            self._events.log("ptt.refused", source=source, detail="console shutting down")
            return
        targets = tuple(cid for cid, ch in self._channels.items() if ch.view.selected)
        if not targets:
            self._events.log("ptt.refused", source=source, detail="no channel selected")
            return
        self._holders[source] = targets
        for cid in targets:
            ch = self._channels[cid]
            if ch.driver is None or ch.view.link == LinkState.FAULT.value:
                reason = ch.view.link_detail or "radio driver not available"
                ch.view = replace(ch.view, failed_to_key=reason)
                self._events.log("ptt.failed", channel=cid, source=source, detail=reason)
                continue
            if ch.view.transmitting or ch.view.key_pending:
                continue  # already keyed by another source
            ch.view = replace(ch.view, key_pending=True, tx_source=source, failed_to_key="")
            ch.driver.key(True)
            self._events.log("ptt.key", channel=cid, source=source)
        self._publish()

    def _release(self, source: str, reason: str) -> None:
        targets = self._holders.pop(source, ())
        for cid in targets:
            if self._is_held(cid):
                continue  # another source still holds this channel
            self._unkey(cid, source, reason)
        if targets:
            self._publish()

    def _unkey(self, channel_id: str, source: str, reason: str) -> None:
        ch = self._channels[channel_id]
        if ch.driver is not None:
            ch.driver.key(False)
        ch.timer.stop()
        if ch.view.transmitting or ch.view.key_pending:
            self._events.log("ptt.unkey", channel=channel_id, source=source, detail=reason)
        ch.view = replace(ch.view, key_pending=False, transmitting=False, tx_source="")

    def _drop_from_holders(self, channel_id: str) -> None:
        for source, targets in list(self._holders.items()):
            if channel_id in targets:
                rest = tuple(t for t in targets if t != channel_id)
                if rest:
                    self._holders[source] = rest
                else:
                    del self._holders[source]

    def _time_out(self, channel_id: str) -> None:
        self._drop_from_holders(channel_id)
        self._unkey(channel_id, "console", f"time-out after {self._timeout_ms / 1000:.0f} s")
        self._publish()
