"""The technician's inputs tester: every footswitch, headset, MIDI and evdev event with its time and
the console action the profile binds it to (pure; no Qt).

The control hub records each ``InputChanged`` and ``ControlValue`` as it routes it (control thread);
the Technician view reads ``since(seq)`` from the GUI thread. A bounded deque behind one short lock
keeps the newest ``limit`` entries; ``seq`` numbers every entry so a reader asks only for what it has
not seen. An unbound control is recorded too ("not bound"): that is often what the technician is
looking for.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from hardware.events import ControlValue, InputChanged

LIMIT = 500
UNBOUND = "not bound"


@dataclass(frozen=True, slots=True)
class InputEntry:
    seq: int
    wall: float  # time.time() when recorded (what the technician reads)
    t: float  # the driver's monotonic stamp of the edge
    device: str
    control: str
    state: str  # "down", "up", or the fader's value as "0.42"
    action: str  # the bound action ("ptt", "select:fire", "volume:ems"), or UNBOUND

    @property
    def clock(self) -> str:
        """HH:MM:SS.mmm of ``wall``, local time."""
        return time.strftime("%H:%M:%S", time.localtime(self.wall)) + f".{int(self.wall % 1 * 1000):03d}"


class InputMonitor:
    def __init__(self, limit: int = LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"input monitor: limit must be at least 1, got {limit}")
        self.limit = limit
        self._entries: deque[InputEntry] = deque(maxlen=limit)
        self._lock = threading.Lock()
        self._seq = 0

    def record(self, ev: InputChanged | ControlValue, action: str | None) -> InputEntry:
        """One event and what it was bound to (None: nothing). Any thread."""
        if isinstance(ev, InputChanged):
            state = "down" if ev.pressed else "up"
        else:
            state = f"{ev.value:.2f}"
        with self._lock:
            self._seq += 1
            entry = InputEntry(self._seq, time.time(), ev.t, ev.device, ev.control, state, action or UNBOUND)
            self._entries.append(entry)
        return entry

    def since(self, seq: int = 0) -> list[InputEntry]:
        """Entries after ``seq`` still held, oldest first. Any thread."""
        with self._lock:
            if self._seq <= seq:
                return []
            return [e for e in self._entries if e.seq > seq]

    @property
    def last_seq(self) -> int:
        return self._seq

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
