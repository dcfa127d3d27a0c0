"""One ~30 Hz timer per window that reads the engine's meter arrays and feeds every level meter.

The audio callback overwrites ``position.audio_levels()`` every block. Each tick copies the two
small arrays once (a read may straddle two blocks; that is fine for a meter) and hands each
registered meter its column. The timer runs only while at least one registered meter is visible:
a meter being shown starts it, and a tick that finds none visible stops it, so the Call-taker view
or a hidden Technician tab costs nothing. While the sound device is lost the arrays hold the last
block before the loss; ``set_device_lost`` drops every meter to silence instead of freezing it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from PySide6.QtCore import QEvent, QObject, QTimer

from ui.widgets.level_meter import SCALE_MIN_DB, LevelMeter

log = logging.getLogger(__name__)

POLL_INTERVAL_MS = 33  # ~30 Hz: smooth to the eye, a few hundred microseconds of work
Side = Literal["in", "out"]
LevelsSource = Callable[[], tuple[np.ndarray, np.ndarray]]


def levels_source(position: Any) -> LevelsSource | None:
    """The position's ``audio_levels`` when it has an audio engine API, else None."""
    source = getattr(position, "audio_levels", None)
    return source if callable(source) else None


class MeterPoll(QObject):
    def __init__(self, source: LevelsSource | None, parent: QObject | None = None,
                 interval_ms: int = POLL_INTERVAL_MS) -> None:
        super().__init__(parent)
        self._source = source
        self._meters: dict[LevelMeter, tuple[Side, int]] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.poll)
        self._failed = False
        self._lost = False
        self.polls = 0  # ticks that read the arrays (tests, benchmarks)

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def meters(self) -> list[LevelMeter]:
        return list(self._meters)

    def add(self, meter: LevelMeter, side: Side, column: int) -> None:
        """Feed ``meter`` from input or output ``column`` (0-based) of the engine."""
        if side not in ("in", "out"):
            raise ValueError(f"meter side must be 'in' or 'out', not {side!r}")
        if meter not in self._meters:
            meter.installEventFilter(self)
            # A tile deleted with its meter must not leave a dangling entry behind.
            meter.destroyed.connect(lambda _obj=None, m=meter: self._meters.pop(m, None))
        self._meters[meter] = (side, column)
        if meter.isVisible():
            self._start()

    def remove(self, meter: LevelMeter) -> None:
        if self._meters.pop(meter, None) is not None:
            meter.removeEventFilter(self)

    def set_device_lost(self, lost: bool) -> None:
        """No blocks are coming: show silence rather than the last block's levels."""
        if lost == self._lost:
            return
        self._lost = lost
        if lost:
            self._timer.stop()
            for meter in self._meters:
                meter.reset()
        elif any(meter.isVisible() for meter in self._meters):
            self._start()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show:
            self._start()
        return False

    def _start(self) -> None:
        if self._source is not None and not self._failed and not self._lost and not self._timer.isActive():
            self._timer.start()

    def poll(self) -> None:
        """One tick: copy the arrays, update the visible meters; stop when none is visible."""
        visible = [(meter, where) for meter, where in self._meters.items() if meter.isVisible()]
        if not visible or self._source is None:
            self._timer.stop()
            return
        try:
            live_in, live_out = self._source()
            levels = {"in": np.array(live_in, dtype=np.float32), "out": np.array(live_out, dtype=np.float32)}
        except Exception:  # a broken source must not take the window down with it
            log.exception("audio meter levels could not be read; meters stopped")
            self._failed = True
            self._timer.stop()
            return
        self.polls += 1
        for meter, (side, column) in visible:
            array = levels[side]
            if array.ndim == 2 and array.shape[0] >= 2 and 0 <= column < array.shape[1]:
                meter.set_level(float(array[0, column]), float(array[1, column]))
            else:  # no engine yet, or a column the device does not have
                meter.set_level(SCALE_MIN_DB, SCALE_MIN_DB)
