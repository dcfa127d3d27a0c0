"""One radio channel as a tile: readable from arm's length, state in words and shapes as well as colour.

Shows name, selected, receive/transmit with the unit heard or who keyed, the patch group, the
transmit time-out countdown, failed-to-key, monitor, and an emergency (flashing, with ACK). Under the
state line: a thin meter of the radio's receive audio, MON (monitor), TX (instant transmit: hold),
RECALL (instant recall of the last transmission into the headset) and MUTE.

Repaints are cheap: the tile's fill and border, the lamp and the badges are painted from the theme's
palette in paintEvent, and text colours are set on the widgets' palettes. No state change restyles a
widget through the stylesheet (unpolish/polish costs milliseconds per tile); only the operator's own
button presses (MUTE, RECALL) do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from PySide6.QtCore import QEvent, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QFrame, QHBoxLayout, QInputDialog, QLabel, QLineEdit, QMenu, QMessageBox, QPushButton, QSizePolicy, QVBoxLayout,
    QWidget,
)

from app.snapshots import ChannelView
from ui.dispatcher.badge import Badge
from ui.theme.palette import ThemePalette
from ui.theme.stylesheet import current_palette
from ui.widgets.fit_text import FitText
from ui.widgets.level_meter import LevelMeter
from ui.widgets.plain import one_line, plain_label, plain_tooltip
from ui.widgets.style import set_style_state
from ui.widgets.times import clock_text

LINK_LOST = ("down", "fault")
COMPACT_BUTTON_QSS = "QPushButton { font-size: 13px; padding: 4px 8px; border-radius: 5px; }"
# Patch groups by colour as well as by name; none of these is a state colour (or the demo's violet).
PATCH_COLOURS = ("#26c6da", "#f48fb1", "#d4e157", "#ffcc80", "#80cbc4", "#90caf9")


@dataclass(frozen=True, slots=True)
class TileLook:
    """What a tile shows for one ChannelView, worked out without any widget (easy to test and reuse)."""

    state: str  # tile style: down, tx, pending, failed, rx, unknown, idle (highest priority wins)
    activity: str  # lamp style: tx, pending, rx, idle, down
    lamp_text: str  # shape + word, e.g. "▼ RX"
    detail: str  # unit heard, who keyed, or last heard
    notice: str  # why it cannot be used right now; empty when it can
    emergency: str = ""  # "EMERGENCY · UNIT 2B4F" while not acknowledged


def tile_look(view: ChannelView) -> TileLook:
    emergency = ""
    if view.emergency:
        emergency = f"⚠ EMERGENCY · UNIT {view.emergency_unit}" if view.emergency_unit else "⚠ EMERGENCY"
    if view.link in LINK_LOST:
        word = "LINK DOWN" if view.link == "down" else "LINK FAULT"
        return TileLook("down", "down", f"✖ {word}", "", view.link_detail or "no detail from the driver", emergency)

    if view.transmitting:
        activity, lamp = "tx", "▲ TX"
        source = view.tx_source.replace("patch:", "patch ").replace("alert:", "alert ")
        detail = f"by {source}" if source else ""
    elif view.key_pending:
        activity, lamp, detail = "pending", "△ KEYING…", ""
    elif view.receiving:
        activity, lamp = "rx", "▼ RX"
        detail = f"UNIT {_unit_text(view)}" if view.unit_id else "unit unknown"
    else:
        activity, lamp = "idle", "IDLE"  # said quietly (dim, no fill) so active tiles stand out
        heard = []
        if view.last_rx_wall is not None:
            heard.append(f"last RX {clock_text(view.last_rx_wall)}")
        if view.unit_id:
            heard.append(_unit_text(view))
        detail = " · ".join(heard)
    if view.alert and activity in ("tx", "pending"):
        detail = f"ALERT {view.alert.upper()}"

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
    return TileLook(state, activity, lamp, detail, notice, emergency)


def _unit_text(view: ChannelView) -> str:
    """The unit heard, with its name from the alias table when it has one (plain text, from outside)."""
    return f"{view.unit_id} · {one_line(view.unit_name)}" if view.unit_name else view.unit_id


# Signals the dispatcher can send from a tile's menu: action -> (menu text, what to type).
SIGNAL_ACTIONS: dict[str, tuple[str, str]] = {
    "call_alert": ("Call alert (MDC1200)…", "Unit ID (1-4 hex digits)"),
    "radio_check": ("Radio check (MDC1200)…", "Unit ID (1-4 hex digits)"),
    "qc2": ("Page: Quick Call II…", "Tone A and tone B in Hz, e.g. 349.0 433.7"),
    "dtmf": ("Page: DTMF…", "DTMF digits (0-9 * # A-D)"),
    "zvei1": ("Page: 5-tone ZVEI1…", "5-tone digits"),
    "ccir": ("Page: 5-tone CCIR…", "5-tone digits"),
}


def signal_request(action: str, text: str) -> tuple[str, dict]:
    """What the dispatcher typed for ``action`` as (signaling kind, encoder params); ValueError saying what is wrong."""
    text = text.strip()
    if action in ("call_alert", "radio_check"):
        from app.dsp.mdc1200_meaning import CALL_ALERT, RADIO_CHECK, parse_unit, unit_text

        unit = unit_text(parse_unit(text))  # ValueError names the bad ID
        op, arg = CALL_ALERT if action == "call_alert" else RADIO_CHECK
        params: dict = {"op": op, "arg": arg, "unit": unit}
        if action == "call_alert":
            params["extra"] = bytes(4)  # a double packet: the second block's 4 bytes (none to say)
        return "mdc1200", params
    if action == "qc2":
        parts = text.replace(",", " ").split()
        try:
            tones = tuple(float(p) for p in parts)
        except ValueError:
            tones = ()
        if len(tones) != 2:
            raise ValueError(f"Quick Call II needs two tone frequencies in Hz, got {text!r}")
        return "qc2", {"tones": tones}
    if action in ("dtmf", "zvei1", "ccir"):
        if not text:
            raise ValueError("type the digits to send")
        return action, {"digits": text.upper() if action == "dtmf" else text}
    raise ValueError(f"unknown signal action {action!r}")


def tot_text(view: ChannelView, now: float) -> str:
    """The time-out countdown, "TOT 0:42" ("LATCHED 0:42" for a latched PTT), while keyed with a deadline."""
    if not view.transmitting or view.tx_deadline_t is None:
        return ""
    left = max(0, int(view.tx_deadline_t - now + 0.999))
    return f"{'LATCHED' if view.latched else 'TOT'} {left // 60}:{left % 60:02d}"


def patch_colour(group_id: str, groups: tuple[str, ...]) -> str:
    index = groups.index(group_id) if group_id in groups else sum(map(ord, group_id))
    return PATCH_COLOURS[index % len(PATCH_COLOURS)]


def _fill_and_edge(state: str, colours: ThemePalette) -> tuple[str, str]:
    return {
        "rx": (colours.rx_fill, colours.rx),
        "tx": (colours.tx_fill, colours.tx),
        "pending": (colours.warn_fill, colours.warn),
        "failed": (colours.warn_fill, colours.warn),
        "down": (colours.down_fill, colours.down),
    }.get(state, (colours.surface, colours.border))


def _set_text_colour(widget: QWidget, colour: str) -> None:
    """A text colour through the widget's palette: no stylesheet pass, only a repaint."""
    palette = widget.palette()
    wanted = QColor(colour)
    if palette.color(QPalette.ColorRole.WindowText) != wanted:
        palette.setColor(QPalette.ColorRole.WindowText, wanted)
        widget.setPalette(palette)


