"""Below the active call: recent calls at this position, and ALI spills that arrived with no call answered."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHeaderView,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTabWidget,
    QWidget,
)

from app.snapshots import CallView, SpillView
from ui.widgets.plain import one_line, set_plain_text
from ui.widgets.raw_text import RawTextView, broken_at_line_ends
from ui.widgets.tables import row_table
from ui.widgets.rows_model import Cell, Row, RowsModel
from ui.widgets.times import clock_text, duration_text, seconds_between

RECENT_HEADERS = ("Line", "Ring", "Answered", "Answer delay", "Duration", "Ended as", "ALI spills")
_END_TONES = {"abandoned": "warn", "released": ""}


def recent_call_row(call: CallView) -> Row:
    delay = seconds_between(call.ring_wall, call.answer_wall)
    duration = seconds_between(call.answer_wall or call.ring_wall, call.end_wall)
    return (
        Cell(call.line),
        Cell(clock_text(call.ring_wall)),
        Cell(clock_text(call.answer_wall)),
        Cell("—" if delay is None else f"{max(delay, 0):.0f} s"),
        Cell(duration_text(duration)),
        Cell(call.state.upper(), _END_TONES.get(call.state, "")),
        Cell(str(len(call.spills))),
    )


def spill_summary(spill: SpillView) -> str:
    bcc = {True: "BCC ok", False: "⚠ BCC BAD", None: "BCC –"}[spill.bcc_ok]
    errors = f" · {len(spill.errors)} error(s)" if spill.errors else ""
    return f"{clock_text(spill.received_wall)}  {spill.kind.upper()}  {bcc}{errors}"


class UnassignedSpills(QSplitter):
    """A list of stray spills; the one picked shows its raw text beside the list."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("unassignedSpills")
        self.spills: tuple[SpillView, ...] = ()
        self.list = QListWidget(self)
        self.list.setObjectName("unassignedList")
        self.text = RawTextView(self, object_name="unassignedText")
        self.text.setPlaceholderText("Pick a spill to see its raw text.")
        self.addWidget(self.list)
        self.addWidget(self.text)
        self.setStretchFactor(1, 2)
        self.setSizes([420, 840])  # wide enough for "time · kind · BCC" without scrolling sideways
        self.setChildrenCollapsible(False)
        self.list.currentRowChanged.connect(self._show)

    def render(self, spills: tuple[SpillView, ...]) -> None:
        if spills == self.spills:
            return
        current = self.list.currentRow()
        self.spills = spills
        self.list.clear()
        for spill in spills:
            self.list.addItem(QListWidgetItem(one_line(spill_summary(spill))))
        if spills:
            self.list.setCurrentRow(min(max(current, 0), len(spills) - 1))
        else:
            set_plain_text(self.text, "")

    def _show(self, row: int) -> None:
        if 0 <= row < len(self.spills):
            set_plain_text(self.text, broken_at_line_ends(self.spills[row].raw_text))


class CallHistory(QTabWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callHistory")
        self.recent_model = RowsModel(RECENT_HEADERS, self)
        self.recent_table = row_table(self.recent_model, self, object_name="recentCalls")
        self.recent_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.recent_table.setAlternatingRowColors(True)
        self.unassigned = UnassignedSpills(self)
        self.addTab(self.recent_table, "")
        self.addTab(self.unassigned, "")
        self.render((), ())

    def render(self, recent: tuple[CallView, ...], unassigned: tuple[SpillView, ...]) -> None:
        self.recent_model.set_rows([recent_call_row(call) for call in recent])
        self.unassigned.render(unassigned)
        self.set_tab_text(0, f"RECENT CALLS ({len(recent)})")
        # The count is in the tab title so a stray spill is noticed without opening the tab.
        self.set_tab_text(1, f"UNASSIGNED ALI ({len(unassigned)})" + (" ⚠" if unassigned else ""))

    def set_tab_text(self, index: int, text: str) -> None:
        # QTabBar relayouts and repaints on every setTabText, even with the same text: skip those,
        # they sit on the path of every pop.
        if self.tabText(index) != text:
            self.setTabText(index, text)
