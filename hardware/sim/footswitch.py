"""A simulated footswitch: scripted presses, or pressed and released on demand, on its own thread.

``press``/``release`` may be called from any thread (tests, the technician view); the edge is
reported from the footswitch's thread with a little jitter, as a modem-line watcher would.
``unplug``/``plug`` simulate the cable being pulled: the link goes down and no more edges arrive
(the console must treat a switch lost while pressed as released).
"""

from __future__ import annotations

import random
import time

from hardware.events import EventSink, InputChanged, LinkChanged, LinkState, now
from hardware.worker import DriverThread


class SimulatedFootswitch(DriverThread):
    def __init__(
        self,
        device_id: str,
        sink: EventSink,
        *,
        presses: list[tuple[float, float]] | tuple = (),
        seed: int | None = None,
        jitter_ms: float = 1.0,
    ) -> None:
        super().__init__(device_id, sink)
        self.presses = sorted(presses)
        self.jitter_s = jitter_ms / 1000.0
        self._rng = random.Random(seed)
        self._pressed = False
        self._plugged = True

    def press(self) -> None:
        self.post(self._edge, True)

    def release(self) -> None:
        self.post(self._edge, False)

    def unplug(self) -> None:
        self.post(self._set_plugged, False)

    def plug(self) -> None:
        self.post(self._set_plugged, True)

    def run_loop(self) -> None:
        self.emit(LinkChanged(self.device_id, LinkState.UP, "simulated"))
        started = time.monotonic()
        # The script is a list of (start_s, hold_s); run it, then serve on-demand commands.
        for start_s, hold_s in self.presses:
            self.run_commands_until(started + start_s)
            if self.stopping:
                return
            self._edge(True)
            self.run_commands_until(time.monotonic() + hold_s)
            self._edge(False)
        while not self.stopping:
            self.wait_command(None)

    def _edge(self, pressed: bool) -> None:
        if not self._plugged or pressed == self._pressed:
            return
        if self.jitter_s > 0:
            time.sleep(self._rng.uniform(0, self.jitter_s))
        self._pressed = pressed
        self.emit(InputChanged(self.device_id, pressed, now()))

    def _set_plugged(self, plugged: bool) -> None:
        if plugged == self._plugged:
            return
        self._plugged = plugged
        if not plugged:
            self._pressed = False  # nothing more can be known about the switch
            self.emit(LinkChanged(self.device_id, LinkState.DOWN, "cable unplugged"))
        else:
            self.emit(LinkChanged(self.device_id, LinkState.UP, "simulated"))
