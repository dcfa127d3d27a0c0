"""What every radio driver offers the console, whatever it talks to."""

from __future__ import annotations

from typing import Protocol


class RadioDriver(Protocol):
    """A transmitter/receiver the console can key and hear about.

    ``key`` is called from the control thread and must not block on the device: a driver queues the
    request to its own thread (or does a non-blocking ioctl) and reports what actually happened with a
    ``KeyStateChanged`` event. ``key(False)`` must be safe to call from any thread at any time, as often
    as wanted: it is the fail-safe path. ``stop`` leaves the transmitter unkeyed before it returns.
    """

    device_id: str

    def start(self) -> None: ...

    def key(self, on: bool) -> None: ...

    def stop(self, timeout: float = 2.0) -> bool: ...
