"""The live event log: newest at the bottom, bounded, following new rows unless the user scrolled up."""

from __future__ import annotations

from collections import deque
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from app.snapshots import LoggedEvent
from ui.widgets.plain import one_line
from ui.widgets.times import clock_text

Index = QModelIndex | QPersistentModelIndex
LOG_HEADERS = ("Time", "Event", "Channel", "Source", "Detail")


def event_cells(event: LoggedEvent) -> tuple[str, ...]:
    # Milliseconds matter on the bench: key-up to RX latency is read off this log.
    millis = int((event.wall % 1) * 1000)
    return (f"{clock_text(event.wall)}.{millis:03d}", event.kind, event.channel, event.source, event.detail)


class EventLogModel(QAbstractTableModel):
    def __init__(self, limit: int = 500, parent: Any = None) -> None:
        super().__init__(parent)
        self.limit = limit
        self._rows: deque[tuple[str, ...]] = deque()

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(LOG_HEADERS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if index.isValid() and role == Qt.ItemDataRole.DisplayRole:
            return self._rows[index.row()][index.column()]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return LOG_HEADERS[section]
        return None

    def row_texts(self, row: int) -> tuple[str, ...]:
        return self._rows[row]

    def append(self, event: LoggedEvent) -> None:
        if len(self._rows) >= self.limit:
            self.beginRemoveRows(QModelIndex(), 0, 0)
            self._rows.popleft()
            self.endRemoveRows()
        row = len(self._rows)
        self.beginInsertRows(QModelIndex(), row, row)
        self._rows.append(tuple(one_line(text) for text in event_cells(event)))
        self.endInsertRows()


class EventLogView(QTableView):
    def __init__(self, limit: int = 500, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("eventLog")
        self.log_model = EventLogModel(limit, self)
        self.setModel(self.log_model)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        for column, width in enumerate((130, 150, 140, 140)):
            header.resizeSection(column, width)
        header.setStretchLastSection(True)

    def follows_new_rows(self) -> bool:
        """True while the view sits at the bottom; a user reading older rows is left alone."""
        bar = self.verticalScrollBar()
        return bar.value() >= bar.maximum()

    def append(self, event: LoggedEvent) -> None:
        follow = self.follows_new_rows()
        self.log_model.append(event)
        if follow:
            self.scrollToBottom()
