"""The Call-taker role: ringing lines, answer and release, the location of the call in hand, and below
it the recent calls, stray spills and the callback list. The transfer directory and the statistics
open in their own windows (ui.calltaker.side_windows)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout, QWidget

from app.snapshots import CallsSnapshot
from ui.calltaker.active_call import ActiveCallPanel
from ui.calltaker.tty_panel import TtyPanel
from ui.calltaker.callback_list import CallbackList
from ui.calltaker.side_windows import DirectoryWindow, StatsWindow
from ui.calltaker.history import CallHistory
from ui.calltaker.ringing_list import RingingList
from ui.widgets.plain import plain_label, set_plain
from ui.widgets.style import set_style_state

ANSWER_KEY_NAME = "F5"
CONFIRM_KEY_NAME = "F6"
RELEASE_KEY_NAME = "F8"  # not next to F5: a fat-fingered release would hang up on a caller
HANG_UP_KEY_NAME = "F9"
DIRECTORY_KEY_NAME = "Ctrl+D"
HISTORY_MIN_HEIGHT = 120
REBID_KEY_NAME = "F7"


class CallTakerView(QWidget):
    """Renders CallsSnapshots; sends answer_call and release_call to ``position``."""

    def __init__(self, position: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callTakerView")
        self._position = position
        self.snapshot = CallsSnapshot()

        self.ringing_title: QLabel = plain_label("RINGING", object_name="panelTitle")
        self.ringing_count: QLabel = plain_label(object_name="ringingCount")
        self.ringing = RingingList(self)
        self.ringing.answer_requested.connect(self.answer)
        self.answer_button = QPushButton(f"ANSWER   {ANSWER_KEY_NAME}", self)
        self.answer_button.setObjectName("answerButton")
        self.answer_button.setToolTip(
            f"Answer the picked ringing call, or the oldest one ({ANSWER_KEY_NAME}, works from every view)"
        )
        self.answer_button.clicked.connect(lambda: self.answer(self.ringing.chosen_call_id()))
        self.release_button = QPushButton(f"RELEASE   {RELEASE_KEY_NAME}", self)
        self.release_button.setObjectName("releaseButton")
        self.release_button.setToolTip(f"Release the active call ({RELEASE_KEY_NAME}, in this view)")
        self.release_button.clicked.connect(self.release)
        self.hang_up_button = QPushButton(f"HANG-UP · CALL BACK   {HANG_UP_KEY_NAME}", self)
        self.hang_up_button.setObjectName("hangUpButton")
        self.hang_up_button.setToolTip(
            f"The caller hung up: release the call and put it on the callback list ({HANG_UP_KEY_NAME})")
        self.hang_up_button.clicked.connect(self.release_as_hang_up)
        self.ring_button = QPushButton("MARK RINGING", self)
        self.ring_button.setObjectName("manualRingButton")
        self.ring_button.setToolTip("A 9-1-1 line is ringing: start its answer timer (ring source: manual)")
        self.ring_button.clicked.connect(lambda: self._position.manual_ring("MANUAL"))
        self.ring_button.setVisible(False)
        for button in (self.answer_button, self.release_button, self.hang_up_button, self.ring_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # keys and clicks only; no stray Space

        ringing_head = QHBoxLayout()
        ringing_head.addWidget(self.ringing_title)
        ringing_head.addStretch(1)
        ringing_head.addWidget(self.ringing_count)
        left = QVBoxLayout()
        left.setSpacing(10)
        left.addLayout(ringing_head)
        left.addWidget(self.ringing, 1)
        left.addWidget(self.ring_button)
        left.addWidget(self.answer_button)
        left.addWidget(self.release_button)
        left.addWidget(self.hang_up_button)
        left_panel = QWidget(self)
        left_panel.setObjectName("ringingPanel")
        left_panel.setLayout(left)
        left_panel.setMinimumWidth(320)
        left_panel.setMaximumWidth(440)

        self.active = ActiveCallPanel(self)
        self.active.rebid_requested.connect(self.rebid)
        self.active.location_confirmed.connect(self.confirm_location)
        self.history = CallHistory(self)
        self.callbacks = CallbackList(self)
        self.callbacks.outcome_chosen.connect(position.record_callback)
        self.callbacks_tab = self.history.addTab(self.callbacks, "CALLBACKS")
        self.directory = DirectoryWindow(tuple(getattr(position, "directory", ())), self)
        self.directory.dial_requested.connect(self._dial)
        self.active.transfer_requested.connect(self.open_directory)
        self.stats_window: StatsWindow | None = None
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(self.active)
        # TTY: shown once Baudot tones are heard on the call in hand (app/calls/tty.py).
        self.tty = TtyPanel(self)
        self.tty.send_requested.connect(self._send_tty)
        self.tty.setVisible(False)
        right.addWidget(self.tty)
        right.addWidget(self.history)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)  # the TTY panel, while shown
        right.setStretchFactor(2, 1)
        # The lists below may shrink to their tab bar and a row or two; the active call never gives way.
        self.history.setMinimumHeight(HISTORY_MIN_HEIGHT)
        right.setSizes([700, 300, 200])  # the active call first; the lists below keep room for a few rows
        right.setChildrenCollapsible(False)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 16)
        layout.setSpacing(16)
        layout.addWidget(left_panel)
        layout.addWidget(right, 1)

        position.calls_changed.connect(self.render)
        first = getattr(position, "calls", None)
        self.render(first if first is not None else CallsSnapshot())

    def render(self, snapshot: CallsSnapshot) -> None:
        self.snapshot = snapshot
        self.ringing.render(snapshot.ringing)
        count = len(snapshot.ringing)
        set_plain(self.ringing_count, f"{count} waiting" if count else "none")
        set_style_state(self.ringing_count, "state", "ringing" if count else "none")
        self.active.set_can_rebid(snapshot.can_rebid)
        self.active.render(snapshot.active)
        tty = snapshot.active.tty if snapshot.active is not None else None
        self.tty.render(tty)
        self.tty.setVisible(tty is not None and tty.detected)
        self.history.render(snapshot.recent, snapshot.unassigned_spills)
        self.callbacks.render(snapshot.callbacks)
        waiting = self.callbacks.open_count
        self.history.set_tab_text(self.callbacks_tab, f"CALLBACKS ({waiting})" + (" ⚠" if waiting else ""))
        self.answer_button.setEnabled(bool(snapshot.ringing))
        set_style_state(self.answer_button, "state", "ringing" if count else "none")
        self.release_button.setEnabled(snapshot.active is not None)
        self.hang_up_button.setEnabled(snapshot.active is not None)
        self.ring_button.setVisible(snapshot.manual_ring)
        self.directory.panel.set_dial_method(snapshot.transfer_method)

    def _send_tty(self, text: str) -> None:
        self._position.send_tty(text)

    def answer(self, call_id: int | None = None) -> None:
        if self.snapshot.ringing:
            self._position.answer_call(call_id)

    def release(self) -> None:
        if self.snapshot.active is not None:
            self._position.release_call(False)

    def release_as_hang_up(self) -> None:
        if self.snapshot.active is not None:
            self._position.release_call(True)

    def open_stats(self) -> None:
        """Answer-time statistics from the position's store (nothing for a stand-in without one)."""
        profile = getattr(self._position, "profile", None)
        data_path = getattr(self._position, "data_path", None)
        if profile is None or data_path is None:
            return
        if self.stats_window is None:
            from app.calls.stats import load_call_records

            self.stats_window = StatsWindow(lambda since, until: load_call_records(data_path, since, until),
                                            profile.calls.shifts, self)
        self.stats_window.show()
        self.stats_window.raise_()

    def open_directory(self) -> None:
        """The transfer directory, with the search box ready for typing."""
        self.directory.open_for_search()

    def _dial(self, entry: Any) -> None:
        # The panel has already put the number on the clipboard ("copy"); the transfer goes on the call.
        self._position.record_transfer(entry.name, entry.number, self.snapshot.transfer_method)

    def rebid(self) -> None:
        if self.snapshot.active is not None and self.snapshot.can_rebid:
            self._position.request_rebid()

    def confirm_location(self) -> None:
        active = self.snapshot.active
        if active is not None and active.location_warning:
            self._position.confirm_location()
