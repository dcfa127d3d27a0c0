"""The header clock: 24-hour time with seconds, the date under it."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from ui.widgets.plain import plain_label
from ui.widgets.times import date_text


class ClockWidget(QWidget):
    # Ticking four times a second keeps the shown second within 250 ms of the real one
    # without a timer that has to be re-aligned after every wake-up.
    TICK_MS = 250

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("clock")
        self.time_label: QLabel = plain_label(object_name="clockTime")
        self.date_label: QLabel = plain_label(object_name="clockDate")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.time_label)
        layout.addWidget(self.date_label)
        self._timer = QTimer(self)
        self._timer.setInterval(self.TICK_MS)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        self.tick()

    def tick(self) -> None:
        now = time.time()
        shown = time.strftime("%H:%M:%S", time.localtime(now))
        if self.time_label.text() != shown:
            self.time_label.setText(shown)
            day = date_text(now)
            if self.date_label.text() != day:
                self.date_label.setText(day)
