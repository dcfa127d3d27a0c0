"""The Technician's INPUTS tab: every footswitch, headset, MIDI and evdev event as it arrives, with its
time, device, control, state and the console action the profile binds it to; beside it, every binding
the profile declares (so a control that does nothing shows as "not bound" against what was expected).

Entries come from the position's ``InputMonitor`` (app/console/input_monitor.py), read about ten times
a second while the tab is visible. Device and control names come from devices and the profile: plain text.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from app.console.input_map import ANY_CONTROL, bindings_for
from app.console.input_monitor import UNBOUND, InputEntry
from ui.widgets.plain import plain_label, set_plain
from ui.widgets.rows_model import Cell, Row, RowsModel
from ui.widgets.tables import row_table

POLL_MS = 100
SHOWN = 300  # newest first; the monitor itself keeps its own bounded list
EVENT_HEADERS = ("Time", "Device", "Control", "State", "Console action")
BINDING_HEADERS = ("Device", "Control", "Action")


def entry_row(entry: InputEntry) -> Row:
    tone = "warn" if entry.action == UNBOUND else ("tx" if entry.state == "down" else "")
    return (Cell(entry.clock), Cell(entry.device), Cell(entry.control), Cell(entry.state, tone),
            Cell(entry.action, "warn" if entry.action == UNBOUND else ""))


def binding_rows(position: Any) -> list[Row]:
    profile = getattr(position, "profile", None)
    inputs = getattr(profile, "inputs", None) or []
    return [(Cell(b.device), Cell("any" if b.control == ANY_CONTROL else b.control), Cell(b.action))
            for b in bindings_for(inputs)]


class InputsPanel(QWidget):
    def __init__(self, position: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inputsPanel")
        self._monitor = getattr(position, "input_monitor", None)
        self._seen = 0
        self._entries: list[InputEntry] = []  # newest first

        self.events_model = RowsModel(EVENT_HEADERS, self)
        self.events = row_table(self.events_model, self, object_name="inputEvents")
        self.bindings_model = RowsModel(BINDING_HEADERS, self)
        self.bindings = row_table(self.bindings_model, self, object_name="inputBindings")
        self.bindings_model.set_rows(binding_rows(position))
        self.last = plain_label(object_name="inputsLast")
        self.clear_button = QPushButton("CLEAR", self)
        self.clear_button.setAccessibleName("Clear the input events")
        self.clear_button.clicked.connect(self.clear)

        head = QHBoxLayout()
        head.addWidget(plain_label("INPUT EVENTS", object_name="panelTitle"))
        head.addWidget(self.last, 1)
        head.addWidget(self.clear_button)
        left = QVBoxLayout()
        left.addLayout(head)
        left.addWidget(self.events, 1)
        right = QVBoxLayout()
        right.addWidget(plain_label("BINDINGS (PROFILE)", object_name="panelTitle"))
        right.addWidget(self.bindings, 1)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(16)
        layout.addLayout(left, 3)
        layout.addLayout(right, 2)
        set_plain(self.last, "press a footswitch, pedal, key or surface control"
                  if self._monitor is not None else "this position has no input monitor")

        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.poll)

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def showEvent(self, event: QShowEvent) -> None:  # Qt's name
        super().showEvent(event)
        if self._monitor is not None:
            self.poll()
            self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:  # Qt's name
        super().hideEvent(event)
        self._timer.stop()  # the monitor keeps recording; the next show catches up

    def poll(self) -> None:
        if self._monitor is None:
            return
        new = self._monitor.since(self._seen)
        if not new:
            return
        self._seen = new[-1].seq
        self._entries = (list(reversed(new)) + self._entries)[:SHOWN]
        self.events_model.set_rows([entry_row(e) for e in self._entries])
        latest = self._entries[0]
        set_plain(self.last, f"last: {latest.device} {latest.control} {latest.state} → {latest.action}")

    def rows(self) -> list[tuple[str, ...]]:
        """The event table's texts, newest first (tests, tickets)."""
        return [tuple(c.text for c in self.events_model.row(i)) for i in range(self.events_model.rowCount())]

    def clear(self) -> None:
        self._entries = []
        self.events_model.set_rows([])
        set_plain(self.last, "")
