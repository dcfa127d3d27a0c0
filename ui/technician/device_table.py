"""Every configured device with its link state, as the technician sees it."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from app.snapshots import DeviceStatus, StatusSnapshot
from ui.widgets.link_state import link_glyph, link_word
from ui.widgets.rows_model import Cell, Row, RowsModel
from ui.widgets.times import clock_text

DEVICE_HEADERS = ("Device", "Id", "Kind", "State", "Detail", "Since")
LINK_TONES = {"up": "rx", "down": "warn", "fault": "tx", "unknown": "down"}


def device_row(device: DeviceStatus) -> Row:
    state = f"{link_glyph(device.state)} {link_word(device.state)}"
    return (
        Cell(device.label or device.id),
        Cell(device.id),
        Cell(device.kind),
        Cell(state, LINK_TONES.get(device.state, "down")),
        Cell(device.detail, tooltip=device.detail),
        Cell(clock_text(device.since_wall)),
    )


class DeviceTable(QTableView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("deviceTable")
        self.model_rows = RowsModel(DEVICE_HEADERS, self)
        self.setModel(self.model_rows)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)

    def render(self, snapshot: StatusSnapshot) -> None:
        self.model_rows.set_rows([device_row(device) for device in snapshot.devices])
