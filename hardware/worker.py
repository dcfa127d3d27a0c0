"""A driver's own thread: a named daemon thread with a stop flag and a command queue.

Drivers subclass ``DriverThread`` and implement ``run_loop``. Commands from other threads
(``key``, ``answer``...) go through ``post`` so the device is only ever touched by its own thread.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Any, Callable

from hardware.events import DeviceEvent, DeviceFault, EventSink

log = logging.getLogger(__name__)


class DriverThread:
    """Owns one thread. ``start`` once; ``stop`` asks it to end and waits, naming it if it won't."""

    def __init__(self, device_id: str, sink: EventSink) -> None:
        self.device_id = device_id
        self._sink = sink
        self._stopping = threading.Event()
        self._commands: queue.SimpleQueue[tuple[Callable[..., Any], tuple]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=f"driver:{device_id}", daemon=True)

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> bool:
        """Ask the thread to end and wait up to ``timeout``; False (logged) if it did not."""
        self._stopping.set()
        self._commands.put((_noop, ()))  # wake a thread blocked on the queue
        self.on_stop_requested()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("driver thread %r did not stop within %.1f s", self._thread.name, timeout)
            return False
        return True

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    # -- for subclasses ----------------------------------------------------------------------
    def emit(self, event: DeviceEvent) -> None:
        """Report to the app. A sink that raises must not kill the driver."""
        try:
            self._sink(event)
        except Exception:  # noqa: BLE001 - the driver must survive a broken listener
            log.exception("event sink raised for %s", self.device_id)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` on the driver thread."""
        self._commands.put((fn, args))

    def wait_command(self, timeout: float | None) -> bool:
        """Block up to ``timeout`` for one command and run it; False when the wait timed out.

        Driver loops call this instead of sleeping, so commands are served at once and
        ``stop`` wakes them immediately.
        """
        try:
            fn, args = self._commands.get(timeout=timeout) if timeout is None or timeout > 0 else self._commands.get_nowait()
        except queue.Empty:
            return False
        fn(*args)
        return True

    def run_commands_until(self, deadline: float) -> None:
        """Serve commands until ``time.monotonic()`` reaches ``deadline`` or the thread is asked to stop."""
        while not self.stopping:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.wait_command(remaining)

    def run_loop(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def on_stop_requested(self) -> None:
        """Hook: unblock device I/O (close a port) so the loop sees ``stopping``."""

    def on_exit(self) -> None:
        """Hook: always runs on the driver thread as it ends (make the device safe here)."""

    # -- internals ---------------------------------------------------------------------------
    def _main(self) -> None:
        try:
            self.run_loop()
        except Exception as exc:  # noqa: BLE001 - report, never die silently
            log.exception("driver %s failed", self.device_id)
            self.emit(DeviceFault(self.device_id, f"{type(exc).__name__}: {exc}"))
        finally:
            try:
                self.on_exit()
            except Exception:  # noqa: BLE001
                log.exception("driver %s failed while making itself safe", self.device_id)


def _noop() -> None:
    pass
