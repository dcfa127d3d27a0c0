"""The audio engine's control side: console and call state in, mix plans and voices out.

Lives on the control thread. Every console or call change becomes a ``MixState``; ``compute_plan``
turns it into a gain matrix the engine picks up at its next block (one reference swap, see
app/audio/engine.py). Carrier edges index instant recall; a patch keeps a channel's audio flowing for
the hang time after its carrier drops (a single-shot timer replans when the hang ends).

The sound device itself is run by a supervisor thread (hardware/audio/supervisor.py) that reports
link changes. A lost device raises ``lost`` (the console unkeys every transmitter: nobody may talk
into a radio whose audio goes nowhere) and an alarm the operator sees until the device is back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np
from PySide6.QtCore import QObject, QTimer, Signal, Slot

from app.audio.endpoints import AudioMap
from app.audio.engine import Engine
from app.audio.voices import ClipVoice, RecallVoice, ToneVoice
from app.dsp.mixplan import ChannelState, HangTimer, MixOptions, MixPlan, MixState, PhoneState, compute_plan
from app.dsp.trc import keying_sequence
from app.dsp.mixplan import db_to_gain
from app.calls.directory import dial_string
from app.dsp.tones import (
    Segment, ToneError, alert1, alert2, alert3, dekey, dtmf, emergency_alarm, line_test_tone, marker, silence,
    talk_permit,
)
from app.eventlog import EventLog
from app.snapshots import AudioCounters, AudioSnapshot, CallsSnapshot, ConsoleSnapshot
from hardware.events import CarrierChanged, InputChanged, LinkChanged, LinkState

log = logging.getLogger(__name__)

AUDIO_DEVICE_ID = "audio"
HOUSEKEEPING_MS = 100  # reap finished voices, refresh counters
COUNTERS_EVERY = 5  # housekeeping ticks between counter snapshots (about 2 a second)

# Tones sent on a channel (its transmit output, and the operator's headset as sidetone).
CHANNEL_TONES = {"alert1": alert1, "alert2": alert2, "alert3": alert3, "marker": marker,
                 "talk_permit": talk_permit, "dekey": dekey}

DIAL_PAUSE_S = 2.0  # a "," in a dial string: wait for the far end (an extension prompt)

StreamInfo = Callable[[], tuple[str, tuple[float, float], int]]  # (device name, (in_s, out_s), restarts)


def same_plan(a: MixPlan, b: MixPlan) -> bool:
    return (a.transmit_outputs == b.transmit_outputs and a.live_transmit == b.live_transmit
            and np.array_equal(a.G, b.G) and np.array_equal(a.replay_gains, b.replay_gains))


def mix_options(mix: object) -> MixOptions:
    """The profile's [audio.mix] as the planner's options."""
    return MixOptions(
        unselect_mode=mix.unselect, unselect_db=mix.unselect_db, split_ears=mix.split_ears,
        select_ear=mix.select_ear, duck_db=mix.duck_db, sidetone_db=mix.sidetone_db,
        select_speaker_with_headset=mix.select_speaker_with_headset, headset_db=mix.headset_db,
        select_speaker_db=mix.select_speaker_db, unselect_speaker_db=mix.unselect_speaker_db,
    )


class AudioService(QObject):
    changed = Signal(object)  # AudioSnapshot
    lost = Signal(str)  # the device is gone: unkey every transmitter (reason)
    voice_finished = Signal(int)  # a voice (tone, clip) played to its end: an alert's PTT is let go

    def __init__(self, amap: AudioMap, engine: Engine, events: EventLog, *, options: MixOptions,
                 patch_hang_s: float, test_level_dbfs: float, backend: str, samplerate: int, blocksize: int,
                 jackbox_inputs: frozenset[str] = frozenset(), recall_problem: str = "",
                 restart_after_s: float = 0.0,
                 stream_info: StreamInfo | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.amap = amap
        self.engine = engine
        self._events = events
        self._options = options
        self._hang = HangTimer(patch_hang_s)
        self._test_level_dbfs = test_level_dbfs
        self._jackbox_inputs = jackbox_inputs
        self._stream_info = stream_info
        self._console = ConsoleSnapshot()
        self._phone_active = False
        self._headset_present = True
        self._recall_index = {rid: k for k, rid in enumerate(amap.radio_rx)}  # radio id -> recorder channel
        self._replay: tuple[str, int] | None = None  # (channel id, voice id)
        self._test_tones: dict[int, int] = {}  # output column -> voice id
        self._alarm_voice: int | None = None  # the local emergency alarm tone
        self._samplerate = samplerate
        self._frames = blocksize
        self._plan: MixPlan | None = None
        self._snap = AudioSnapshot(
            backend=backend, samplerate=samplerate, blocksize=blocksize, recall=recall_problem,
            restart_after_s=restart_after_s,
            input_labels=amap.input_labels, output_labels=amap.output_labels,
        )
        self._ticks = 0
        self._housekeeping = QTimer(self)
        self._housekeeping.setInterval(HOUSEKEEPING_MS)
        self._housekeeping.timeout.connect(self._tick)
        self._hang_timer = QTimer(self)
        self._hang_timer.setSingleShot(True)
        self._hang_timer.timeout.connect(self._replan)

    # -- lifecycle ------------------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        self._housekeeping.start()
        self._replan()
        self._publish()

    @Slot()
    def shutdown(self) -> None:
        self._housekeeping.stop()
        self._hang_timer.stop()
        self.alarm_tone(False)
        for voice_id in [*self._test_tones.values(), *([self._replay[1]] if self._replay else [])]:
            self.engine.stop(voice_id)
        self._test_tones.clear()
        self._replay = None

    # -- state from the other services ----------------------------------------------------------
    @Slot(object)
    def on_console(self, snap: ConsoleSnapshot) -> None:
        self._console = snap
        self._replan()

    @Slot(object)
    def on_calls(self, snap: CallsSnapshot) -> None:
        active = snap.active is not None
        if active != self._phone_active:
            self._phone_active = active
            self._replan()

    def on_carrier(self, ev: CarrierChanged) -> None:
        now = time.monotonic()
        self._hang.update(ev.device, ev.active, now)
        recorder, k = self.engine.recall, self._recall_index.get(ev.device)
        if recorder is not None and k is not None:
            if ev.active:
                tx = recorder.carrier_on(k, time.time())
                tx.unit_id = ev.unit_id
            else:
                recorder.carrier_off(k, time.time())
        if not ev.active:
            self._hang_timer.start(int(self._hang.hang_s * 1000) + 1)

    def on_input(self, ev: InputChanged) -> None:
        if ev.device in self._jackbox_inputs and ev.pressed != self._headset_present:
            self._headset_present = ev.pressed
            self._events.log("audio.headset", source=ev.device, detail="plugged in" if ev.pressed else "unplugged")
            self._replan()

    def on_link(self, ev: LinkChanged) -> None:
        if ev.device != AUDIO_DEVICE_ID:
            return
        alarm = self._snap.alarm
        restart = ev.state is LinkState.FAULT
        if ev.state in (LinkState.DOWN, LinkState.FAULT):
            alarm = f"Audio device lost: {ev.detail or ev.state.value}. Every transmitter was unkeyed."
            if not self._snap.alarm:
                self._events.log("audio.lost", source=AUDIO_DEVICE_ID, detail=ev.detail)
            self.lost.emit(f"audio device lost: {ev.detail}")
        elif ev.state is LinkState.UP:
            if self._snap.alarm:
                self._events.log("audio.back", source=AUDIO_DEVICE_ID, detail=ev.detail)
            alarm = ""
        self._snap = replace(self._snap, state=ev.state.value, detail=ev.detail, alarm=alarm,
                             restart_required=restart)
        self._refresh_stream_info()
        self._publish()

    # -- commands --------------------------------------------------------------------------------
    @Slot(str)
    def replay_last(self, channel_id: str) -> None:
        """Play the channel's last transmission into the headset (never a transmitter). Again: stop it."""
        if self._replay is not None:
            previous, voice_id = self._replay
            self.engine.stop(voice_id)
            self._replay = None
            if previous == channel_id:
                self._publish()
                return
        recorder, k = self.engine.recall, self._recall_index.get(channel_id)
        if recorder is None or k is None or self._snap.recall:  # a ring kept only for the decoders is not replayed
            why = self._snap.recall or "the channel has no receive audio input"
            self._events.log("recall.unavailable", channel=channel_id, detail=why)
            return
        held = recorder.last_transmission(k)
        if held.size == 0:
            self._events.log("recall.empty", channel=channel_id, detail="nothing received yet")
            return
        gains = self._plan.replay_gains if self._plan is not None else ()
        routes = {o: float(g) for o, g in enumerate(gains) if g}
        voice_id = self.engine.play(RecallVoice(held, self._samplerate, max_block=self._frames), routes,
                                    operator_only=True)
        self._replay = (channel_id, voice_id)
        tx = recorder.transmissions(k)[-1]
        unit = f", unit {tx.unit_id}" if tx.unit_id else ""
        self._events.log("recall.replay", channel=channel_id,
                         detail=f"{held.size / 8000:.1f} s from {time.strftime('%H:%M:%S', time.localtime(tx.wall_start))}{unit}")
        self._publish()

    @Slot(int, bool)
    def test_tone(self, output: int, on: bool) -> None:
        """The technician's 1004 Hz line test tone at the test level on one output column."""
        if not 0 <= output < self.amap.n_out:
            return
        voice_id = self._test_tones.pop(output, None)
        if voice_id is not None:
            self.engine.stop(voice_id)
        if on:
            tone = ToneVoice(line_test_tone(level_dbfs=self._test_level_dbfs), self._samplerate,
                                 repeat=True, max_block=self._frames)
            self._test_tones[output] = self.engine.play(tone, {output: 1.0})
        if on or voice_id is not None:
            self._events.log("audio.test_tone", source="technician",
                             detail=f"{self.amap.output_labels[output]}: {'on' if on else 'off'}")
        self._publish()

    @Slot(str, object)
    def play_tone(self, kind: str, channel_ids: tuple[str, ...]) -> int | None:
        """An alert or chime on each channel's transmit output, with sidetone to the operator.

        Keying the radios for it is the console's job; this only puts the tone on the lines.
        Returns the voice id (None when no channel has a transmit output or the kind is unknown).
        """
        build = CHANNEL_TONES.get(kind)
        outputs = {self.amap.radio_tx[c]: 1.0 for c in channel_ids if c in self.amap.radio_tx}
        if build is None or not outputs:
            why = f"unknown tone {kind!r}" if build is None else "no transmit output on " + ", ".join(channel_ids)
            self._events.log("audio.tone.refused", channel=",".join(channel_ids), detail=why)
            return None
        voice = ToneVoice(build(level_dbfs=self._test_level_dbfs), self._samplerate, max_block=self._frames)
        voice_id = self.engine.play(voice, {**self._sidetone_routes(), **outputs})
        self._events.log("audio.tone", channel=",".join(channel_ids), detail=kind)
        return voice_id

    def play_signal(self, samples: np.ndarray, channel_ids: tuple[str, ...]) -> int | None:
        """Signaling audio (float32 at the stream rate) on each channel's transmit output, with sidetone.

        As with play_tone, keying is the console's job. The voice id, or None without a transmit output.
        """
        outputs = {self.amap.radio_tx[c]: 1.0 for c in channel_ids if c in self.amap.radio_tx}
        if not outputs:
            self._events.log("audio.signal.refused", channel=",".join(channel_ids),
                             detail="no transmit output on " + ", ".join(channel_ids))
            return None
        return self.engine.play(ClipVoice(samples), {**self._sidetone_routes(), **outputs})

    def play_signal_kind(self, kind: str, params: dict, channel_ids: tuple[str, ...]) -> int | None:
        """Encode one ``kind`` signal (app/dsp/signaling.py) at the stream rate and play it on the channels."""
        from app.dsp.signaling import SignalingError, encode

        try:
            samples = encode(kind, samplerate=self._samplerate, **params)
        except SignalingError as err:
            self._events.log("audio.signal.refused", channel=",".join(channel_ids), detail=str(err))
            return None
        return self.play_signal(samples, channel_ids)

    def send_tty(self, text: str) -> int | None:
        """``text`` as TTY (Baudot) on the phone line, heard as sidetone; the voice id, or None when it cannot."""
        from app.dsp.baudot import BaudotError, encode_tty

        phone_tx = self.amap.endpoints.phone_tx
        try:
            if phone_tx is None:
                raise BaudotError("no phone_tx channel in [audio.channels]")
            samples = encode_tty(text, samplerate=self._samplerate)
        except BaudotError as err:
            self._events.log("phone.tty.refused", source="phone", detail=f"{text[:40]!r}: {err}")
            return None
        return self.engine.play(ClipVoice(samples), {**self._sidetone_routes(), phone_tx: 1.0})

    @Slot(str)
    def dial(self, number: str) -> int | None:
        """Dial ``number`` as DTMF on the phone line (a "," waits DIAL_PAUSE_S), heard as sidetone."""
        phone_tx = self.amap.endpoints.phone_tx
        try:
            digits = dial_string(number)
            if phone_tx is None:
                raise ToneError("no phone_tx channel in [audio.channels]")
            segments: list[Segment] = []
            for part in digits.split(","):
                segments += (dtmf(part) if part else []) + [silence(DIAL_PAUSE_S)]
            segments.pop()  # no pause after the last part
            voice = ToneVoice(segments, self._samplerate, max_block=self._frames)
        except (ValueError, ToneError) as err:
            self._events.log("phone.dial.refused", source="phone", detail=f"{number!r}: {err}")
            return None
        self._events.log("phone.dial", source="phone", detail=digits)
        return self.engine.play(voice, {**self._sidetone_routes(), phone_tx: 1.0})

    @Slot(bool)
    def alarm_tone(self, on: bool) -> None:
        """The local emergency alarm: headset and select speaker (the room hears it), until turned off."""
        if self._alarm_voice is not None:
            self.engine.stop(self._alarm_voice)
            self._alarm_voice = None
        if on:
            ep = self.amap.endpoints
            local = {o: 1.0 for o in (ep.headset_left, ep.headset_right, ep.select_speaker) if o is not None}
            if local:
                voice = ToneVoice(emergency_alarm(level_dbfs=self._test_level_dbfs), self._samplerate,
                                  repeat=True, max_block=self._frames)
                self._alarm_voice = self.engine.play(voice, local, operator_only=True)

    def key_tone_remote(self, radio_id: str, keyed: bool, function: str | float = "F1") -> bool:
        """Key (guard + function tone, then guard held under the voice) or unkey a tone-remote line."""
        output = self.amap.trc_outputs.get(radio_id)
        if output is None:
            return False
        if keyed:
            self.engine.key_trc(output, function, test_level_dbfs=self._test_level_dbfs,
                                sidetone=self._sidetone_routes())
        else:
            self.engine.unkey_trc(output)
        return True

    def send_tone_remote_function(self, radio_id: str, function_hz: float) -> int | None:
        """A function command on a tone-remote line: guard + function tone with no guard tone held, so
        the base station changes channel or opens its monitor without keying. The voice id, or None
        when the radio has no tone-remote line."""
        output = self.amap.trc_outputs.get(radio_id)
        if output is None:
            return None
        voice = ToneVoice(keying_sequence(function_hz, test_level_dbfs=self._test_level_dbfs), self._samplerate,
                          max_block=self._frames)
        return self.engine.play(voice, {**self._sidetone_routes(), output: 1.0})

    def tone_remote_ready(self, radio_id: str) -> bool:
        """The keying tones have gone out: voice now passes to the base station."""
        output = self.amap.trc_outputs.get(radio_id)
        return output is not None and self.engine.trc_ready(output)

    def _sidetone_routes(self) -> dict[int, float]:
        """Where the operator hears transmitted tones: both ears (or the select speaker when unplugged)."""
        if self._options.sidetone_db is None:
            return {}
        gain = db_to_gain(self._options.sidetone_db)
        ep = self.amap.endpoints
        ears = [o for o in (ep.headset_left, ep.headset_right) if o is not None]
        if self._headset_present and ears:
            return {o: gain for o in ears}
        return {ep.select_speaker: gain} if ep.select_speaker is not None else {}

    def snapshot(self) -> AudioSnapshot:
        return self._snap

    # -- internals -------------------------------------------------------------------------------
    def mix_state(self) -> MixState:
        now = time.monotonic()
        channels = tuple(
            ChannelState(name=ch.id, selected=ch.selected, volume_db=ch.volume_db, pan=ch.pan, mute=ch.muted,
                         receiving=self._hang.held(ch.id, now), keyed=ch.transmitting or ch.key_pending)
            for ch in self._console.channels
        )
        return MixState(channels=channels, patches=self._console.patches,
                        phone=PhoneState(call_active=self._phone_active),
                        headset_present=self._headset_present, options=self._options)

    def _replan(self) -> None:
        try:
            plan = compute_plan(self.mix_state(), self.amap.endpoints)
        except ValueError as err:  # a console state the planner refuses: keep the last good plan
            log.error("mix plan refused: %s", err)
            self._events.log("audio.plan.error", source=AUDIO_DEVICE_ID, detail=str(err))
            return
        if self._plan is not None and same_plan(plan, self._plan):
            return  # most console changes (a carrier edge, a unit ID) leave the mix as it is: send nothing
        self.engine.set_plan(plan)
        self._plan = plan

    def _tick(self) -> None:
        ended = set(self.engine.finished())
        changed = False
        if self._replay is not None and self._replay[1] in ended:
            self._replay = None
            changed = True
        self._ticks += 1
        if self._ticks % COUNTERS_EVERY == 0:
            changed = self._refresh_counters() or changed
        if changed:
            self._publish()
        for voice_id in sorted(ended):
            self.voice_finished.emit(voice_id)

    def _refresh_counters(self) -> bool:
        c = self.engine.counters
        counters = AudioCounters(int(c[0]), int(c[1]), int(c[2]), int(c[3]), int(c[4]), int(c[5]))
        before = (self._snap.counters, self._snap.device, self._snap.latency_ms, self._snap.restarts)
        self._snap = replace(self._snap, counters=counters)
        self._refresh_stream_info()
        return before != (self._snap.counters, self._snap.device, self._snap.latency_ms, self._snap.restarts)

    def _refresh_stream_info(self) -> None:
        if self._stream_info is None:
            return
        device, (lat_in, lat_out), restarts = self._stream_info()
        self._snap = replace(self._snap, device=device, latency_ms=(lat_in * 1000.0, lat_out * 1000.0),
                             restarts=restarts)

    def _publish(self) -> None:
        self._snap = replace(self._snap, seq=self._snap.seq + 1,
                             replaying=self._replay[0] if self._replay else "",
                             test_tones=tuple(sorted(self._test_tones)))
        self.changed.emit(self._snap)
