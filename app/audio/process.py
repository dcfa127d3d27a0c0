"""Runs the sound device in its own process (app/audio/host.py) and keeps it running.

The console keeps the engine's control side (plans, voices, ids, recall index) and sends every new
mix to the audio process; the callback's arrays live in shared memory both map (app/audio/buffers.py),
so meters, counters, ended voices, tone-remote keying and instant recall read exactly as they do
when the callback runs in the console.

This driver's thread ("audio-process") starts the process, forwards its reports (the stream's
UP/DOWN with latency) to the console and, when the process ends or says its sound library can only
recover in a fresh process (PortAudio after its JACK server died), reports DOWN and starts a new
one after 0.5, 1, 2, 4, 5... s. So a lost sound server never needs a restart of the console.

Sending never blocks the control thread: ``publish`` only stores the newest mix and wakes the
"audio-send" thread, which sends the newest one it finds (a mix is complete, so skipping older
ones loses nothing). Voices go across once; later mixes name them by id.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from typing import Any

from app.audio.buffers import SharedBuffers
from app.audio.engine import outgoing_mix
from app.audio.host import HostConfig, StreamInfo, main
from hardware.events import EventSink, LinkChanged, LinkState
from hardware.worker import DriverThread

log = logging.getLogger(__name__)

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 5.0)
HEALTHY_S = 10.0  # a process that ran this long resets the backoff
STOP_GRACE_S = 2.5  # the audio process's own stop takes up to 2 s (bounded stream close)


class AudioProcess(DriverThread):
    def __init__(self, config: HostConfig, shared: SharedBuffers, sink: EventSink) -> None:
        super().__init__(config.device_id, sink)
        self._thread.name = "audio-process"
        self.config = config
        self.shared = shared
        self.spawns = 0
        self.info = StreamInfo()
        self.pid = 0
        self._context = multiprocessing.get_context("spawn")
        self._process: Any = None
        self._commands_out: Any = None  # our end of the command pipe while a process runs
        self._send_lock = threading.Lock()  # one sender at a time on the pipe
        self._wake = threading.Condition()
        self._pending: Any = None  # the newest mix not yet sent
        self._latest: Any = None  # the newest mix, resent in full to a new process
        self._sent: set[int] = set()  # voice ids the running process already has
        self._sender = threading.Thread(target=self._send_loop, name="audio-send", daemon=True)

    # -- any thread ------------------------------------------------------------------------------
    def publish(self, mix: Any) -> None:
        """The engine's new mix (control thread); returns at once."""
        with self._wake:
            self._pending = self._latest = mix
            self._wake.notify()

    def stream_info(self) -> tuple[str, tuple[float, float], int]:
        info = self.info
        return info.device_name, info.latency, info.restarts + max(self.spawns - 1, 0)

    def start(self) -> None:
        self._sender.start()
        super().start()

    def stop(self, timeout: float = 3.0) -> bool:
        stopped = super().stop(timeout)
        with self._wake:
            self._wake.notify()
        self._sender.join(1.0)
        return stopped

    # -- the driver's thread -----------------------------------------------------------------------
    def run_loop(self) -> None:
        attempt = 0
        while not self.stopping:
            started = time.monotonic()
            reason = self._run_once()
            if self.stopping:
                return
            log.warning("audio process: %s", reason)
            self.emit(LinkChanged(self.device_id, LinkState.DOWN, reason))
            if time.monotonic() - started >= HEALTHY_S:
                attempt = 0
            self.run_commands_until(time.monotonic() + BACKOFF_S[min(attempt, len(BACKOFF_S) - 1)])
            attempt += 1

    def on_exit(self) -> None:
        self._end_process()

    def _run_once(self) -> str:
        """Start a process and relay its reports until it ends or must be replaced; why it ended."""
        commands_in, commands_out = self._context.Pipe(duplex=False)
        reports_in, reports_out = self._context.Pipe(duplex=False)
        process = self._context.Process(target=main, args=(self.config, commands_in, reports_out),
                                        name=f"dispatch-console {self.device_id}", daemon=True)
        try:
            process.start()
        except Exception as exc:  # noqa: BLE001 - out of memory, no executable: retried with backoff
            return f"cannot start the audio process: {exc}"
        finally:
            commands_in.close()
            reports_out.close()
        self.spawns += 1
        self._process, self.pid = process, process.pid
        with self._wake:
            self._commands_out = commands_out
            self._sent.clear()
            self._pending = self._latest  # the new process starts silent: give it the whole mix
            self._wake.notify()
        try:
            return self._relay(reports_in, process)
        finally:
            self._end_process()
            reports_in.close()

    def _relay(self, reports: Any, process: Any) -> str:
        while not self.stopping:
            try:
                ready = reports.poll(0.1)
                message = reports.recv() if ready else None
            except (EOFError, OSError):
                process.join(1.0)
                return f"the audio process ended (exit code {process.exitcode}); starting a new one"
            if message is None:
                if not process.is_alive():
                    return f"the audio process ended (exit code {process.exitcode}); starting a new one"
                continue
            _, event, info = message
            if info.scheduling and info.scheduling != self.info.scheduling:
                log.info("audio process %s: %s", process.pid, info.scheduling)
            self.info = info
            if isinstance(event, LinkChanged) and (event.state is LinkState.FAULT or info.jack_lost):
                # Only a fresh process can reconnect: replace this one instead of giving up.
                return f"{event.detail}; starting a new audio process"
            self.emit(event)
        return "stopped"

    def _end_process(self) -> None:
        with self._wake:
            commands, self._commands_out = self._commands_out, None
        process, self._process = self._process, None
        if commands is not None:
            try:
                with self._send_lock:
                    commands.send(("stop",))
            except (OSError, ValueError):
                pass
            commands.close()
        if process is None:
            return
        process.join(STOP_GRACE_S)
        if process.is_alive():
            log.warning("audio process %s did not stop in %.1f s; killing it", process.pid, STOP_GRACE_S)
            process.kill()
            process.join(1.0)

    # -- the sender thread --------------------------------------------------------------------------
    def _send_loop(self) -> None:
        while True:
            with self._wake:
                while (self._pending is None or self._commands_out is None) and not self.stopping:
                    self._wake.wait()
                if self.stopping:
                    return
                mix, self._pending = self._pending, None
                pipe = self._commands_out
                message = ("mix", outgoing_mix(mix, self._sent))
            try:
                with self._send_lock:
                    pipe.send(message)
            except (OSError, ValueError):
                pass  # the process is ending; the next one gets the whole mix
            except Exception:  # noqa: BLE001 - a mix that cannot be sent must not end the sender
                log.exception("audio process: could not send a mix")
