"""The dispatcher's console actions beside push-to-talk: alert tones on the selected channels, talk
back to the last active channel (hold), and patching the selected channels together."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from app.snapshots import ConsoleSnapshot

ALERTS = (("alert1", "ALERT 1"), ("alert2", "ALERT 2"), ("alert3", "ALERT 3"))


def next_patch_id(snapshot: ConsoleSnapshot) -> str:
    """The first free "P<n>" group name."""
    n = 1
    while f"P{n}" in snapshot.patch_ids:
        n += 1
    return f"P{n}"


class ActionBar(QWidget):
    alert = Signal(str)  # alert kind, on the selected channels
    talk_back = Signal(bool)  # held
    patch = Signal()  # patch the selected channels together
    unpatch = Signal()  # undo the patches the selected channels are in

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("actionBar")
        self.alert_buttons: dict[str, QPushButton] = {}
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        for kind, text in ALERTS:
            button = self._button(text, f"Send {text.lower()} on the selected channels (PTT is held for the tone)")
            button.clicked.connect(lambda _=False, k=kind: self.alert.emit(k))
            self.alert_buttons[kind] = button
            layout.addWidget(button)
        layout.addSpacing(16)
        self.talk_back_button = self._button("↩ TALK BACK", "Hold to transmit on the channel that received last")
        self.talk_back_button.setAutoRepeat(False)
        self.talk_back_button.pressed.connect(lambda: self._set_talk_back(True))
        self.talk_back_button.released.connect(lambda: self._set_talk_back(False))
        layout.addWidget(self.talk_back_button)
        layout.addSpacing(16)
        self.patch_button = self._button("⇄ PATCH", "Patch the selected channels together")
        self.patch_button.clicked.connect(self.patch)
        self.unpatch_button = self._button("UNPATCH", "Undo the patches the selected channels are in")
        self.unpatch_button.clicked.connect(self.unpatch)
        layout.addWidget(self.patch_button)
        layout.addWidget(self.unpatch_button)
        layout.addStretch(1)
        self._talking_back = False
        self.render(ConsoleSnapshot())

    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setObjectName("actionButton")
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a stray Space must never send a tone or key
        button.setToolTip(tip)
        return button

    def render(self, snapshot: ConsoleSnapshot) -> None:
        selected = [view for view in snapshot.channels if view.selected]
        for button in self.alert_buttons.values():
            button.setEnabled(bool(selected))
        self.patch_button.setEnabled(len(selected) >= 2)
        self.unpatch_button.setEnabled(any(view.patch_group for view in selected))
        last = next((view for view in snapshot.channels if view.id == snapshot.last_active), None)
        self.talk_back_button.setEnabled(last is not None or self._talking_back)
        self.talk_back_button.setText(f"↩ TALK BACK · {last.name or last.id}" if last is not None else "↩ TALK BACK")

    def release(self) -> None:
        if self.talk_back_button.isDown():
            self.talk_back_button.setDown(False)
        self._set_talk_back(False)

    def hideEvent(self, event: QHideEvent) -> None:
        self.release()
        super().hideEvent(event)

    def _set_talk_back(self, held: bool) -> None:
        if held != self._talking_back:
            self._talking_back = held
            self.talk_back.emit(held)
