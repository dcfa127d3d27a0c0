"""The callback list: hang-ups and abandoned calls still to be called back, with one-click outcomes.

Open items come first, longest waiting on top; closed items of the last shift follow, greyed.
Picking an item and clicking an outcome records it with this position's operator and the time.
"Copy number" puts the number on the clipboard for the phone set.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.calls.callbacks import OUTCOMES
from app.snapshots import CallbackView
from ui.calltaker.location_block import phone_text
from ui.widgets.tables import row_table
from ui.widgets.rows_model import Cell, Row, RowsModel
from ui.widgets.times import clock_text, duration_text

HEADERS = ("Opened", "Waiting", "Reason", "Number", "Location", "Attempts", "Status")


def callback_row(item: CallbackView, now_wall: float) -> Row:
    last = item.attempts[-1] if item.attempts else None
    attempts = f"{len(item.attempts)}" + (f" · last {OUTCOMES[last.outcome][0]} {clock_text(last.wall)} by {last.who}"
                                          if last is not None and last.outcome in OUTCOMES else "")
    status = "DONE" if item.closed else "OPEN"
    return (
        Cell(clock_text(item.opened_wall)),
        Cell("" if item.closed else duration_text(now_wall - item.opened_wall)),
        Cell(item.reason.upper(), "" if item.closed else "warn"),
        Cell(phone_text(item.number) or "unknown"),
        Cell(item.location),
        Cell(attempts),
        Cell(status, "" if item.closed else "warn"),
    )


class CallbackList(QWidget):
    outcome_chosen = Signal(str, str, str)  # call uid, outcome, note

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callbackList")
        self.items: tuple[CallbackView, ...] = ()
        self.model = RowsModel(HEADERS, self)
        self.table = row_table(self.model, self, object_name="callbackTable", single=True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())

        self.note = QLineEdit(self)
        self.note.setObjectName("callbackNote")
        self.note.setPlaceholderText("Note (optional): who answered, unit sent, ...")
        self.copy_button = QPushButton("Copy number", self)
        self.copy_button.clicked.connect(self.copy_number)
        self.outcome_buttons: dict[str, QPushButton] = {}
        row = QHBoxLayout()
        row.addWidget(self.copy_button)
        row.addWidget(self.note, 1)
        for outcome, (label, _closes) in OUTCOMES.items():
            button = QPushButton(label, self)
            button.setObjectName(f"callback_{outcome}")
            button.clicked.connect(lambda _=False, o=outcome: self.choose(o))
            self.outcome_buttons[outcome] = button
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self._update_buttons()

    @property
    def open_count(self) -> int:
        return sum(1 for item in self.items if not item.closed)

    def render(self, items: tuple[CallbackView, ...]) -> None:
        chosen = self.chosen()
        self.items = items
        now_wall = time.time()
        self.model.set_rows([callback_row(item, now_wall) for item in items])
        if chosen is not None:
            row = next((i for i, item in enumerate(items) if item.call_uid == chosen.call_uid), None)
            if row is not None:
                self.table.selectRow(row)
        self._update_buttons()

    def chosen(self) -> CallbackView | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.items):
            return None
        return self.items[rows[0].row()]

    def select(self, call_uid: str) -> None:
        row = next((i for i, item in enumerate(self.items) if item.call_uid == call_uid), None)
        if row is not None:
            self.table.selectRow(row)

    def choose(self, outcome: str) -> None:
        item = self.chosen()
        if item is None or item.closed:
            return
        self.outcome_chosen.emit(item.call_uid, outcome, self.note.text().strip())
        self.note.clear()

    def copy_number(self) -> None:
        item = self.chosen()
        if item is not None and item.number:
            QGuiApplication.clipboard().setText(item.number)

    def _update_buttons(self) -> None:
        item = self.chosen()
        usable = item is not None and not item.closed
        for button in self.outcome_buttons.values():
            button.setEnabled(usable)
        self.copy_button.setEnabled(item is not None and bool(item.number))
