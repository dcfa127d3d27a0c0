"""Windows the Call-taker opens over the console: the transfer directory and the answer-time statistics.

They are separate windows, not tabs under the active call, so that at any screen size the location of
the call in hand stays in full view while the call-taker searches for an agency or reads the figures.
Both are non-modal: F5, F8 and the other console keys keep working while they are open.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from app.calls.directory import DirectoryEntry
from ui.calltaker.directory_panel import DirectoryPanel
from ui.calltaker.stats_panel import StatsPanel


class DirectoryWindow(QDialog):
    """Type to search; Enter (or Dial) transfers and closes; Esc closes."""

    dial_requested = Signal(object)  # DirectoryEntry

    def __init__(self, entries: Sequence[DirectoryEntry], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("directoryWindow")
        self.setWindowTitle("Transfer directory")
        self.setModal(False)
        self.panel = DirectoryPanel(self)
        self.panel.set_entries(tuple(entries))
        self.panel.dial_requested.connect(self._dialled)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel)
        self.resize(760, 560)

    def open_for_search(self) -> None:
        self.panel.clear_search()
        self.show()
        self.raise_()
        self.activateWindow()
        self.panel.focus_search()

    def _dialled(self, entry: DirectoryEntry) -> None:
        self.dial_requested.emit(entry)
        self.hide()


class StatsWindow(QDialog):
    def __init__(self, load_records: Callable, shifts: Sequence[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statsWindow")
        self.setWindowTitle("9-1-1 answer times")
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.panel = StatsPanel(load_records, shifts=shifts, parent=self)
        layout = QVBoxLayout(self)
        layout.addWidget(self.panel)
        self.resize(1100, 720)
