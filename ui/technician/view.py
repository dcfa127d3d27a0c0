"""The Technician role: every device's link, the live event log, and where this position's files are."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from app.snapshots import LoggedEvent, StatusSnapshot
from ui.technician.device_table import DeviceTable
from ui.technician.event_log import EventLogView
from ui.technician.position_info import PositionInfoPanel
from ui.widgets.plain import plain_label


def _titled(title: str, body: QWidget, extra: QWidget | None = None) -> QWidget:
    box = QWidget()
    head = QHBoxLayout()
    head.addWidget(plain_label(title, object_name="panelTitle"))
    head.addStretch(1)
    if extra is not None:
        head.addWidget(extra)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(6)
    layout.addLayout(head)
    layout.addWidget(body, 1)
    return box


class TechnicianView(QWidget):
    """Renders StatusSnapshots and appends every LoggedEvent."""

    LOG_LIMIT = 500

    def __init__(self, position: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("technicianView")
        self.devices = DeviceTable(self)
        self.log = EventLogView(self.LOG_LIMIT, self)
        self.info = PositionInfoPanel(position.info, self)
        self.log_hint: QLabel = plain_label(
            f"last {self.LOG_LIMIT} events · scroll up to pause following", object_name="viewHint"
        )

        top = QHBoxLayout()
        top.setSpacing(16)
        top.addWidget(_titled("POSITION", self.info), 1)
        top.addWidget(_titled("DEVICES", self.devices), 3)
        top_box = QWidget()
        top_box.setLayout(top)

        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(top_box)
        split.addWidget(_titled("EVENT LOG", self.log, self.log_hint))
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 16)
        layout.addWidget(split)

        position.status_changed.connect(self.render)
        position.event_logged.connect(self.append_event)
        first = getattr(position, "status", None)
        if first is not None:
            self.render(first)

    def render(self, snapshot: StatusSnapshot) -> None:
        self.devices.render(snapshot)

    def append_event(self, event: LoggedEvent) -> None:
        self.log.append(event)
