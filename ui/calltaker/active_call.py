"""The call this position is on, location first.

Top to bottom: registry flags (special needs, premise hazards), a prompt to confirm the location when
the spill cannot be trusted (Phase I, no coordinates, VoIP, unparsed), the location and caller
fields, then the raw spill and the call's timeline. Earlier spills of the call (before a rebid) can
be picked to compare; the newest is shown unless the call-taker picks another.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.snapshots import CallView, RegistryFlag, SpillView
from ui.calltaker.location_block import LocationBlock
from ui.widgets.plain import one_line, plain_label, set_plain, set_plain_text, visible_controls
from ui.widgets.raw_text import RawTextView, broken_at_line_ends
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


DETAILS_MIN_HEIGHT = 110  # about three lines of raw spill: enough to see it is there


def flag_text(flags: tuple[RegistryFlag, ...]) -> str:
    lines = []
    for flag in flags:
        head = f"⚑ {flag.category.upper() or 'REGISTRY'}: {flag.name}" if flag.name else f"⚑ {flag.category.upper()}"
        lines.append(f"{head}  (matched on {flag.matched_on})" + (f"\n    {flag.notes}" if flag.notes else ""))
    return "\n".join(lines)


def spill_choice_text(index: int, count: int, spill: SpillView) -> str:
    cos = spill.value("class_of_service") or spill.kind.upper()
    newest = "  (newest)" if index == count - 1 else ""
    return f"ALI {index + 1} of {count} · {cos} · {clock_text(spill.received_wall)}{newest}"


def bcc_text(spill: SpillView | None) -> str:
    if spill is None or spill.bcc_ok is True:
        return ""
    if spill.bcc_ok is False:
        return "⚠ BCC BAD — the spill may be corrupted: verify the location with the caller"
    return "BCC not checked for this spill"


class ActiveCallPanel(QFrame):
    rebid_requested = Signal()
    location_confirmed = Signal()
    transfer_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activeCall")
        self.call: CallView | None = None
        self._picked_seq: int | None = None  # the spill picked in the history; None follows the newest

        self.title_label: QLabel = plain_label("ACTIVE CALL", object_name="panelTitle")
        self.line_label: QLabel = plain_label(object_name="callLine")
        self.state_label: QLabel = plain_label(object_name="callState")
        self.spill_label: QLabel = plain_label(object_name="spillPosition")
        self.spill_picker = QComboBox(self)
        self.spill_picker.setObjectName("spillPicker")
        self.spill_picker.setToolTip("Earlier spills of this call (before a rebid)")
        self.spill_picker.activated.connect(self._pick_spill)
        self.rebid_button = QPushButton("REBID", self)
        self.rebid_button.setObjectName("rebidButton")
        self.rebid_button.clicked.connect(self.rebid_requested)
        header = QHBoxLayout()
        header.setSpacing(14)
        header.addWidget(self.title_label)
        header.addWidget(self.line_label)
        header.addWidget(self.state_label)
        header.addStretch(1)
        header.addWidget(self.spill_label)
        header.addWidget(self.spill_picker)
        header.addWidget(self.rebid_button)
        self.transfer_button = QPushButton("TRANSFER   Ctrl+D", self)
        self.transfer_button.setObjectName("transferButton")
        self.transfer_button.setToolTip("Search the transfer directory (Ctrl+D)")
        self.transfer_button.clicked.connect(self.transfer_requested)
        header.addWidget(self.transfer_button)

        self.flag_label: QLabel = plain_label(object_name="registryFlag")
        self.flag_label.setWordWrap(True)
        self.warning_label: QLabel = plain_label(object_name="locationWarning")
        self.warning_label.setWordWrap(True)
        self.confirm_button = QPushButton("LOCATION CONFIRMED   F6", self)
        self.confirm_button.setObjectName("confirmLocationButton")
        self.confirm_button.setToolTip("The caller has confirmed where they are (F6)")
        self.confirm_button.clicked.connect(self.location_confirmed)
        warning_row = QHBoxLayout()
        warning_row.addWidget(self.warning_label, 1)
        warning_row.addWidget(self.confirm_button)
        self.warning_row = QWidget(self)
        self.warning_row.setObjectName("locationWarningRow")
        self.warning_row.setLayout(warning_row)
        warning_row.setContentsMargins(0, 0, 0, 0)

        self.bcc_label: QLabel = plain_label(object_name="bccWarning")
        self.bcc_label.setWordWrap(True)
        self.errors_label: QLabel = plain_label(object_name="spillErrors")
        self.errors_label.setWordWrap(True)

        self.location = LocationBlock(self)

        self.ali_text = RawTextView(object_name="aliText")
        self.ali_text.setPlaceholderText("No active call. Answer a ringing line to see its location here.")
        self.timeline_list = QListWidget(self)
        self.timeline_list.setObjectName("callTimeline")
        self.details = QTabWidget(self)
        self.details.setObjectName("callDetails")
        self.details.addTab(self.ali_text, "RAW SPILL")
        self.details.addTab(self.timeline_list, "TIMELINE")
        self.details.setMinimumHeight(DETAILS_MIN_HEIGHT)

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
        layout.addWidget(self.flag_label)
        layout.addWidget(self.warning_row)
        layout.addWidget(self.bcc_label)
        layout.addWidget(self.errors_label)
        layout.addWidget(self.location)
        layout.addWidget(self.details, 1)
        layout.addLayout(times)

        self._talk_timer = QTimer(self)
        self._talk_timer.setInterval(500)
        self._talk_timer.timeout.connect(self._update_talk_time)
        self._can_rebid = False
        self._raw_pending = ""
        self._raw_timer = QTimer(self)
        self._raw_timer.setSingleShot(True)
        self._raw_timer.setInterval(0)
        self._raw_timer.timeout.connect(lambda: set_plain_text(self.ali_text, self._raw_pending))
        self.render(None)

    def set_can_rebid(self, can: bool) -> None:
        self._can_rebid = can
        self.rebid_button.setToolTip(
            "Ask the phone system for a fresh location (rebid)" if can
            else "This site has no rebid request configured (ali.rebid_request), or no ALI link")
        self._update_rebid_button()

    def _update_rebid_button(self) -> None:
        self.rebid_button.setEnabled(self._can_rebid and self.call is not None and self.call.end_wall is None)

    @property
    def shown_spill(self) -> SpillView | None:
        call = self.call
        if call is None or not call.spills:
            return None
        if self._picked_seq is not None:
            picked = next((s for s in call.spills if s.seq == self._picked_seq), None)
            if picked is not None:
                return picked
        return call.current_spill

    def render(self, call: CallView | None) -> None:
        if call is None or self.call is None or call.id != self.call.id:
            self._picked_seq = None  # a new call starts on its newest spill
        self.call = call
        self._update_rebid_button()
        if call is None:
            set_plain(self.line_label, "")
            set_plain(self.state_label, "NO CALL")
            set_style_state(self.state_label, "state", "none")
            set_plain(self.spill_label, "")
            self.spill_picker.clear()
            self.spill_picker.setVisible(False)
            self._show_flags(())
            self._show_warning("")
            self._show_spill(None)
            self.timeline_list.clear()
            set_plain(self.ring_label, "")
            set_plain(self.answer_label, "")
            set_plain(self.delay_label, "")
            set_plain(self.talk_label, "")
            self._talk_timer.stop()
            return
        set_plain(self.line_label, f"LINE {call.line}")
        set_plain(self.state_label, call.state.upper())
        set_style_state(self.state_label, "state", call.state)
        self._fill_picker(call)
        spill = self.shown_spill
        text = spill_position_text(call)
        if spill is not None:
            text = f"{text} · received {clock_text(call.current_spill.received_wall)}"  # type: ignore[union-attr]
        set_plain(self.spill_label, text)
        self._show_flags(call.flags)
        self._show_warning(call.location_warning)
        self._show_spill(spill)
        self._show_timeline(call)
        set_plain(self.ring_label, f"RING {clock_text(call.ring_wall)}")
        set_plain(self.answer_label, f"ANSWERED {clock_text(call.answer_wall)}")
        set_plain(self.delay_label, f"ANSWER DELAY {answer_delay_text(call)}")
        self._update_talk_time()
        if call.end_wall is None and call.answer_wall is not None:
            self._talk_timer.start()
        else:
            self._talk_timer.stop()

    def _fill_picker(self, call: CallView) -> None:
        count = len(call.spills)
        self.spill_picker.setVisible(count > 1)
        items = [spill_choice_text(i, count, spill) for i, spill in enumerate(call.spills)]
        if [self.spill_picker.itemText(i) for i in range(self.spill_picker.count())] != [one_line(t) for t in items]:
            self.spill_picker.clear()
            for text, spill in zip(items, call.spills):
                self.spill_picker.addItem(one_line(text), spill.seq)
        shown = self.shown_spill
        if shown is not None:
            self.spill_picker.setCurrentIndex(max(self.spill_picker.findData(shown.seq), 0))

    def _pick_spill(self, index: int) -> None:
        call = self.call
        if call is None or not (0 <= index < len(call.spills)):
            return
        self._picked_seq = None if index == len(call.spills) - 1 else call.spills[index].seq
        self.render(call)

    def _show_flags(self, flags: tuple[RegistryFlag, ...]) -> None:
        self.flag_label.setText(visible_controls(flag_text(flags), keep_newlines=True))
        self.flag_label.setVisible(bool(flags))

    def _show_warning(self, warning: str) -> None:
        set_plain(self.warning_label, f"⚠ {warning}" if warning else "")
        self.warning_row.setVisible(bool(warning))
        self.confirm_button.setEnabled(bool(warning) and self.call is not None and self.call.end_wall is None)

    def _show_spill(self, spill: SpillView | None) -> None:
        warning = bcc_text(spill)
        set_plain(self.bcc_label, warning)
        self.bcc_label.setVisible(bool(warning))
        set_style_state(self.bcc_label, "state", "bad" if spill is not None and spill.bcc_ok is False else "unchecked")
        errors = spill.errors if spill is not None else ()
        self.errors_label.setText("\n".join(f"⚠ {one_line(error)}" for error in errors))  # PlainText label
        self.errors_label.setVisible(bool(errors))
        self.location.render(spill)
        raw = broken_at_line_ends(spill.raw_text) if spill is not None else ""
        if spill is not None and spill.kind != "ali":
            set_plain_text(self.ali_text, raw)  # nothing was read: the raw text is the location, show it now
            self.details.setCurrentWidget(self.ali_text)
        else:
            # Laying out and painting the raw text costs more than the rest of the pop together, so
            # the location is painted first and the raw text follows on the next pass of the event loop.
            self._raw_pending = raw
            self._raw_timer.start()

    def _show_timeline(self, call: CallView) -> None:
        lines = [f"{clock_text(entry.wall)}  {one_line(entry.text)}" for entry in call.timeline]
        if [self.timeline_list.item(i).text() for i in range(self.timeline_list.count())] != lines:
            self.timeline_list.clear()
            self.timeline_list.addItems(lines)
            self.timeline_list.scrollToBottom()

    def _update_talk_time(self) -> None:
        call = self.call
        if call is None or call.answer_wall is None:
            set_plain(self.talk_label, "")
            return
        end = call.end_wall if call.end_wall is not None else time.time()
        set_plain(self.talk_label, f"ON CALL {duration_text(end - call.answer_wall)}")
