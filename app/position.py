"""Composition of one dispatch position: builds every driver and service from a profile, runs the
services on one control thread, and gives the GUI (or the CLI, or a test) one object to talk to.

``Position`` lives on the thread that made it (the GUI thread). It never blocks on the control
thread: commands go out as queued signals, snapshots come back as queued signals and are kept as
``console``, ``calls`` and ``status`` for a first render.

Shutdown order, each step bounded in time and logged when it overruns:
1. every transmitter is unkeyed directly through its driver (the fail-safe must not wait on a busy
   control thread), 2. the control thread finishes (console shutdown, last log records),
3. every transmitter is unkeyed again, 4. drivers stop, 5. the store writer drains and closes.
"""

from __future__ import annotations

import getpass
import logging
from pathlib import Path
from typing import Any, Mapping

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.calls.service import CallsService
from app.config import Profile, storage_path
from app.console.service import ConsoleService
from app.console.input_map import InputMap
from app.console.input_monitor import InputMonitor
from app.console.unit_aliases import UnitAliasError, UnitAliases, load_unit_aliases
from app.console.settings import console_settings
from app.control import ControlHub, DeviceBridge
from app.audio.buffers import EngineBuffers
from app.audio.endpoints import AudioMap, audio_map
from app.audio.dsp_worker import PHONE_DEVICE, DecodeInput, DspWorker
from app.audio.engine import Engine
from app.audio.service import AudioService, mix_options
from app.audio.vox import VoxPoller, vox_radios, without_carrier
from app.drivers import (
    Built, attach_tone_remote, build_audio, build_audio_process, build_input, build_phone_and_ali, build_radio,
    build_ring_line,
)
from app.dsp.recall import rate_factor
from app.ali.layouts import LayoutError, load_layout
from app.calls.directory import DirectoryEntry, load_directory
from app.calls.registry import RegistryIndex, address_key_for_record, import_registry_csv
from app.calls.service import RegistryMatcher
from app.eventlog import EventLog
from app.snapshots import AudioSnapshot, CallsSnapshot, ConsoleSnapshot, PositionInfo, RegistryFlag, StatusSnapshot
from app.status import StatusService
from app.store import StoreError, StoreWriter
from hardware.events import LinkState
from hardware.serial.send_queue import SendQueue

log = logging.getLogger(__name__)

DECODE_RING_S = 10.0  # the ring kept for the signaling decoders when instant recall is off
MAX_LOGGED_PROBLEMS = 50  # a broken CSV reports its first problems, not one log line per row


