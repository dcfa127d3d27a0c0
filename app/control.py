"""The control thread's hub: receives every driver event and hands it to the service that owns it.

Drivers call ``DeviceBridge.sink`` from their own threads; the bridge only emits a signal, which Qt
queues to the control thread, so console state is only ever touched by one thread and needs no locks.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.audio.service import AudioService
from app.calls.service import CallsService
from app.console.input_map import InputMap
from app.console.input_monitor import InputMonitor
from app.console.service import ConsoleService
from app.eventlog import EventLog
from app.status import StatusService
from hardware.events import (
    BytesReceived,
    CarrierChanged,
    ControlValue,
    DeviceEvent,
    DeviceFault,
    EmergencyDeclared,
    InputChanged,
    KeyStateChanged,
    LinkChanged,
    LinkState,
    RingChanged,
    SignalDecoded,
)



class DeviceBridge(QObject):
    """The one door from driver threads into the control thread."""

    event = Signal(object)  # DeviceEvent

    def sink(self, event: DeviceEvent) -> None:
        self.event.emit(event)


class ControlHub(QObject):
    """Owns the services of one position on the control thread and routes events to them."""

    def __init__(
        self,
        console: ConsoleService,
        calls: CallsService,
        status: StatusService,
        events: EventLog,
        *,
        audio: AudioService | None = None,
        input_map: InputMap | None = None,
        input_monitor: InputMonitor | None = None,
        ali_device: str = "",
        heartbeat_timeout_s: float = 90.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.console = console
        self.calls = calls
        self.status = status
        self.events = events
        self.audio = audio
        # Inputs act through their bindings (ptt, select:<radio>, volume faders, LEDs); without a map
        # every input keys PTT by its id and jackbox inputs go to the audio service as before.
        self.input_map = input_map
        if input_map is not None:
            console.changed.connect(self._on_console_for_inputs)
        self.input_monitor = input_monitor  # the technician's inputs tester: every input event and its action
        self.ali_device = ali_device
        self.heartbeat_timeout_s = heartbeat_timeout_s
        self._ali_up_since: float | None = None
        self.events_routed = 0
        self.thread_ident: int | None = None  # the control thread, once started
        self.shutdown_done = threading.Event()  # set once shutdown() has run (waited on by Position.stop)
        self._heartbeat_timer = QTimer(self)
        self._heartbeat_timer.setInterval(int(min(1000.0, heartbeat_timeout_s * 500)))
        self._heartbeat_timer.timeout.connect(self._check_heartbeat)

    @Slot()
    def start(self) -> None:
        """Runs on the control thread once it starts."""
        self.thread_ident = threading.get_ident()
        if self.ali_device:
            self._heartbeat_timer.start()
        if self.audio is not None:
            self.audio.start()
        self.events.log("position.start", source="console")
        self.status.publish()

    @Slot()
    def shutdown(self) -> None:
        self._heartbeat_timer.stop()
        self.console.shutdown()
        self.calls.shutdown()
        if self.audio is not None:
            self.audio.shutdown()
        self.events.log("position.stop", source="console")
        self.shutdown_done.set()

    @Slot(object)
    def on_device_event(self, ev: DeviceEvent) -> None:
        self.events_routed += 1
        if isinstance(ev, BytesReceived):
            self.calls.on_bytes(ev)
            self._check_heartbeat()  # a frame brings a silent link back at once
        elif isinstance(ev, CarrierChanged):
            self.console.on_carrier(ev)
            if self.audio is not None:
                self.audio.on_carrier(ev)
        elif isinstance(ev, InputChanged):
            self.events.log("input", channel="", source=ev.device, detail=f"{ev.control} {'down' if ev.pressed else 'up'}")
            self._monitor_input(ev)
            if self.input_map is not None:
                self.input_map.on_input(ev)
            else:
                self.console.on_input(ev)
                if self.audio is not None:
                    self.audio.on_input(ev)
        elif isinstance(ev, ControlValue):
            self._monitor_input(ev)
            if self.input_map is not None:  # a fader moves often: not logged, the volume change is
                self.input_map.on_value(ev)
        elif isinstance(ev, KeyStateChanged):
            self.console.on_key_state(ev)
        elif isinstance(ev, RingChanged):
            self.calls.on_ring(ev)
        elif isinstance(ev, LinkChanged):
            self._on_link(ev)
        elif isinstance(ev, EmergencyDeclared):
            self.console.on_emergency(ev)  # logs it with the channel and unit
        elif isinstance(ev, SignalDecoded):
            if ev.kind == "tty":
                self.calls.on_tty(ev)  # the phone line: the call-taker's TTY conversation
            else:
                self.console.on_signal(ev)  # unit on the tile and in the log; an emergency
        elif isinstance(ev, DeviceFault):
            self.events.log("fault", source=ev.device, detail=ev.message)
            self.status.update(ev.device, LinkState.FAULT.value, ev.message)
            self.console.on_fault(ev)

    def _on_link(self, ev: LinkChanged) -> None:
        if self.status.update(ev.device, ev.state.value, ev.detail):
            self.events.log("link." + ev.state.value, source=ev.device, detail=ev.detail)
        if ev.device == self.ali_device:
            if ev.state is LinkState.UP:
                self._ali_up_since = time.monotonic()
            else:
                self._ali_up_since = None
                self.calls.on_link_lost()
        if self.input_map is not None:
            self.input_map.on_link(ev)  # a lost input lets go of what it held, before the console looks
        self.console.on_link(ev)
        if self.audio is not None:
            self.audio.on_link(ev)

    def _monitor_input(self, ev: InputChanged | ControlValue) -> None:
        if self.input_monitor is None:
            return
        if self.input_map is not None:
            binding = self.input_map.binding(ev.device, ev.control)
            action = binding.action if binding is not None else None
        else:  # no map: every input keys PTT by its id
            action = "ptt" if isinstance(ev, InputChanged) else None
        self.input_monitor.record(ev, action)

    @Slot(object)
    def _on_console_for_inputs(self, snapshot: object) -> None:
        self.input_map.on_console(snapshot)  # type: ignore[union-attr, arg-type]

    def _check_heartbeat(self) -> None:
        """No frame (heartbeat or spill) within the timeout marks an open link as down."""
        if self._ali_up_since is None:
            return
        last = self.calls.last_frame_t or self._ali_up_since
        silent = time.monotonic() - last
        state = self.status.state_of(self.ali_device)
        if silent > self.heartbeat_timeout_s and state == LinkState.UP.value:
            detail = f"no heartbeat for {silent:.0f} s"
            self.status.update(self.ali_device, LinkState.DOWN.value, detail)
            self.events.log("link.down", source=self.ali_device, detail=detail)
        elif silent <= self.heartbeat_timeout_s and state == LinkState.DOWN.value:
            self.status.update(self.ali_device, LinkState.UP.value, "heartbeat received")
            self.events.log("link.up", source=self.ali_device, detail="heartbeat received")

    @Slot(str)
    def on_store_error(self, message: str) -> None:
        self.status.update("store", LinkState.DOWN.value, message)
