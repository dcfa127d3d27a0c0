"""A read-only table model of plain-text rows, with an optional colour tone per cell.

Item views draw DisplayRole text as plain text, so outside text is safe here as long as control
bytes are made visible (done on the way in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from ui.theme.stylesheet import current_palette
from ui.widgets.plain import one_line, plain_tooltip

Index = QModelIndex | QPersistentModelIndex


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    tone: str = ""  # a ThemePalette field name (rx, tx, warn, down, accent) or "" for normal text
    tooltip: str = ""


Row = tuple[Cell, ...]


class RowsModel(QAbstractTableModel):
    def __init__(self, headers: Sequence[str], parent: Any = None) -> None:
        super().__init__(parent)
        self._headers = tuple(headers)
        self._rows: list[Row] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._headers)

    def row(self, index: int) -> Row:
        return self._rows[index]

    def column_texts(self, column: int) -> list[str]:
        return [row[column].text for row in self._rows]

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        cell = self._rows[index.row()][index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return one_line(cell.text)
        if role == Qt.ItemDataRole.ToolTipRole and cell.tooltip:
            return plain_tooltip(cell.tooltip)
        if role == Qt.ItemDataRole.ForegroundRole and cell.tone:
            colour = getattr(current_palette(), cell.tone, None)
            return QBrush(QColor(colour)) if colour else None
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self._headers[section]
        return None

    def set_rows(self, rows: Sequence[Row]) -> None:
        """Replace the rows; same-length updates keep the user's selection and scroll position."""
        rows = list(rows)
        if len(rows) != len(self._rows):
            self.beginResetModel()
            self._rows = rows
            self.endResetModel()
            return
        for number, (old, new) in enumerate(zip(self._rows, rows)):
            if old != new:
                self._rows[number] = new
                self.dataChanged.emit(self.index(number, 0), self.index(number, len(self._headers) - 1))