class Position(QObject):
    console_changed = Signal(object)  # ConsoleSnapshot
    calls_changed = Signal(object)  # CallsSnapshot
    status_changed = Signal(object)  # StatusSnapshot
    audio_changed = Signal(object)  # AudioSnapshot
    event_logged = Signal(object)  # LoggedEvent

    # Commands, queued to the control thread.
    _select = Signal(str, bool)
    _ptt = Signal(str, bool)
    _ptt_override = Signal(str, bool)
    _instant = Signal(str, str, bool)
    _talk_back = Signal(str, bool)
    _monitor = Signal(str, bool)
    _tune = Signal(str, str)
    _alert = Signal(str, object)
    _signal = Signal(str, object, object)  # kind, encoder params, channel ids
    _tty = Signal(str)
    _ack_emergency = Signal(str)
    _patch = Signal(str, object)
    _unpatch = Signal(str)
    _volume = Signal(str, float)
    _pan = Signal(str, float)
    _mute = Signal(str, bool)
    _replay = Signal(str)
    _test_tone = Signal(int, bool)
    _play_tone = Signal(str, object)
    _alarm_tone = Signal(bool)
    _dial = Signal(str)
    _answer = Signal(object)
    _release = Signal(bool)
    _manual_ring = Signal(str)
    _rebid = Signal()
    _confirm_location = Signal()
    _transfer = Signal(str, str, str)
    _callback = Signal(str, str, str)
    _load_callbacks = Signal(object)
    _shutdown = Signal()
    _store_error = Signal(str)  # emitted on the store writer's thread

    def __init__(self, profile: Profile, *, profile_path: str = "", demo: bool = False,
                 data_path: Path | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.profile = profile
        self.data_path = Path(data_path) if data_path else storage_path(profile)
        self.info = PositionInfo(profile.position.name, profile.position.role, profile.position.site,
                                 profile_path, demo, str(self.data_path))
        self.console = ConsoleSnapshot()
        self.calls = CallsSnapshot()
        self.status = StatusSnapshot()
        self.audio = AudioSnapshot()
        self.engine: Engine | None = None  # its meter arrays are read by the GUI (see audio_levels)
        self.input_monitor = InputMonitor()  # every input event and its bound action (Technician INPUTS tab)
        self.sim_phone_line: Any = None  # null device: the far end of the phone line (hardware/sim/audio.py)
        self.dsp_worker: DspWorker | None = None  # live signaling decoders (app/audio/dsp_worker.py)
        self.vox: VoxPoller | None = None  # software carrier of radios with [radios.vox] enabled
        self.audio_clock_blocks = 0  # benchmarks: room for timing this many blocks (app/audio/host.py TimedCallback)
        # Which device channel is which (pure; views built before start label their meters with it).
        self.audio_map: AudioMap = audio_map(
            profile.audio.channels, [(r.id, r.name, r.kind, r.rx_input, r.tx_output) for r in profile.radios])
        self.store: StoreWriter | None = None
        self.built: list[Built] = []
        self.directory: tuple[DirectoryEntry, ...] = ()  # the transfer directory
        self._directory_report = self._load_directory()
        self.hub: ControlHub | None = None
        self.bridge: DeviceBridge | None = None
        self._thread: QThread | None = None
        self._started = False
        self._stopped = False

    # -- commands (any caller on this object's thread) -----------------------------------------
    def select_channel(self, channel_id: str, exclusive: bool = True) -> None:
        self._select.emit(channel_id, exclusive)

    def ptt(self, source: str, pressed: bool, override: bool = False) -> None:
        """General PTT on the selected channels; ``override`` keys a busy (receiving) channel anyway."""
        (self._ptt_override if override else self._ptt).emit(source, pressed)

    def instant_transmit(self, channel_id: str, source: str, pressed: bool) -> None:
        self._instant.emit(channel_id, source, pressed)

    def talk_back(self, source: str, pressed: bool) -> None:
        """PTT on the channel that received most recently."""
        self._talk_back.emit(source, pressed)

    def monitor(self, channel_id: str, on: bool) -> None:
        self._monitor.emit(channel_id, on)

    def tune(self, channel_id: str, name: str) -> None:
        """Switch a radio to one of its channels (a hamlib channel, a tone-remote function)."""
        self._tune.emit(channel_id, name)

    def send_alert(self, kind: str, channel_ids: tuple[str, ...] = ()) -> None:
        """Key the channels (the selected ones when none are given), send the alert tone, unkey after it."""
        self._alert.emit(kind, tuple(channel_ids))

    def send_signal(self, kind: str, params: dict, channel_ids: tuple[str, ...] = ()) -> None:
        """Key the channels, send a signaling burst (app/dsp/signaling.py kind + params), unkey after it:
        a page (qc2 tones/group+code, dtmf or 5-tone digits), MDC1200 call alert or radio check."""
        self._signal.emit(kind, dict(params), tuple(channel_ids))

    def send_tty(self, text: str) -> None:
        """The call-taker's TTY reply: Baudot on the phone line, stored with the call."""
        self._tty.emit(text)

    def acknowledge_emergency(self, channel_id: str) -> None:
        self._ack_emergency.emit(channel_id)

    def patch(self, group_id: str, channel_ids: tuple[str, ...]) -> None:
        self._patch.emit(group_id, tuple(channel_ids))

    def unpatch(self, group_id: str) -> None:
        self._unpatch.emit(group_id)

    def set_volume(self, channel_id: str, volume_db: float) -> None:
        self._volume.emit(channel_id, volume_db)

    def set_pan(self, channel_id: str, pan: float) -> None:
        self._pan.emit(channel_id, pan)

    def set_mute(self, channel_id: str, muted: bool) -> None:
        self._mute.emit(channel_id, muted)

    def replay_last(self, channel_id: str) -> None:
        """Instant recall: the channel's last transmission in the headset (again: stop it)."""
        self._replay.emit(channel_id)

    def test_tone(self, output: int, on: bool) -> None:
        """Technician: the line test tone on one output column (0-based), on or off."""
        self._test_tone.emit(output, on)

    def play_tone(self, kind: str, channel_ids: tuple[str, ...]) -> None:
        """An alert or chime (app.audio.service.CHANNEL_TONES) on these channels' transmit audio."""
        self._play_tone.emit(kind, tuple(channel_ids))

    def alarm_tone(self, on: bool) -> None:
        """The local emergency alarm tone in the headset and on the select speaker."""
        self._alarm_tone.emit(on)

    def audio_levels(self) -> tuple:
        """(input_levels, output_levels): the engine's live meter arrays, rows peak and RMS dBFS.

        The audio callback writes them every block; readers copy what they need and accept that a
        read may straddle two blocks. Empty arrays before start or without a sound device.
        """
        if self.engine is None:
            import numpy as np

            return np.zeros((2, 0), dtype=np.float32), np.zeros((2, 0), dtype=np.float32)
        return self.engine.input_levels, self.engine.output_levels

    def scope_tap(self) -> Any:
        """The engine's scope tap (app/audio/scope.py ScopeTap: choose one column, read its newest
        samples at the stream rate); None before start or without a sound device."""
        return self.engine.scope if self.engine is not None else None

    def recall_scope(self, radio_id: str) -> Any:
        """A radio's receive audio from instant recall's 8 kHz ring (app/audio/scope.py RecallScope), or None."""
        from app.audio.scope import RecallScope

        recorder = self.engine.recall if self.engine is not None else None
        radios = list(self.audio_map.radio_rx)
        if recorder is None or radio_id not in radios:
            return None
        return RecallScope(recorder, radios.index(radio_id))

    def answer_call(self, call_id: int | None = None) -> None:
        self._answer.emit(call_id)

    def release_call(self, hang_up: bool = False) -> None:
        """Release the call in hand; ``hang_up`` puts it on the callback list."""
        self._release.emit(hang_up)

    def manual_ring(self, line: str = "MANUAL") -> None:
        self._manual_ring.emit(line)

    def request_rebid(self) -> None:
        self._rebid.emit()

    def confirm_location(self) -> None:
        self._confirm_location.emit()

    def record_transfer(self, name: str, number: str, method: str) -> None:
        """Log a transfer on the call in hand; with method "dtmf" the number is also dialled on the phone line."""
        self._transfer.emit(name, number, method)
        if method == "dtmf":
            self._dial.emit(number)

    def record_callback(self, call_uid: str, outcome: str, note: str = "") -> None:
        self._callback.emit(call_uid, outcome, note)

    @property
    def control_thread_ident(self) -> int | None:
        return self.hub.thread_ident if self.hub else None

    def driver(self, device_id: str) -> Any:
        """The driver object of a device (technician tools, tests)."""
        return next((b.driver for b in self.built if b.id == device_id), None)

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.store = StoreWriter(self.data_path, on_error=self._report_store_error)
        self.store.start()  # raises StoreError naming the file if the database cannot be used

        self._thread = QThread()
        self._thread.setObjectName("control")
        bridge = DeviceBridge()
        profile = self.profile
        # A radio with VOX gets its carrier from its receive audio, never from its driver.
        radios = [build_radio(r, without_carrier(bridge.sink) if r.vox.enabled else bridge.sink,
                              samplerate=profile.audio.samplerate)
                  for r in profile.radios]
        inputs = [build_input(i, bridge.sink) for i in profile.inputs]
        phone, ali = build_phone_and_ali(profile, bridge.sink)
        ring = build_ring_line(profile.calls, bridge.sink)
        amap = self.audio_map
        sim_rx = {amap.radio_rx[b.id]: b.driver for b in radios
                  if b.driver_kind == "sim" and b.driver is not None and b.id in amap.radio_rx}
        engine, recall_problem, audio = self._build_audio_device(amap, bridge.sink, sim_rx)
        self.engine = engine
        self.dsp_worker = self._build_dsp_worker(amap, engine, bridge.sink)
        self.built = radios + inputs + [b for b in (phone, ring, ali, audio) if b is not None]

        events = EventLog(self.store)
        for note in profile.migration_notes:
            events.log("config.upgrade", source="console", detail=f"{self.info.profile_path}: {note}")
        audio_service = self._build_audio_service(amap, engine, events, recall_problem, audio)
        for b, r in zip(radios, profile.radios):
            if r.kind == "tone-remote":  # keys through the audio service, so made once it exists
                attach_tone_remote(b, r, without_carrier(bridge.sink) if r.vox.enabled else bridge.sink,
                                   audio_service)
        self.vox = VoxPoller(engine.input_levels, engine.counters, vox_radios(profile.radios, amap.radio_rx),
                             bridge.sink, parent=audio_service)  # a child: it moves to the control thread too
        status = StatusService()
        status.declare("store", "Event store", "store", LinkState.UP.value, str(self.data_path))
        for b in self.built:
            state = LinkState.FAULT.value if b.problem else ("up" if b.driver_kind == "keyboard" else "unknown")
            detail = b.problem or ("in this window" if b.driver_kind == "keyboard" else "")
            status.declare(b.id, b.label, b.kind, state, detail)
        ptt_inputs = {i.id for i in profile.inputs if i.action in ("ptt", "headset-ptt")}
        console = ConsoleService([(b.id, b.label, b.driver_kind, b.driver) for b in radios], events,
                                 ptt_inputs=ptt_inputs | {"console", "keyboard"},
                                 levels={r.id: (r.volume_db, r.pan) for r in profile.radios},
                                 settings=console_settings(profile),
                                 operator=f"{_user_name()}@{profile.position.name}")
        console.set_tone_player(audio_service.play_tone)  # same thread: talk-permit and alert tones
        console.set_signaling(audio_service.play_signal_kind, self._load_unit_aliases(events),
                              ack_emergency=profile.signaling.ack_emergency,
                              selcall_emergency=profile.signaling.selcall_emergency)
        phone_driver = phone.driver if phone is not None else None
        for index, line in enumerate(self._directory_report):
            events.log("directory.load" if index == 0 else "directory.problem", source="directory", detail=line)
        calls = self._build_calls(events, status, ali, phone_driver)
        calls.set_tty_sender(audio_service.send_tty)
        input_map = InputMap.from_profile(profile.inputs, console, audio_service, {b.id: b.driver for b in inputs})
        hub = ControlHub(console, calls, status, events, audio=audio_service, input_map=input_map,
                         input_monitor=self.input_monitor,
                         ali_device=ali.id if ali else "",
                         heartbeat_timeout_s=profile.ali.heartbeat_timeout_s if profile.ali else 90.0)
        self._store_error.connect(hub.on_store_error)
        for obj in (bridge, events, status, console, calls, audio_service, hub):
            obj.moveToThread(self._thread)
        self._keep = (bridge, events, status, console, calls, audio_service)  # Python must keep the wrappers alive
        self.hub = hub
        self.bridge = bridge

        bridge.event.connect(hub.on_device_event)
        console.changed.connect(self._on_console)
        calls.changed.connect(self._on_calls)
        status.changed.connect(self._on_status)
        console.changed.connect(audio_service.on_console)  # same thread: the plan follows at once
        calls.changed.connect(audio_service.on_calls)
        audio_service.lost.connect(console.fail_safe)
        audio_service.voice_finished.connect(console.on_voice_finished)
        console.alarm.connect(audio_service.alarm_tone)
        audio_service.changed.connect(self._on_audio)
        self._volume.connect(console.set_volume)
        self._pan.connect(console.set_pan)
        self._mute.connect(console.set_mute)
        self._replay.connect(audio_service.replay_last)
        self._test_tone.connect(audio_service.test_tone)
        self._play_tone.connect(audio_service.play_tone)
        self._alarm_tone.connect(audio_service.alarm_tone)
        self._dial.connect(audio_service.dial)
        events.logged.connect(self.event_logged)
        self._select.connect(console.select_channel)
        self._ptt.connect(console.ptt)
        self._ptt_override.connect(console.ptt_override)
        self._instant.connect(console.instant_transmit)
        self._talk_back.connect(console.talk_back)
        self._monitor.connect(console.monitor)
        self._tune.connect(console.tune)
        self._alert.connect(console.send_alert)
        self._signal.connect(console.send_signal)
        self._tty.connect(calls.send_tty)
        self._ack_emergency.connect(console.acknowledge_emergency)
        self._patch.connect(console.patch)
        self._unpatch.connect(console.unpatch)
        self._answer.connect(calls.answer_call)
        self._release.connect(calls.release_call)
        self._manual_ring.connect(calls.manual_ring)
        self._rebid.connect(calls.request_rebid)
        self._confirm_location.connect(calls.confirm_location)
        self._transfer.connect(calls.record_transfer)
        self._callback.connect(calls.record_callback)
        self._load_callbacks.connect(calls.load_callbacks)
        self._shutdown.connect(hub.shutdown)
        self._thread.started.connect(hub.start)
        self._thread.started.connect(self.vox.start)
        self._thread.finished.connect(self.vox.stop)  # emitted on the control thread, where its timer runs
        self.console, self.calls, self.status = console.snapshot(), calls.snapshot(), status.snapshot()
        self.audio = audio_service.snapshot()

        self._thread.start()
        if self.dsp_worker is not None:
            self.dsp_worker.start()
        self._load_callbacks.emit(self.data_path)  # queued: runs on the control thread
        for b in self.built:
            if b.driver is not None:
                b.driver.start()

    def _build_audio_device(self, amap: AudioMap, sink: Any, sim_rx: dict[int, Any]) -> tuple[Engine, str, Built]:
        """The engine and the sound device that runs its callback: in an audio process of its own
        (``[audio] process = "separate"``, real devices) or on a thread of this one (the null device,
        whose simulated inputs live here, or ``process = "inline"``)."""
        cfg = self.profile.audio
        settings, problem = self._engine_settings(amap)
        n_in, n_out = amap.n_in, amap.n_out
        if cfg.backend != "null" and cfg.process == "separate":
            audio, shared = build_audio_process(cfg, n_in, n_out, settings, sink,
                                                clock_capacity=self.audio_clock_blocks)
            publish = audio.driver.publish if audio.driver is not None else None
            engine = Engine(n_in, n_out, cfg.blocksize, cfg.samplerate, publish=publish,
                            buffers=shared.buffers if shared is not None else None, **settings)
            return engine, problem, audio
        from hardware.sim.audio import SimPhoneLine, SimReceiveInputs

        phone_rx = amap.endpoints.phone_rx
        if phone_rx is not None:  # the demo's caller (TTY) on the phone line
            self.sim_phone_line = SimPhoneLine()
            sim_rx = {**sim_rx, phone_rx: self.sim_phone_line}
        layout = Engine.layout_for(n_in, n_out, cfg.samplerate, clock_capacity=self.audio_clock_blocks, **settings)
        engine = Engine(n_in, n_out, cfg.blocksize, cfg.samplerate, buffers=EngineBuffers.local(layout), **settings)
        audio = build_audio(cfg, n_in, n_out, engine.process, sink,
                            sim_inputs=SimReceiveInputs(sim_rx, max_block=cfg.blocksize))
        return engine, problem, audio

    def _engine_settings(self, amap: AudioMap) -> tuple[dict[str, Any], str]:
        """Engine settings for this device's channels, with instant recall when the rate and settings
        allow; the reason when recall is off."""
        cfg = self.profile.audio
        settings: dict[str, Any] = {"trc_outputs": tuple(amap.trc_outputs.values())}
        recall_s = cfg.recall_minutes * 60.0
        problem = "" if recall_s > 0 else "instant recall is off (recall_minutes = 0)"
        if not amap.recall_inputs and not problem:
            problem = "no radio has an rx_input"
        if not problem:
            try:
                rate_factor(cfg.samplerate)
            except ValueError as err:  # e.g. 44.1 kHz: the recorder needs a multiple of 8 kHz
                problem = f"instant recall is off: {err}"
        if not problem:
            settings.update(recall_inputs=tuple(amap.recall_inputs), recall_seconds=recall_s)
        # The decoders read the same ring: keep a short one when recall is off, and the phone line
        # (TTY) after the radios, never replayable (the audio service replays radio channels only).
        phone = self._tty_column(amap)
        if any(r.decoders for r in self.profile.radios) or phone is not None:
            try:
                rate_factor(cfg.samplerate)
            except ValueError:
                return settings, problem  # no ring at this rate: the decoders say so when they are built
            settings["recall_inputs"] = tuple(amap.recall_inputs) + ((phone,) if phone is not None else ())
            settings["recall_seconds"] = recall_s if not problem else DECODE_RING_S
        return settings, problem

    def _tty_column(self, amap: AudioMap) -> int | None:
        return amap.endpoints.phone_rx if self.profile.signaling.phone_tty else None

    def _build_dsp_worker(self, amap: AudioMap, engine: Engine, sink: Any) -> DspWorker | None:
        """Live decoders on each radio input the profile enables (and TTY on the phone line)."""
        wanted = [DecodeInput(r.id, list(amap.radio_rx).index(r.id), tuple(r.decoders))
                  for r in self.profile.radios if r.decoders and r.id in amap.radio_rx]
        if self._tty_column(amap) is not None:
            wanted.append(DecodeInput(PHONE_DEVICE, len(amap.radio_rx), ("tty",)))
        if not wanted:
            return None
        if engine.recall is None:
            log.warning("signaling decoders are off: the sound device runs at %d Hz, not a multiple of 8 kHz",
                        self.profile.audio.samplerate)
            return None
        return DspWorker(engine.recall, wanted, sink)

    def _load_unit_aliases(self, events: EventLog) -> UnitAliases:
        path = self.profile.resolved_path(self.profile.signaling.aliases)
        if path is None:
            return UnitAliases()
        try:
            aliases, problems = load_unit_aliases(path)
        except UnitAliasError as err:
            events.log("signaling.aliases.error", source="signaling", detail=str(err))
            return UnitAliases()
        events.log("signaling.aliases", source="signaling", detail=f"{path}: {len(aliases)} units named")
        for problem in problems[:MAX_LOGGED_PROBLEMS]:
            events.log("signaling.aliases.problem", source="signaling", detail=problem)
        return aliases

    def _build_audio_service(self, amap: AudioMap, engine: Engine, events: EventLog, recall_problem: str,
                             audio: Built) -> AudioService:
        cfg = self.profile.audio
        if recall_problem:
            events.log("recall.off", source="audio", detail=recall_problem)
        driver = audio.driver
        return AudioService(
            amap, engine, events, options=mix_options(cfg.mix), patch_hang_s=cfg.mix.patch_hang_s,
            test_level_dbfs=cfg.test_level_dbfs, backend=cfg.backend, samplerate=cfg.samplerate,
            blocksize=cfg.blocksize, recall_problem=recall_problem, restart_after_s=cfg.restart_after_s,
            jackbox_inputs=frozenset(i.id for i in self.profile.inputs
                                     if any(action == "jackbox" for _, action in i.bound_actions())),
            stream_info=driver.stream_info if driver is not None else None,
        )

    def _build_calls(self, events: EventLog, status: StatusService, ali: Built | None, phone_driver: Any) -> CallsService:
        profile = self.profile
        ali_cfg = profile.ali
        layout, layout_problem = None, ""
        if ali_cfg is not None:
            try:
                layout = load_layout(profile.resolved_path(ali_cfg.layout) if ali_cfg.layout.endswith(".toml")
                                     else ali_cfg.layout)
            except LayoutError as err:
                # Spills still pop, as raw text carrying this reason; the event log has it too.
                layout_problem = f"ALI layout {ali_cfg.layout!r} could not be loaded: {err}"
                events.log("ali.layout.error", source=ali_cfg.id, detail=layout_problem)
        ali_driver = ali.driver if ali is not None else None
        ali_send = None
        if ali is not None and hasattr(ali_driver, "send"):
            # ACKs and rebid requests are written off the control thread: it must never wait on a port.
            sender = SendQueue(ali.id, ali_driver.send, lambda: bool(ali_driver.is_open))
            ali.stoppers.append(sender.stop)
            ali_send = sender.submit
        return CallsService(
            events, self.store,
            ali_device=ali.id if ali else "",
            bcc=ali_cfg.bcc if ali_cfg else True,
            layout=layout,
            layout_problem=layout_problem,
            position_id=ali_cfg.position_id if ali_cfg else "",
            ack=ali_cfg.ack if ali_cfg else False,
            rebid_request=ali_cfg.rebid_request.encode("latin-1") if ali_cfg else b"",
            auto_rebid_s=profile.calls.auto_rebid_s,
            ring_source=profile.calls.ring_source,
            transfer_method=self._transfer_method(events),
            operator=f"{_user_name()}@{profile.position.name}",
            phone_answer=phone_driver.answer if phone_driver else None,
            phone_release=phone_driver.release if phone_driver else None,
            ali_send=ali_send,
            match_registry=self._registry_matcher(events),
        )

    def _transfer_method(self, events: EventLog) -> str:
        if self.profile.directory.dial != "dtmf":
            return "copy"
        if self.audio_map.endpoints.phone_tx is None:
            events.log("directory.dial", source="directory",
                       detail="dial = \"dtmf\" needs a phone_tx channel in [audio.channels]; numbers are copied instead")
            return "copy"
        return "dtmf"

    def _registry_matcher(self, events: EventLog) -> RegistryMatcher | None:
        """Import the site's registry CSV into the store (skipped when unchanged) and match against it."""
        path = self.profile.resolved_path(self.profile.registry.file)
        if path is None:
            return None
        try:
            result = import_registry_csv(self.data_path, path)
            index = RegistryIndex.load(self.data_path)
        except StoreError as err:
            events.log("registry.error", source="registry", detail=str(err))
            return None
        events.log("registry.import", source="registry",
                   detail=f"{path}: {result.status}; {result.rows} entries, {result.skipped} row(s) left out")
        for problem in result.problems[:MAX_LOGGED_PROBLEMS]:
            events.log("registry.problem", source="registry", detail=problem)

        def match(phones: list[str], record: Mapping[str, Any]) -> tuple[RegistryFlag, ...]:
            found = index.match(phones=phones, address_key=address_key_for_record(record) if record else "")
            return tuple(RegistryFlag(m.name, m.category, m.notes, m.address, m.phone, m.matched_on) for m in found)

        return match

    def _load_directory(self) -> list[str]:
        """Read the transfer directory (small; done when the position is made, so views built before
        start see it). Returns what to log once the event log exists."""
        path = self.profile.resolved_path(self.profile.directory.file)
        if path is None:
            return []
        entries, problems = load_directory(path)
        self.directory = entries
        return [f"{path}: {len(entries)} entries", *problems[:MAX_LOGGED_PROBLEMS]]

    def stop(self, timeout: float = 3.0) -> bool:
        """Stop everything in order; True when every thread stopped in time. Idempotent."""
        if not self._started or self._stopped:
            return True
        self._stopped = True
        clean = True
        self._unkey_all("shutdown")
        if self.dsp_worker is not None and not self.dsp_worker.stop(timeout):
            log.warning("DSP worker did not stop within %.1f s", timeout)
            clean = False
        if self._thread is not None:
            self._shutdown.emit()
            # quit() may end the loop before queued commands run: wait for the console's own
            # shutdown first (bounded: a wedged control thread must not stop the rest).
            if self.hub is not None and not self.hub.shutdown_done.wait(timeout):
                log.warning("control thread did not run its shutdown within %.1f s", timeout)
                clean = False
            self._thread.quit()
            if not self._thread.wait(int(timeout * 1000)):
                log.warning("control thread did not stop within %.1f s", timeout)
                clean = False
        self._unkey_all("shutdown")
        for b in self.built:
            if b.driver is not None and not b.driver.stop(timeout):
                clean = False
            for stopper in b.stoppers:
                stopper()
        if self.store is not None and not self.store.stop(timeout):
            clean = False
        return clean

    def log_restart(self, reason: str) -> None:
        """Record that the console is about to restart itself (called just before it stops)."""
        if self.store is not None:
            try:
                self.store.log_event("console.restart", source="console", detail=reason)
            except Exception:  # noqa: BLE001 - a closed store must not stop the restart
                log.warning("console restart (%s) not logged", reason)

    def unkey_all(self, reason: str) -> None:
        """Fail-safe: drop every transmitter now, from any thread (signal handlers, excepthook)."""
        self._unkey_all(reason)

    def _unkey_all(self, reason: str) -> None:
        for b in self.built:
            if b.kind != "radio" or b.driver is None:
                continue
            was_keyed = getattr(b.driver, "keyed", True)  # a driver that cannot tell is assumed keyed
            try:
                b.driver.key(False)
            except Exception:  # noqa: BLE001 - keep unkeying the others
                log.exception("could not unkey %s", b.id)
                continue
            if was_keyed and self.store is not None:
                try:
                    self.store.log_event("ptt.unkey", channel=b.id, source="failsafe", detail=reason)
                except Exception:  # noqa: BLE001 - the store may already be closed; the unkey is what matters
                    log.warning("fail-safe unkey of %s (%s) not logged", b.id, reason)

    def _report_store_error(self, message: str) -> None:
        """Called on the writer's thread for every failed write attempt; the status bar shows it."""
        try:
            self._store_error.emit(message)
        except RuntimeError:  # this object is being torn down; the writer has already logged it
            pass

    # -- snapshots from the control thread --------------------------------------------------------
    @Slot(object)
    def _on_console(self, snap: ConsoleSnapshot) -> None:
        self.console = snap
        self.console_changed.emit(snap)

    @Slot(object)
    def _on_calls(self, snap: CallsSnapshot) -> None:
        self.calls = snap
        self.calls_changed.emit(snap)

    @Slot(object)
    def _on_audio(self, snap: AudioSnapshot) -> None:
        self.audio = snap
        self.audio_changed.emit(snap)

    @Slot(object)
    def _on_status(self, snap: StatusSnapshot) -> None:
        self.status = snap
        self.status_changed.emit(snap)



def _user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (some containers and services)
        return "operator"
