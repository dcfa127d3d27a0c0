"""Which position this is and where its profile and data live."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QFrame, QLabel, QWidget

from ui.widgets.plain import plain_label


class PositionInfoPanel(QFrame):
    def __init__(self, info: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("positionInfo")
        self.values: dict[str, QLabel] = {}
        form = QFormLayout(self)
        form.setContentsMargins(16, 12, 16, 12)
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(6)
        rows = (
            ("Position", info.name),
            ("Role", info.role),
            ("Site", info.site or "—"),
            ("Mode", "DEMO — simulated hardware" if info.demo else "live hardware"),
            ("Profile", info.profile_path or "—"),
            ("Data", info.data_path or "—"),
        )
        for title, value in rows:
            label = plain_label(value, object_name="infoValue")
            # Paths are there to be copied into a terminal or a ticket.
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setWordWrap(True)
            self.values[title] = label
            form.addRow(plain_label(title.upper(), object_name="infoKey"), label)
