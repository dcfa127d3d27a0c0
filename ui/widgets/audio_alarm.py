"""The red banner across the top of the window while the sound device is lost.

A lost device means no radio audio in the headset and every transmitter unkeyed; the operator must
know at once, from any role view. The banner says so in words, names the device and what failed
(device names and error text come from outside: plain text only), and disappears when the device
is back.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.snapshots import AudioSnapshot
from ui.widgets.link_state import link_word
from ui.widgets.plain import plain_label, set_plain


def alarm_detail(snap: AudioSnapshot) -> str:
    """The second line: which device, which backend, what state, how often it was restarted."""
    parts = [f"Sound device: {snap.device or 'default'} ({snap.backend or 'no backend'})",
             f"state {link_word(snap.state)}"]
    if snap.detail and snap.detail not in snap.alarm:
        parts.append(snap.detail)
    if snap.restarts:
        parts.append(f"{snap.restarts} restart(s)")
    parts.append("the console must restart to reconnect" if snap.restart_required else "retrying")
    return " · ".join(parts)


class AudioAlarmBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("audioAlarm")
        self.title: QLabel = plain_label(object_name="audioAlarmText")
        self.title.setWordWrap(True)
        self.detail: QLabel = plain_label(object_name="audioAlarmDetail")
        self.detail.setWordWrap(True)
        for label in (self.title, self.detail):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Only when the sound system can come back in a fresh process alone (see MainWindow).
        self.countdown: QLabel = plain_label(object_name="audioAlarmDetail")
        self.restart_button = QPushButton("RESTART CONSOLE NOW", self)
        self.restart_button.setObjectName("audioRestart")
        restart_row = QHBoxLayout()
        restart_row.addStretch(1)
        restart_row.addWidget(self.countdown)
        restart_row.addWidget(self.restart_button)
        restart_row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.detail)
        layout.addLayout(restart_row)
        self.show_restart("")
        self.setVisible(False)

    def show_restart(self, countdown_text: str) -> None:
        """Show the restart row with ``countdown_text`` ("" hides the row)."""
        set_plain(self.countdown, countdown_text)
        self.countdown.setVisible(bool(countdown_text))
        self.restart_button.setVisible(bool(countdown_text))

    def render(self, snap: AudioSnapshot) -> None:
        if not snap.alarm:
            self.setVisible(False)
            return
        set_plain(self.title, f"⚠ {snap.alarm}")
        set_plain(self.detail, alarm_detail(snap))
        self.setAccessibleName(self.title.text())
        self.setVisible(True)
