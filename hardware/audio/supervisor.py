"""Keeps one audio stream running: open, watch the heartbeat, report, close, rescan, reopen.

The supervisor's thread ("audio-supervisor") opens the stream with its own callback wrapper, which
counts blocks in a preallocated int64 array (the heartbeat) and calls the engine. The stream is
reported UP, with its latencies, once the callback runs, and DOWN when the stream fails: it cannot
be opened, reports inactive, stops calling back for max(0.5 s, 20 blocks), or the engine callback
raised. Then the stream is closed on this thread, the backend rescans its devices, and the stream is
reopened after 0.5, 1, 2, 4, 5, 5... s.

The wrapper never logs, formats or allocates: an exception from the engine zero-fills ``out``, is
counted and kept, and the stream stays silent until this thread has reported it and restarted.

A close that hangs (PortAudio waiting on a wedged sound server) is abandoned after a time-out with
a warning; the backend will not re-initialise the library until that close has returned. When the
library cannot recover at all in this process (PortAudio after its JACK server died), the link is
reported FAULT: only a restart of the console helps.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from hardware.audio.base import AudioBackend, AudioCallback, AudioRestartRequired, AudioStream, StreamSpec
from hardware.events import EventSink, LinkChanged, LinkState
from hardware.worker import DriverThread

log = logging.getLogger(__name__)

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 5.0)
STALL_MIN_S = 0.5
STALL_BLOCKS = 20
FIRST_CALLBACK_S = 2.0  # a device that starts but never calls back within this is reported DOWN
HEALTHY_S = 10.0  # a stream that ran this long resets the backoff
CLOSE_TIMEOUT_S = 1.0

_BLOCKS, _ERRORS, _THREAD = 0, 1, 2


class AudioSupervisor(DriverThread):
    def __init__(self, backend: AudioBackend, spec: StreamSpec, callback: AudioCallback, sink: EventSink,
                 device_id: str = "audio") -> None:
        super().__init__(device_id, sink)
        self._thread.name = "audio-supervisor"
        self.backend = backend
        self.spec = spec
        self._callback = callback
        self.stall_s = max(STALL_MIN_S, STALL_BLOCKS * spec.period_s)
        self.poll_s = min(0.05, self.stall_s / 5)
        self.restarts = 0
        self.latency: tuple[float, float] = (0.0, 0.0)
        self.device_name = ""
        self.last_error = ""
        # Written only by the callback; read by anyone.
        self._counts = np.zeros(3, dtype=np.int64)  # [blocks, callback errors, callback thread's native id]
        self._callback_error: BaseException | None = None
        self._stream: AudioStream | None = None
        self._stop_deadline = float("inf")

    # -- any thread -------------------------------------------------------------------------------------
    @property
    def blocks(self) -> int:
        """Callback calls so far (the heartbeat)."""
        return int(self._counts[_BLOCKS])

    @property
    def callback_errors(self) -> int:
        return int(self._counts[_ERRORS])

    @property
    def callback_thread_id(self) -> int:
        """The native id of the thread the running stream calls back on (0 before its first block)."""
        return int(self._counts[_THREAD])

    def stop(self, timeout: float = 2.0) -> None:
        """Close the stream and end the thread, within about ``timeout`` seconds whatever the device does."""
        self._stop_deadline = time.monotonic() + timeout * 0.8  # leave the join a margin
        super().stop(timeout)

    # -- the audio device's callback thread -----------------------------------------------------------
    def _on_block(self, inp: np.ndarray, out: np.ndarray, status: int) -> None:
        self._counts[_BLOCKS] += 1
        if not self._counts[_THREAD]:
            self._counts[_THREAD] = threading.get_native_id()  # once per stream
        if self._callback_error is not None:  # failed: silent until the supervisor restarts the stream
            out.fill(0.0)
            return
        try:
            self._callback(inp, out, status)
        except Exception as exc:  # noqa: BLE001 - any engine failure: silence, then a restart
            out.fill(0.0)
            self._counts[_ERRORS] += 1
            self._callback_error = exc

    # -- the supervisor's thread ------------------------------------------------------------------------
    def run_loop(self) -> None:
        attempt = 0
        while not self.stopping:
            try:
                started = self._open(rescan=attempt > 0)
            except AudioRestartRequired as exc:
                self._fault(str(exc))
                return
            except Exception as exc:  # noqa: BLE001 - AudioDeviceError and whatever a library raises
                self._close()  # opened but would not start
                self.last_error = str(exc)
                self._down(f"cannot open {self._describe()}: {exc}")
            else:
                reason = self._watch()
                if self.stopping:
                    return  # on_exit closes
                self._down(reason)  # first: closing a failed stream may take a while
                self.restarts += 1
                if time.monotonic() - started >= HEALTHY_S:
                    attempt = 0
                self._close()
            if self.stopping:
                return
            self.run_commands_until(time.monotonic() + BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            attempt += 1

    def on_exit(self) -> None:
        self._close()

    def _open(self, *, rescan: bool) -> float:
        if rescan:
            self.backend.rescan()
        self._callback_error = None
        self._counts[_THREAD] = 0  # a new stream may call back on a new thread
        stream = self.backend.open(self.spec, self._on_block)
        self._stream = stream
        stream.start()
        self.device_name = stream.device_name
        return time.monotonic()

    def _watch(self) -> str:
        """Wait for the first callback (then report UP), then until the stream fails; the reason."""
        stream = self._stream
        assert stream is not None
        seen = self.blocks
        last_beat = time.monotonic()
        up = False
        while not self.stopping:
            self.run_commands_until(time.monotonic() + self.poll_s)
            now = time.monotonic()
            if self._callback_error is not None:
                error = self._callback_error
                self.last_error = f"{type(error).__name__}: {error}"
                log.error("audio callback raised on %s: %s", stream.device_name, self.last_error,
                          exc_info=(type(error), error, error.__traceback__))
                return f"audio callback failed ({self.last_error}); restarting the stream"
            blocks = self.blocks
            if blocks != seen:
                seen, last_beat = blocks, now
                if not up:
                    up = True
                    self._up(stream)
            if not stream.active:
                self.last_error = f"{stream.device_name} stopped (stream inactive)"
                return self.last_error
            limit = self.stall_s if up else max(FIRST_CALLBACK_S, self.stall_s)
            if now - last_beat > limit:
                what = "no audio callback" if up else "no audio callback after starting"
                self.last_error = f"{stream.device_name}: {what} for {now - last_beat:.1f} s"
                return self.last_error
        return "stopped"

    def _up(self, stream: AudioStream) -> None:
        try:
            self.latency = stream.latency
        except Exception:  # noqa: BLE001 - a latency we cannot read must not stop the audio
            self.latency = (0.0, 0.0)
        inp, out = self.latency
        self.emit(LinkChanged(self.device_id, LinkState.UP,
                              f"{stream.device_name} in {inp * 1000:.1f} ms / out {out * 1000:.1f} ms"))

    def _down(self, reason: str) -> None:
        log.warning("audio %s down: %s", self.device_id, reason)
        self.emit(LinkChanged(self.device_id, LinkState.DOWN, reason))

    def _fault(self, reason: str) -> None:
        self.last_error = reason
        log.error("audio %s: %s", self.device_id, reason)
        self.emit(LinkChanged(self.device_id, LinkState.FAULT, reason))
        while not self.stopping:  # nothing to retry; wait to be stopped
            self.wait_command(None)

    def _close(self) -> None:
        """Close the stream on a helper thread and wait a bounded time for it."""
        stream, self._stream = self._stream, None
        self.latency = (0.0, 0.0)
        if stream is None:
            return
        closer = threading.Thread(target=stream.close, name="audio-close", daemon=True)
        closer.start()
        closer.join(max(0.05, min(CLOSE_TIMEOUT_S, self._stop_deadline - time.monotonic())))
        if closer.is_alive():
            # The backend refuses to rescan until this close has returned (base.portaudio_closing).
            log.warning("audio %s: closing %s did not finish in time; left to finish on its own",
                        self.device_id, stream.device_name)

    def _describe(self) -> str:
        return f"{self.backend.name} device {self.spec.device or '(default)'!s}"
