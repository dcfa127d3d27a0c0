"""One radio channel as a tile: readable from arm's length, state in words and shapes as well as colour.

Under the state line: a thin meter of the radio's receive audio, RECALL (instant recall of the last
transmission into the headset; press again to stop) and MUTE (what the operator hears of it).
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from app.snapshots import ChannelView
from ui.widgets.fit_text import FitText
from ui.widgets.level_meter import LevelMeter
from ui.widgets.plain import one_line, plain_label, plain_tooltip, set_plain
from ui.widgets.style import set_style_state
from ui.widgets.times import clock_text

LINK_LOST = ("down", "fault")


@dataclass(frozen=True, slots=True)
class TileLook:
    """What a tile shows for one ChannelView, worked out without any widget (easy to test and reuse)."""

    state: str  # tile style: down, tx, pending, failed, rx, unknown, idle (highest priority wins)
    activity: str  # lamp style: tx, pending, rx, idle, down
    lamp_text: str  # shape + word, e.g. "▼ RX"
    detail: str  # unit heard, who keyed, or last heard
    notice: str  # why it cannot be used right now; empty when it can


def tile_look(view: ChannelView) -> TileLook:
    if view.link in LINK_LOST:
        word = "LINK DOWN" if view.link == "down" else "LINK FAULT"
        return TileLook("down", "down", f"✖ {word}", "", view.link_detail or "no detail from the driver")

    if view.transmitting:
        activity, lamp = "tx", "▲ TX"
        detail = f"keyed by {view.tx_source}" if view.tx_source else ""
    elif view.key_pending:
        activity, lamp, detail = "pending", "△ KEYING…", ""
    elif view.receiving:
        activity, lamp = "rx", "▼ RX"
        detail = f"UNIT {view.unit_id}" if view.unit_id else "unit unknown"
    else:
        activity, lamp = "idle", "IDLE"  # said quietly (dim, no fill) so active tiles stand out
        heard = []
        if view.last_rx_wall is not None:
            heard.append(f"last RX {clock_text(view.last_rx_wall)}")
        if view.unit_id:
            heard.append(view.unit_id)
        detail = " · ".join(heard)

    notice = ""
    if view.failed_to_key and not view.transmitting:
        notice = f"⚠ DID NOT KEY: {view.failed_to_key}"
    elif view.link == "unknown":
        notice = "○ link not reported yet"

    if activity in ("tx", "pending"):
        state = activity
    elif view.failed_to_key:
        state = "failed"
    elif activity == "rx":
        state = "rx"
    elif view.link == "unknown":
        state = "unknown"
    else:
        state = "idle"
    return TileLook(state, activity, lamp, detail, notice)


class ChannelTile(QFrame):
    """Click selects this channel alone; Ctrl+click (or Ctrl+Space) adds or removes it from the multi-select."""

    clicked = Signal(str, bool)  # channel id, toggle (True = multi-select toggle, False = exclusive)
    recall_clicked = Signal(str)  # channel id: replay its last transmission (again: stop)
    mute_clicked = Signal(str, bool)  # channel id, muted

    def __init__(self, view: ChannelView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("channelTile")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        # Equal widths from the grid whatever the text; height from the content (same for every tile).
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.channel_id = view.id
        self.view: ChannelView | None = None

        # Two lines, shrinking to fit: a long name is shown whole instead of being cut.
        self.name_label = FitText(object_name="tileName", lines=2, min_pixel_size=16)
        self.kind_label: QLabel = plain_label(object_name="tileKind")
        self.selected_label: QLabel = plain_label("◆ SELECTED", object_name="tileSelected")
        self.lamp_label: QLabel = plain_label(object_name="tileLamp")
        self.detail_label = FitText(object_name="tileDetail", lines=1, min_pixel_size=13)
        self.notice_label = FitText(object_name="tileNotice", lines=2, min_pixel_size=12)
        self.rx_meter = LevelMeter(self, thin=True, object_name="tileMeter")
        self.rx_meter.setAccessibleName("receive level")
        self.rx_meter.setVisible(False)  # until the grid knows the radio has a receive input
        self.recall_button = QPushButton("↺ RECALL", self)
        self.recall_button.setObjectName("tileRecall")
        self.recall_button.clicked.connect(lambda: self.recall_clicked.emit(self.channel_id))
        self.mute_button = QPushButton("MUTE", self)
        self.mute_button.setObjectName("tileMute")
        self.mute_button.setCheckable(True)
        self.mute_button.clicked.connect(lambda muted: self.mute_clicked.emit(self.channel_id, muted))
        self._replaying: bool | None = None  # not shown yet
        self._recall_problem = ""

        top = QHBoxLayout()
        top.setSpacing(8)
        top.addWidget(self.kind_label)
        top.addStretch(1)
        top.addWidget(self.selected_label)

        state_row = QHBoxLayout()
        state_row.setSpacing(12)
        state_row.addWidget(self.lamp_label)
        state_row.addWidget(self.detail_label, 1, Qt.AlignmentFlag.AlignVCenter)

        audio_row = QHBoxLayout()
        audio_row.setSpacing(8)
        audio_row.addWidget(self.rx_meter, 1, Qt.AlignmentFlag.AlignVCenter)
        audio_row.addStretch(0)
        audio_row.addWidget(self.recall_button)
        audio_row.addWidget(self.mute_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 12)
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.name_label)
        layout.addLayout(state_row)
        layout.addWidget(self.notice_label)
        layout.addLayout(audio_row)
        self.render(view)
        self.show_audio(False, "")

    # -- showing ---------------------------------------------------------------------------------
    def render(self, view: ChannelView) -> None:
        if view == self.view:
            return
        self.view = view
        look = tile_look(view)
        self.name_label.setText(view.name or view.id)
        set_plain(self.kind_label, view.kind.upper())
        set_plain(self.lamp_label, look.lamp_text)
        self.detail_label.setText(look.detail)
        self.notice_label.setText(look.notice)
        self.selected_label.setVisible(view.selected)
        self.mute_button.setChecked(view.muted)
        self.mute_button.setText("✕ MUTED" if view.muted else "MUTE")
        self.mute_button.setToolTip("Muted: you do not hear this channel. Click to hear it again."
                                    if view.muted else "Stop hearing this channel (its tile still shows activity)")
        set_style_state(self.mute_button, "state", "muted" if view.muted else "off")
        set_style_state(self, "state", look.state)
        set_style_state(self, "selected", view.selected)
        set_style_state(self.lamp_label, "activity", look.activity)
        # Children carry the state themselves: Qt restyles only the widget whose property changed.
        for child in (self.name_label, self.detail_label, self.notice_label):
            set_style_state(child, "state", look.state)
        self.setToolTip(self._tooltip(view, look))
        self.setAccessibleName(one_line(view.name or view.id))
        self.setAccessibleDescription(one_line(" ".join(filter(None, [look.lamp_text, look.detail, look.notice]))))

    def show_audio(self, replaying: bool, recall_problem: str) -> None:
        """RECALL's state: playing this channel's last transmission, or why recall cannot be used."""
        if (replaying, recall_problem) == (self._replaying, self._recall_problem):
            return
        self._replaying, self._recall_problem = replaying, recall_problem
        self.recall_button.setEnabled(not recall_problem or replaying)
        self.recall_button.setText("▶ PLAYING" if replaying else "↺ RECALL")
        if replaying:
            tip = "Playing the last transmission in your headset. Click to stop."
        elif recall_problem:
            tip = f"Instant recall unavailable: {recall_problem}"
        else:
            tip = "Play this channel's last transmission in your headset (never on the air)"
        self.recall_button.setToolTip(plain_tooltip(tip))
        set_style_state(self.recall_button, "state", "playing" if replaying else "off")

    def show_rx_meter(self, present: bool) -> None:
        self.rx_meter.setVisible(present)

    @staticmethod
    def _tooltip(view: ChannelView, look: TileLook) -> str:
        lines = [
            f"Channel: {view.name}",
            f"Id: {view.id}   Kind: {view.kind}",
            f"Link: {view.link}" + (f" — {view.link_detail}" if view.link_detail else ""),
        ]
        if look.notice:
            lines.append(look.notice)
        lines.append("Click: select only this · Ctrl+click: add/remove from multi-select")
        return plain_tooltip(*lines)

    # -- input -----------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            toggle = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            self.clicked.emit(self.channel_id, toggle)
            event.accept()
            return
        super().mousePressEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.isAutoRepeat():
            toggle = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            self.clicked.emit(self.channel_id, toggle)
            event.accept()
            return
        super().keyPressEvent(event)
