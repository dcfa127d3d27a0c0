"""The transfer directory: type to find an agency, Enter to dial (or copy) its number.

The search box keeps the focus the whole time: Up/Down move the highlight in the list, Enter dials the
highlighted entry, Escape clears the box. Names, numbers and notes come from the site's CSV and are
shown as plain text. This panel does not dial: it emits ``dial_requested`` and whoever owns the
phone line does the rest (and logs the transfer on the call). In "copy" mode it also puts the
number's digits on the clipboard, since the GUI is the only layer with a clipboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.calls.directory import DirectoryEntry, dial_string, search
from ui.widgets.plain import plain_label, set_plain
from ui.widgets.tables import row_table
from ui.widgets.rows_model import Cell, Row, RowsModel

HEADERS = ("Name", "Number", "Category")
DIAL_METHODS = ("copy", "dtmf")
_PAGE_STEP = 10


def entry_row(entry: DirectoryEntry) -> Row:
    tip = entry.notes
    return (Cell(entry.name, tooltip=tip), Cell(entry.number, tooltip=tip), Cell(entry.category, tooltip=tip))


class SearchBox(QLineEdit):
    """A line edit that hands Up/Down/PageUp/PageDown to the list instead of swallowing them."""

    move_requested = Signal(int)  # rows to move the highlight by (negative = up)

    _STEPS: ClassVar[dict[Qt.Key, int]] = {
        Qt.Key.Key_Up: -1, Qt.Key.Key_Down: 1, Qt.Key.Key_PageUp: -_PAGE_STEP, Qt.Key.Key_PageDown: _PAGE_STEP,
    }

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = self._STEPS.get(Qt.Key(event.key()))
        if step is not None:
            self.move_requested.emit(step)
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            event.accept()
            return
        super().keyPressEvent(event)


class DirectoryPanel(QWidget):
    """Search, list and a Dial/Copy button; ``dial_requested`` carries the chosen DirectoryEntry."""

    dial_requested = Signal(object)  # DirectoryEntry

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("directoryPanel")
        self._entries: tuple[DirectoryEntry, ...] = ()
        self._shown: list[DirectoryEntry] = []
        self._method = "copy"

        self.title_label: QLabel = plain_label("TRANSFER", object_name="panelTitle")
        self.count_label: QLabel = plain_label(object_name="directoryCount")
        self.search_box = SearchBox(self)
        self.search_box.setObjectName("directorySearch")
        self.search_box.setPlaceholderText("Type a name, initials (LMPD) or part of a number…")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.textChanged.connect(self._refilter)
        self.search_box.move_requested.connect(self._move)
        self.search_box.returnPressed.connect(self.dial_current)

        self.model = RowsModel(HEADERS, self)
        self.table = row_table(self.model, self, object_name="directoryList", single=True)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing always goes to the search box
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.doubleClicked.connect(self._on_double_click)
        self.table.selectionModel().currentRowChanged.connect(self._show_notes)

        self.notes_label: QLabel = plain_label(object_name="directoryNotes")
        self.notes_label.setWordWrap(True)
        self.status_label: QLabel = plain_label(object_name="directoryStatus")
        self.dial_button = QPushButton(self)
        self.dial_button.setObjectName("directoryDial")
        self.dial_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.dial_button.clicked.connect(self.dial_current)

        head = QHBoxLayout()
        head.addWidget(self.title_label)
        head.addStretch(1)
        head.addWidget(self.count_label)
        foot = QHBoxLayout()
        foot.addWidget(self.status_label, 1)
        foot.addWidget(self.dial_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addLayout(head)
        layout.addWidget(self.search_box)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.notes_label)
        layout.addLayout(foot)

        self.set_dial_method("copy")
        self._refilter()

    # ---- what the owner calls --------------------------------------------------------------------

    def set_entries(self, entries: Sequence[DirectoryEntry]) -> None:
        """Replace the directory (e.g. after the CSV was loaded); the typed search is kept."""
        self._entries = tuple(entries)
        self._refilter()

    @property
    def entries(self) -> tuple[DirectoryEntry, ...]:
        return self._entries

    def set_dial_method(self, method: str) -> None:
        """"dtmf": the button dials on the phone line; "copy": it copies the number for the phone set."""
        if method not in DIAL_METHODS:
            raise ValueError(f"dial method must be one of {', '.join(DIAL_METHODS)}, not {method!r}")
        self._method = method
        if method == "dtmf":
            self.dial_button.setText("Dial   ↵")
            self.dial_button.setToolTip("Dial the highlighted number on the phone line (Enter)")
        else:
            self.dial_button.setText("Copy   ↵")
            self.dial_button.setToolTip("Copy the highlighted number for the phone set (Enter)")

    @property
    def dial_method(self) -> str:
        return self._method

    def focus_search(self) -> None:
        """Put the cursor in the search box with its text selected, so typing starts a new search."""
        self.search_box.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_box.selectAll()

    def clear_search(self) -> None:
        self.search_box.clear()

    def shown_entries(self) -> list[DirectoryEntry]:
        """The entries listed now, in the order shown."""
        return list(self._shown)

    def current_entry(self) -> DirectoryEntry | None:
        row = self.table.currentIndex().row()
        return self._shown[row] if 0 <= row < len(self._shown) else None

    def dial_current(self) -> None:
        entry = self.current_entry()
        if entry is None:
            return
        if self._method == "copy":
            # Digits (and "," pauses) paste cleanly into a softphone or a dialler.
            try:
                digits = dial_string(entry.number)
            except ValueError:
                digits = entry.number  # not from load_directory; copy what is written
            QGuiApplication.clipboard().setText(digits)
            set_plain(self.status_label, f"Copied {entry.number} — {entry.name}")
        else:
            set_plain(self.status_label, f"Dialling {entry.number} — {entry.name}")
        self.dial_requested.emit(entry)

    # ---- inside ------------------------------------------------------------------------------------

    def _refilter(self, *_args: object) -> None:
        self._shown = search(self._entries, self.search_box.text())
        self.model.set_rows([entry_row(entry) for entry in self._shown])
        self._select(0 if self._shown else -1)
        if not self._entries:
            set_plain(self.count_label, "no directory loaded")
        else:
            set_plain(self.count_label, f"{len(self._shown)} of {len(self._entries)}")
        self.dial_button.setEnabled(bool(self._shown))

    def _select(self, row: int) -> None:
        if row < 0:
            self.table.setCurrentIndex(QModelIndex())
            self.table.clearSelection()
            self._show_notes(QModelIndex())
            return
        index = self.model.index(row, 0)
        self.table.setCurrentIndex(index)
        self.table.selectRow(row)
        self.table.scrollTo(index)
        self._show_notes(index)

    def _move(self, step: int) -> None:
        if not self._shown:
            return
        row = self.table.currentIndex().row()
        self._select(min(max(row + step, 0), len(self._shown) - 1))

    def _on_double_click(self, index: QModelIndex) -> None:
        self._select(index.row())
        self.dial_current()

    def _show_notes(self, index: QModelIndex, *_args: object) -> None:
        row = index.row() if index.isValid() else -1
        notes = self._shown[row].notes if 0 <= row < len(self._shown) else ""
        set_plain(self.notes_label, notes)
        self.notes_label.setVisible(bool(notes))
