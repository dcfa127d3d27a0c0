"""A tone-remote (TRC) radio: keys a base station over an audio line through the audio engine.

Keying sends the high-level guard tone, the selected function tone (F1 = the radio's function_hz,
F2..Fn from its ``functions`` table), then holds the low-level guard tone under the voice; the
engine gates the voice path until the keying tones are out. The radio reports itself keyed only
then (``trc_ready``, polled on the control thread), so the console shows the channel key-pending for
the ~170 ms of tones and the operator does not talk over them. ``select_function`` picks the function
(the base station's channel) for the next keying and sends it at once as a function command
(guard + function, no guard held: the station changes channel without transmitting); ``monitor``
sends the monitor function the same way.

Threads: the object lives on the control thread with the AudioService (it is its child) and touches
the engine's control side only there. ``key(False)`` is the fail-safe path and may be called from
any thread: on the control thread the guard tone stops at the next audio block; from another thread
the request is queued to the control thread (the engine's control side has one owner), or done at
once when that thread has stopped. A lost sound device ends every tone anyway. The radio's link
follows the sound device: it is up when the audio is up.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, QTimer, Signal, Slot

from app.dsp.tones import ToneError
from app.dsp.trc import GUARD_HZ, function_tone
from hardware.events import DeviceEvent, EventSink, KeyStateChanged, LinkChanged, LinkState

log = logging.getLogger(__name__)

POLL_MS = 5  # how often a pending key checks whether the keying tones are out
KEY_TIMEOUT_S = 2.0  # keying tones not out by then: the audio is stalled; give up and say so
_LINK_STATES = {state.value: state for state in LinkState}


class ToneRemoteRadio(QObject):
    _key_request = Signal(bool)  # from another thread, queued to this object's thread
    _report = Signal(object)  # events leave on the next turn of the loop: never re-entering the console
    _link_check = Signal()

    def __init__(self, device_id: str, sink: EventSink, audio: Any, *, function_hz: float = 1950.0,
                 monitor_hz: float = 2050.0, guard_hz: float = GUARD_HZ, functions: Mapping[str, float] = {},
                 poll_ms: int = POLL_MS, key_timeout_s: float = KEY_TIMEOUT_S, parent: QObject | None = None) -> None:
        """``audio`` is the position's AudioService (key_tone_remote, tone_remote_ready,
        send_tone_remote_function, snapshot, changed, amap). Raises ValueError naming a bad tone."""
        super().__init__(parent if parent is not None else audio)
        if abs(guard_hz - GUARD_HZ) > 0.5:
            raise ValueError(f"radio {device_id!r}: guard_hz {guard_hz:g} Hz is not supported; "
                             f"the engine sends and notches {GUARD_HZ:g} Hz")
        table = {"F1": float(function_hz), **{name: float(hz) for name, hz in functions.items()}}
        try:
            self.functions = {name: function_tone(hz) for name, hz in table.items()}
            self.monitor_hz = function_tone(monitor_hz)
        except ToneError as err:
            raise ValueError(f"radio {device_id!r}: {err}") from None
        self.device_id = device_id
        self._sink = sink
        self._audio = audio
        self._function = "F1"
        self._state = "idle"  # idle | pending (keying tones going out) | keyed (voice passes)
        self._pending_since = 0.0
        self._key_timeout_s = key_timeout_s
        self._command_voice: int | None = None  # a function command still playing
        self._link: LinkState | None = None
        self._started = False
        self._poll = QTimer(self)
        self._poll.setTimerType(Qt.TimerType.PreciseTimer)
        self._poll.setInterval(poll_ms)
        self._poll.timeout.connect(self._check_ready)
        self._key_request.connect(self._set_key)
        self._report.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._link_check.connect(self._follow_audio)
        audio.changed.connect(self._on_audio)

    # -- the driver interface ---------------------------------------------------------------------
    def start(self) -> None:
        self._started = True
        self._link_check.emit()  # report the link as the sound device stands (on this object's thread)

    def stop(self, timeout: float = 2.0) -> bool:
        self.key(False)
        self._started = False
        return True

    def key(self, on: bool) -> None:
        """Key (guard + function tone, then guard held) or unkey. ``key(False)`` is safe from any thread."""
        owner = self.thread()
        if QThread.currentThread() == owner or not owner.isRunning():
            self._set_key(on)
        else:
            self._key_request.emit(on)

    @property
    def keyed(self) -> bool:
        """Keyed or keying (a fail-safe sweep treats both as on the air)."""
        return self._state != "idle"

    @property
    def key_pending(self) -> bool:
        return self._state == "pending"

    @property
    def function(self) -> str:
        """The function (base station channel) the next keying selects."""
        return self._function

    # -- channel selection and monitor (control thread) -------------------------------------------
    def select_function(self, name: str) -> float:
        """Pick the function ("F2") for the next keying and send it now as a function command when
        the line is idle; returns its tone in Hz. Raises ValueError for a name the radio does not have."""
        found = next((key for key in self.functions if key.lower() == name.strip().lower()), None)
        if found is None:
            raise ValueError(f"radio {self.device_id!r} has no function {name!r} "
                             f"(it has {', '.join(self.functions)})")
        self._function = found
        hz = self.functions[found]
        if self._state == "idle" and not self._problem():
            self._send_command(hz)
        return hz

    tune = select_function  # the name other radios with channels use

    def monitor(self, on: bool = True) -> None:
        """Send the monitor function (guard + monitor tone, nothing held): the base station opens its
        squelch. Nothing is sent for ``on=False`` or while the line is keyed."""
        if not on or self._state != "idle":
            return
        problem = self._problem()
        if problem:
            log.warning("monitor on %s not sent: %s", self.device_id, problem)
            return
        self._send_command(self.monitor_hz)

    # -- internals (this object's thread) ---------------------------------------------------------
    @Slot(bool)
    def _set_key(self, on: bool) -> None:
        if on:
            self._key_up()
        else:
            self._unkey()

    def _key_up(self) -> None:
        if self._state != "idle":
            return  # already keyed or keying: one sequence is enough
        problem = self._problem()
        if problem:
            self._emit(KeyStateChanged(self.device_id, False, error=problem))
            return
        self._stop_command()
        hz = self.functions[self._function]
        try:
            self._audio.key_tone_remote(self.device_id, True, hz)
        except (ValueError, ToneError) as err:  # e.g. every voice slot busy: the line stays unkeyed
            self._audio.key_tone_remote(self.device_id, False)
            self._emit(KeyStateChanged(self.device_id, False, error=f"tone-remote keying refused: {err}"))
            return
        self._state = "pending"
        self._pending_since = time.monotonic()
        self._poll.start()

    def _unkey(self) -> None:
        was = self._state
        self._state = "idle"
        if self._poll.isActive() and QThread.currentThread() == self.thread():
            self._poll.stop()
        try:
            self._audio.key_tone_remote(self.device_id, False)  # whatever we think, make sure
        except Exception:  # noqa: BLE001 - the fail-safe path must not raise
            log.exception("could not unkey tone-remote line %s", self.device_id)
        if was != "idle":
            self._emit(KeyStateChanged(self.device_id, False))

    @Slot()
    def _check_ready(self) -> None:
        if self._state != "pending":
            self._poll.stop()
            return
        if self._audio.tone_remote_ready(self.device_id):
            self._state = "keyed"
            self._poll.stop()
            self._emit(KeyStateChanged(self.device_id, True))
        elif time.monotonic() - self._pending_since > self._key_timeout_s:
            self._poll.stop()
            self._state = "idle"
            self._audio.key_tone_remote(self.device_id, False)
            self._emit(KeyStateChanged(self.device_id, False, error=(
                f"keying tones not sent within {self._key_timeout_s:g} s: the sound device is not playing")))

    def _problem(self) -> str:
        """Why the line cannot be keyed now ("" when it can)."""
        if self.device_id not in self._audio.amap.trc_outputs:
            return f"tone-remote radio {self.device_id!r} has no transmit line on the sound device"
        snap = self._audio.snapshot()
        if snap.state != LinkState.UP.value:
            return f"sound device is {snap.state}" + (f": {snap.detail}" if snap.detail else "")
        return ""

    def _send_command(self, hz: float) -> None:
        self._stop_command()
        self._command_voice = self._audio.send_tone_remote_function(self.device_id, hz)

    def _stop_command(self) -> None:
        if self._command_voice is not None:
            self._audio.engine.stop(self._command_voice)  # an ended voice's id is ignored
            self._command_voice = None

    @Slot(object)
    def _on_audio(self, snap: Any) -> None:
        if snap.state != LinkState.UP.value and self._state != "idle":
            self._unkey()  # the line went silent with the device: say so at once
        self._follow_audio()

    @Slot()
    def _follow_audio(self) -> None:
        if not self._started:
            return
        if self.device_id not in self._audio.amap.trc_outputs:
            state, detail = LinkState.FAULT, "no transmit line on the sound device"
        else:
            snap = self._audio.snapshot()
            state = _LINK_STATES.get(snap.state, LinkState.UNKNOWN)
            detail = f"sound device {snap.state}" + (f": {snap.detail}" if snap.detail else "")
        if state is not self._link and state is not LinkState.UNKNOWN:
            self._link = state
            self._emit(LinkChanged(self.device_id, state, detail))

    def _emit(self, event: DeviceEvent) -> None:
        if QThread.currentThread() == self.thread() and self.thread().isRunning():
            self._report.emit(event)
        else:
            self._sink(event)  # the control thread has stopped: nobody to re-enter

    @Slot(object)
    def _deliver(self, event: DeviceEvent) -> None:
        self._sink(event)
