"""An event sink tests can wait on, and matchers for the driver events they wait for.

Drivers call the sink from their own threads (serial watchers, rtmidi's thread, rigctld's client), so
the recorder keeps events under a condition and ``wait_for`` wakes on each one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from hardware.events import CarrierChanged, InputChanged, KeyStateChanged, LinkChanged, LinkState


class Recorder:
    """Keeps every event; ``on_event`` (optional) runs first, on the driver's thread."""

    def __init__(self, on_event: Callable[[Any], None] | None = None) -> None:
        self.events: list = []
        self._cond = threading.Condition()
        self._on_event = on_event

    def __call__(self, event: Any) -> None:
        if self._on_event is not None:
            self._on_event(event)
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_for(self, match: Callable[[Any], bool], *, after: int = 0, timeout: float = 5.0) -> Any:
        """The first event at index >= ``after`` that ``match`` accepts; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self.events[after:]:
                    if match(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"no matching event within {timeout} s; got {self.events[after:]}")
                self._cond.wait(remaining)

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def since(self, mark: int) -> list:
        with self._cond:
            return list(self.events[mark:])

    def of(self, kind: type) -> list:
        with self._cond:
            return [e for e in self.events if isinstance(e, kind)]


def is_link(state: LinkState) -> Callable[[Any], bool]:
    return lambda e: isinstance(e, LinkChanged) and e.state is state


def is_key(keyed: bool, error: bool | None = None) -> Callable[[Any], bool]:
    def match(e: Any) -> bool:
        return isinstance(e, KeyStateChanged) and e.keyed == keyed and (error is None or bool(e.error) == error)
    return match


def is_carrier(active: bool) -> Callable[[Any], bool]:
    return lambda e: isinstance(e, CarrierChanged) and e.active == active


def is_input(control: str | None, pressed: bool) -> Callable[[Any], bool]:
    """An InputChanged of ``control`` (None: any control) to ``pressed``."""
    return lambda e: (isinstance(e, InputChanged) and (control is None or e.control == control)
                      and e.pressed is pressed)


def started_drivers(make_driver: Callable[..., Any]):
    """A fixture's body: yields ``make(sink, **kw)``, which builds a driver with ``make_driver`` and
    starts it; at teardown every driver made must stop within 5 s."""
    made: list = []

    def make(sink: Any, **kw: Any) -> Any:
        driver = make_driver(sink, **kw)
        driver.start()
        made.append(driver)
        return driver

    yield make
    for driver in made:
        assert driver.stop(5.0)
