"""Software carrier for radios with no COR line: polls the engine's receive meters on the control thread.

Every ``poll_ms`` the poller reads each watched radio's receive RMS (the engine's ``input_levels``,
written by the audio callback every block) and feeds it to that radio's ``VoxDetector``
(app/dsp/vox.py); an edge is reported as ``CarrierChanged`` through the event sink, the same door
every driver uses, so the console, patches and instant recall treat it like a COR line.

When the audio callback stops running (a lost device) the meters freeze at their last block; the
poller sees the block counter stand still and reads silence instead, so a carrier never sticks open.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, QTimer, Slot

from app.dsp.meters import FLOOR_DBFS
from app.dsp.vox import TIME_EPSILON_S, VoxDetector
from hardware.events import CarrierChanged, DeviceEvent, EventSink

POLL_MS = 10
STALE_S = 0.1  # no audio block for this long: the meters are stale, read them as silence

__all__ = ["POLL_MS", "STALE_S", "VoxDetector", "VoxPoller", "vox_radios", "without_carrier"]


class VoxPoller(QObject):
    def __init__(self, levels: np.ndarray, blocks: np.ndarray, radios: Mapping[str, tuple[int, VoxDetector]],
                 sink: EventSink, *, poll_ms: int = POLL_MS, clock: Callable[[], float] = time.monotonic,
                 parent: QObject | None = None) -> None:
        """``levels``: the engine's (2, n_in) input meters (row 1 RMS dBFS); ``blocks``: its counters
        (element 0 counts audio blocks); ``radios``: radio id -> (input column, its detector)."""
        super().__init__(parent)
        for radio_id, (column, _detector) in radios.items():
            if not 0 <= column < levels.shape[1]:
                raise ValueError(f"vox: radio {radio_id!r} listens on input column {column}, "
                                 f"outside the device's 0..{levels.shape[1] - 1}")
        self._levels = levels
        self._blocks = blocks
        self._radios = dict(radios)
        self._sink = sink
        self._clock = clock
        self._last_blocks = -1
        self._last_progress = clock()
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self.poll)

    @property
    def watching(self) -> dict[str, int]:
        """Radio id -> the input column its carrier is judged on."""
        return {radio_id: column for radio_id, (column, _d) in self._radios.items()}

    def active(self, radio_id: str) -> bool:
        return self._radios[radio_id][1].active

    @Slot()
    def start(self) -> None:
        if self._radios:
            self._timer.start()

    @Slot()
    def stop(self) -> None:
        self._timer.stop()

    @Slot()
    def poll(self) -> None:
        """One reading of every watched radio (the timer's tick; tests may call it directly)."""
        now = self._clock()
        blocks = int(self._blocks[0])
        if blocks != self._last_blocks:
            self._last_blocks, self._last_progress = blocks, now
        stale = now - self._last_progress + TIME_EPSILON_S >= STALE_S
        rms = self._levels[1]
        for radio_id, (column, detector) in self._radios.items():
            level = FLOOR_DBFS if stale else float(rms[column])
            edge = detector.update(level, now)
            if edge is not None:
                self._sink(CarrierChanged(radio_id, edge, t=now))


def vox_radios(radios: Iterable[Any], radio_rx: Mapping[str, int]) -> dict[str, tuple[int, VoxDetector]]:
    """The profile's radios with ``vox.enabled`` and a receive column: id -> (column, detector)."""
    return {
        r.id: (radio_rx[r.id], VoxDetector(r.vox.threshold_dbfs, r.vox.attack_ms / 1000.0, r.vox.hang_ms / 1000.0))
        for r in radios if r.vox.enabled and r.id in radio_rx
    }


def without_carrier(sink: EventSink) -> EventSink:
    """``sink`` for a radio whose carrier comes from VOX: whatever carrier its driver reports is dropped."""

    def forward(event: DeviceEvent) -> None:
        if not isinstance(event, CarrierChanged):
            sink(event)

    return forward
