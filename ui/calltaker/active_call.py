"""The call this position is on, location first: the current spill's raw text, big and monospaced."""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from app.snapshots import CallView, SpillView
from ui.widgets.plain import one_line, plain_label, set_plain, set_plain_text
from ui.widgets.raw_text import RawTextView
from ui.widgets.style import set_style_state
from ui.widgets.times import clock_text, duration_text, seconds_between


def spill_position_text(call: CallView) -> str:
    """"ALI 1 of 1" for the first spill, "rebid 2 of 2" once the location has been rebid."""
    count = len(call.spills)
    if count == 0:
        return "no ALI yet"
    if count == 1:
        return "ALI 1 of 1"
    return f"rebid {count} of {count}"


def answer_delay_text(call: CallView) -> str:
    delay = seconds_between(call.ring_wall, call.answer_wall)
    return "—" if delay is None else f"{max(delay, 0):.0f} s"


def bcc_text(spill: SpillView | None) -> str:
    if spill is None or spill.bcc_ok is True:
        return ""
    if spill.bcc_ok is False:
        return "⚠ BCC BAD — the spill may be corrupted: verify the location with the caller"
    return "BCC not checked for this spill"


class ActiveCallPanel(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activeCall")
        self.call: CallView | None = None

        self.title_label: QLabel = plain_label("ACTIVE CALL", object_name="panelTitle")
        self.line_label: QLabel = plain_label(object_name="callLine")
        self.state_label: QLabel = plain_label(object_name="callState")
        self.spill_label: QLabel = plain_label(object_name="spillPosition")
        header = QHBoxLayout()
        header.setSpacing(14)
        header.addWidget(self.title_label)
        header.addWidget(self.line_label)
        header.addWidget(self.state_label)
        header.addStretch(1)
        header.addWidget(self.spill_label)

        self.bcc_label: QLabel = plain_label(object_name="bccWarning")
        self.bcc_label.setWordWrap(True)
        self.errors_label: QLabel = plain_label(object_name="spillErrors")
        self.errors_label.setWordWrap(True)

        self.ali_text = RawTextView(object_name="aliText")
        self.ali_text.setPlaceholderText("No active call. Answer a ringing line to see its location here.")

        self.ring_label: QLabel = plain_label(object_name="callTime")
        self.answer_label: QLabel = plain_label(object_name="callTime")
        self.delay_label: QLabel = plain_label(object_name="callTime")
        self.talk_label: QLabel = plain_label(object_name="callTime")
        times = QHBoxLayout()
        times.setSpacing(28)
        for label in (self.ring_label, self.answer_label, self.delay_label, self.talk_label):
            times.addWidget(label)
        times.addStretch(1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addWidget(self.bcc_label)
        layout.addWidget(self.errors_label)
        layout.addWidget(self.ali_text, 1)
        layout.addLayout(times)

        self._talk_timer = QTimer(self)
        self._talk_timer.setInterval(500)
        self._talk_timer.timeout.connect(self._update_talk_time)
        self.render(None)

    def render(self, call: CallView | None) -> None:
        self.call = call
        if call is None:
            set_plain(self.line_label, "")
            set_plain(self.state_label, "NO CALL")
            set_style_state(self.state_label, "state", "none")
            set_plain(self.spill_label, "")
            self._show_spill(None)
            set_plain(self.ring_label, "")
            set_plain(self.answer_label, "")
            set_plain(self.delay_label, "")
            set_plain(self.talk_label, "")
            self._talk_timer.stop()
            return
        set_plain(self.line_label, f"LINE {call.line}")
        set_plain(self.state_label, call.state.upper())
        set_style_state(self.state_label, "state", call.state)
        set_plain(self.spill_label, spill_position_text(call))
        spill = call.current_spill
        if spill is not None:
            set_plain(self.spill_label, f"{spill_position_text(call)} · received {clock_text(spill.received_wall)}")
        self._show_spill(spill)
        set_plain(self.ring_label, f"RING {clock_text(call.ring_wall)}")
        set_plain(self.answer_label, f"ANSWERED {clock_text(call.answer_wall)}")
        set_plain(self.delay_label, f"ANSWER DELAY {answer_delay_text(call)}")
        self._update_talk_time()
        if call.end_wall is None and call.answer_wall is not None:
            self._talk_timer.start()
        else:
            self._talk_timer.stop()

    def _show_spill(self, spill: SpillView | None) -> None:
        warning = bcc_text(spill)
        set_plain(self.bcc_label, warning)
        self.bcc_label.setVisible(bool(warning))
        set_style_state(self.bcc_label, "state", "bad" if spill is not None and spill.bcc_ok is False else "unchecked")
        errors = spill.errors if spill is not None else ()
        self.errors_label.setText("\n".join(f"⚠ {one_line(error)}" for error in errors))  # PlainText label
        self.errors_label.setVisible(bool(errors))
        set_plain_text(self.ali_text, spill.raw_text if spill is not None else "")

    def _update_talk_time(self) -> None:
        call = self.call
        if call is None or call.answer_wall is None:
            set_plain(self.talk_label, "")
            return
        end = call.end_wall if call.end_wall is not None else time.time()
        set_plain(self.talk_label, f"ON CALL {duration_text(end - call.answer_wall)}")