class ChannelTile(QFrame):
    """Click selects this channel alone; Ctrl+click (or Ctrl+Space) adds or removes it from the multi-select."""

    clicked = Signal(str, bool)  # channel id, toggle (True = multi-select toggle, False = exclusive)
    recall_clicked = Signal(str)  # channel id: replay its last transmission (again: stop)
    mute_clicked = Signal(str, bool)  # channel id, muted
    monitor_clicked = Signal(str, bool)  # channel id, monitor on
    instant_held = Signal(str, bool)  # channel id, pressed: instant transmit on this channel
    ack_clicked = Signal(str)  # channel id: acknowledge its emergency
    signal_requested = Signal(str, str, object)  # channel id, signaling kind, encoder params (a page, call alert)
    tune_requested = Signal(str, str)  # channel id, radio channel (hamlib) or function (tone remote) name

    def __init__(self, view: ChannelView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        # Not "channelTile": the stylesheet's tile rules would paint a border and fill of their own,
        # evaluated only at polish time; this tile paints both itself (see paintEvent).
        self.setObjectName("channelCard")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        # Equal widths from the grid whatever the text; height from the content (same for every tile).
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.channel_id = view.id
        self.view: ChannelView | None = None
        self.look: TileLook | None = None
        self._patch_groups: tuple[str, ...] = ()
        self._flash_on = False
        self._tot = ""

        # Two lines, shrinking to fit: a long name is shown whole instead of being cut.
        self.name_label = FitText(object_name="tileName", lines=2, min_pixel_size=16)
        self.kind_label: QLabel = plain_label(object_name="tileKind")
        self.selected_label: QLabel = plain_label("◆ SELECTED", object_name="tileSelected")
        self.patch_badge = Badge(self, object_name="tilePatch", pixel_size=13)
        self.lamp_label = Badge(self, object_name="tileLampBadge", pixel_size=22, pad_x=12, pad_y=4)
        self.detail_label = FitText(object_name="tileDetail", lines=1, min_pixel_size=13)
        self.tot_label = Badge(self, object_name="tileTot", pixel_size=15, min_width=84)
        self.notice_label = FitText(object_name="tileNotice", lines=2, min_pixel_size=12)
        self.emergency_label = Badge(self, object_name="tileEmergency", pixel_size=19, pad_x=10, pad_y=4, fit=True)
        self.ack_button = QPushButton("ACK", self)
        self.ack_button.setObjectName("tileAck")
        self.ack_button.setToolTip("Acknowledge the emergency (stops the alarm; logged with your name)")
        self.ack_button.clicked.connect(lambda: self.ack_clicked.emit(self.channel_id))
        self.rx_meter = LevelMeter(self, thin=True, object_name="tileMeter")
        self.rx_meter.setAccessibleName("receive level")
        self.rx_meter.setVisible(False)  # until the grid knows the radio has a receive input
        self.monitor_button = QPushButton("MON", self)
        self.monitor_button.setObjectName("tileMonitor")
        self.monitor_button.setCheckable(True)
        self.monitor_button.setToolTip("Monitor: open this channel's audio regardless of squelch")
        self.monitor_button.clicked.connect(lambda on: self.monitor_clicked.emit(self.channel_id, on))
        self.tx_button = QPushButton("TX", self)
        self.tx_button.setObjectName("tileTx")
        # Never takes focus (a stray Space would key), and a hold: pressed keys, released unkeys.
        self.tx_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tx_button.setAutoRepeat(False)
        self.tx_button.setToolTip("Hold to transmit on this channel only (instant transmit)")
        self.tx_button.pressed.connect(lambda: self._set_instant(True))
        self.tx_button.released.connect(lambda: self._set_instant(False))
        self._instant = False
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
        top.addWidget(self.patch_badge)
        top.addWidget(self.selected_label)

        state_row = QHBoxLayout()
        state_row.setSpacing(12)
        state_row.addWidget(self.lamp_label)
        state_row.addWidget(self.detail_label, 1, Qt.AlignmentFlag.AlignVCenter)
        state_row.addWidget(self.tot_label)

        self.emergency_row = QWidget(self)
        emergency = QHBoxLayout(self.emergency_row)
        emergency.setContentsMargins(0, 0, 0, 0)
        emergency.setSpacing(8)
        emergency.addWidget(self.emergency_label, 1)
        emergency.addWidget(self.ack_button)
        self.emergency_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.emergency_row.setVisible(False)

        audio_row = QHBoxLayout()
        audio_row.setSpacing(8)
        audio_row.addWidget(self.rx_meter, 1, Qt.AlignmentFlag.AlignVCenter)
        audio_row.addStretch(0)
        for button in (self.monitor_button, self.tx_button, self.recall_button, self.mute_button):
            audio_row.addWidget(button)
        for button in (self.monitor_button, self.tx_button, self.ack_button):
            # Set once at creation (never restyled): the compact shape of RECALL and MUTE in console.qss.
            button.setStyleSheet(COMPACT_BUTTON_QSS)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(21, 15, 21, 17)  # 5 px of painted border inside the old margins
        layout.setSpacing(6)
        layout.addLayout(top)
        layout.addWidget(self.name_label)
        layout.addLayout(state_row)
        layout.addWidget(self.notice_label)
        layout.addWidget(self.emergency_row)
        layout.addLayout(audio_row)
        self.render(view)
        self.show_audio(False, "")

    # -- showing ---------------------------------------------------------------------------------
    def render(self, view: ChannelView, patch_groups: tuple[str, ...] | None = None) -> None:
        if patch_groups is not None and patch_groups != self._patch_groups:
            self._patch_groups = patch_groups
            self.view = None  # colours by group order changed
        if view == self.view:
            return
        self.view = view
        look = tile_look(view)
        self.look = look
        self.name_label.setText(view.name or view.id)
        self.kind_label.setText(one_line(view.kind.upper() + (f" · {view.tuned}" if view.tuned else "")))
        self.detail_label.setText(look.detail)
        self.notice_label.setText(look.notice)
        self.selected_label.setVisible(view.selected)
        self.mute_button.setChecked(view.muted)
        self.mute_button.setText("✕ MUTED" if view.muted else "MUTE")
        self.mute_button.setToolTip("Muted: you do not hear this channel. Click to hear it again."
                                    if view.muted else "Stop hearing this channel (its tile still shows activity)")
        set_style_state(self.mute_button, "state", "muted" if view.muted else "off")  # operator's press: rare
        self.monitor_button.setChecked(view.monitor)
        self.monitor_button.setText("◉ MON" if view.monitor else "MON")
        self.emergency_row.setVisible(bool(look.emergency))
        # Properties for tests and accessibility tools; the look itself is painted (no restyle).
        self.setProperty("state", look.state)
        self.setProperty("selected", view.selected)
        self.setProperty("emergency", view.emergency)
        self._paint_state(current_palette())
        self.setToolTip(self._tooltip(view, look))
        self.setAccessibleName(one_line(view.name or view.id))
        self.setAccessibleDescription(one_line(" ".join(filter(None, [
            look.emergency, look.lamp_text, look.detail, look.notice,
            f"patch {view.patch_group}" if view.patch_group else "", "monitor on" if view.monitor else ""]))))

    def tick(self, now: float, flash_on: bool) -> None:
        """Called a few times a second by the grid while something moves: countdown and flashing."""
        text = tot_text(self.view, now) if self.view is not None else ""
        flash_on = flash_on and self.view is not None and self.view.emergency
        if text == self._tot and flash_on == self._flash_on:
            return
        self._tot, self._flash_on = text, flash_on
        self._paint_state(current_palette())

    def needs_ticks(self) -> bool:
        view = self.view
        return view is not None and (view.emergency or (view.transmitting and view.tx_deadline_t is not None)
                                     or bool(self._tot) or self._flash_on)

    def _paint_state(self, colours: ThemePalette) -> None:
        view, look = self.view, self.look
        if view is None or look is None:
            return
        self._tot = tot_text(view, time.monotonic()) if view.transmitting else ""
        self._flash_on = self._flash_on and view.emergency
        lamp = {
            "rx": (colours.text_on_state, colours.rx, None),
            "tx": (colours.text_on_state, colours.tx, None),
            "pending": (colours.warn, None, colours.warn),
            "down": (colours.down, None, colours.down),
        }.get(look.activity, (colours.text_dim, None, None))
        self.lamp_label.show_text(look.lamp_text, *lamp, pixel_size=17 if look.activity == "idle" else 22)
        if view.tot_warning:
            self.tot_label.show_text(self._tot, colours.text_on_state, colours.warn)
        else:
            self.tot_label.show_text(self._tot, colours.text, None, colours.border if self._tot else None)
        if view.patch_group:
            colour = patch_colour(view.patch_group, self._patch_groups)
            self.patch_badge.show_text(f"⇄ {view.patch_group}", colours.text_on_state, colour)
        else:
            self.patch_badge.show_text("", colours.text)
        if look.emergency:
            if self._flash_on:
                self.emergency_label.show_text(look.emergency, colours.text_on_state, colours.alarm)
            else:
                self.emergency_label.show_text(look.emergency, colours.alarm, None, colours.alarm)
        down = look.state == "down"
        _set_text_colour(self.name_label, colours.down if down else colours.text)
        _set_text_colour(self.detail_label, colours.down if down else colours.text)
        _set_text_colour(self.notice_label, colours.warn if look.state == "failed" else colours.text_dim)
        self.update()

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

    def paintEvent(self, event: QPaintEvent) -> None:
        look, view = self.look, self.view
        if look is None or view is None:
            return
        colours = current_palette()
        fill, edge = _fill_and_edge(look.state, colours)
        width = 2.0
        if view.selected:
            edge, width = colours.accent, 5.0
        if self._flash_on:
            edge, width = colours.alarm, 5.0
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = QRectF(self.rect()).adjusted(width / 2, width / 2, -width / 2, -width / 2)
        pen = QPen(QColor(edge), width)
        if look.state == "down":
            pen.setStyle(Qt.PenStyle.DotLine)
        elif self.hasFocus():
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(QColor(fill))
        painter.drawRoundedRect(box, 10, 10)

    @staticmethod
    def _tooltip(view: ChannelView, look: TileLook) -> str:
        lines = [
            f"Channel: {view.name}",
            f"Id: {view.id}   Kind: {view.kind}",
            f"Link: {view.link}" + (f" — {view.link_detail}" if view.link_detail else ""),
        ]
        if look.emergency:
            lines.append(look.emergency)
        if view.patch_group:
            lines.append(f"Patched in group {view.patch_group}")
        if look.notice:
            lines.append(look.notice)
        lines.append("Click: select only this · Ctrl+click: add/remove from multi-select")
        return plain_tooltip(*lines)

    # -- input -----------------------------------------------------------------------------------
    def release_instant(self) -> None:
        """Let go of instant transmit from our side (hidden, removed): never leave it keyed."""
        if self.tx_button.isDown():
            self.tx_button.setDown(False)
        self._set_instant(False)

    def _set_instant(self, held: bool) -> None:
        if held != self._instant:
            self._instant = held
            self.instant_held.emit(self.channel_id, held)

    def hideEvent(self, event) -> None:
        self.release_instant()
        super().hideEvent(event)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._repaint_state()  # the first polish gave the labels the stylesheet's colours

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.StyleChange:  # a theme switch: new colours once children are restyled
            QTimer.singleShot(0, self, self._repaint_state)

    def _repaint_state(self) -> None:
        self._paint_state(current_palette())

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            toggle = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            self.clicked.emit(self.channel_id, toggle)
            event.accept()
            return
        super().mousePressEvent(event)

    def contextMenuEvent(self, event) -> None:
        """Right click: send a call alert, radio check or page on this channel (PTT held for the signal)."""
        menu = QMenu(self)
        for action, (label, _) in SIGNAL_ACTIONS.items():
            menu.addAction(label).setData(action)
        channels = self.view.channels if self.view is not None else ()
        if channels:
            switch = menu.addMenu("Radio channel")
            for name in channels:
                item = switch.addAction(one_line(name))  # from the profile: shown as text, never markup
                item.setData(f"tune:{name}")
                item.setCheckable(True)
                item.setChecked(self.view is not None and name == self.view.tuned)
        chosen = menu.exec(event.globalPos())
        if chosen is not None:
            data = str(chosen.data())
            if data.startswith("tune:"):
                self.tune_requested.emit(self.channel_id, data[len("tune:"):])
            else:
                self.ask_signal(data)
        event.accept()

    def ask_signal(self, action: str) -> None:
        label, prompt = SIGNAL_ACTIONS[action]
        text, ok = QInputDialog.getText(self, label.rstrip("…"), prompt, QLineEdit.EchoMode.Normal, "")
        if ok:
            self.send_typed_signal(action, text)

    def send_typed_signal(self, action: str, text: str) -> bool:
        """Check what was typed and ask for the signal; a plain-text warning when it cannot be sent."""
        try:
            kind, params = signal_request(action, text)
        except ValueError as err:
            box = QMessageBox(QMessageBox.Icon.Warning, "Cannot send", str(err), parent=self)
            box.setTextFormat(Qt.TextFormat.PlainText)
            box.open()
            return False
        self.signal_requested.emit(self.channel_id, kind, params)
        return True

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.isAutoRepeat():
            toggle = bool(event.modifiers() & Qt.KeyboardModifier.ControlModifier)
            self.clicked.emit(self.channel_id, toggle)
            event.accept()
            return
        super().keyPressEvent(event)
