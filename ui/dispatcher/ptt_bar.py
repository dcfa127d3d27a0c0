"""The on-screen push-to-talk button and the line that says which channels it will key."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.snapshots import ConsoleSnapshot
from ui.dispatcher.keyboard_ptt import KEYBOARD_PTT_KEY_NAME
from ui.widgets.plain import plain_label, set_plain
from ui.widgets.style import set_style_state


class PttBar(QWidget):
    """Press and hold to transmit. Emits ``held(True)`` on press and ``held(False)`` on release, exactly once each."""

    held = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pttBar")
        self.button = QPushButton("PUSH TO TALK", self)
        self.button.setObjectName("pttButton")
        # Never takes focus: a focused button would key the radio on a stray Space bar.
        self.button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.button.setAutoRepeat(False)
        self.button.setToolTip(f"Hold to transmit on the selected channels (or hold {KEYBOARD_PTT_KEY_NAME})")
        self.button.pressed.connect(lambda: self._set_held(True))
        self.button.released.connect(lambda: self._set_held(False))

        self.target_title: QLabel = plain_label("TRANSMIT ON", object_name="pttTargetTitle")
        self.target_label: QLabel = plain_label(object_name="pttTarget")
        self.target_label.setWordWrap(True)
        self.hint_label: QLabel = plain_label(
            f"Hold the button, or hold {KEYBOARD_PTT_KEY_NAME} on the keyboard", object_name="pttHint"
        )

        targets = QVBoxLayout()
        targets.setSpacing(2)
        targets.addWidget(self.target_title)
        targets.addWidget(self.target_label)
        targets.addWidget(self.hint_label)
        targets.addStretch(1)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(20)
        layout.addLayout(targets, 1)
        layout.addWidget(self.button, 1)
        self._held = False
        self.render(ConsoleSnapshot())

    @property
    def is_held(self) -> bool:
        return self._held

    def render(self, snapshot: ConsoleSnapshot) -> None:
        selected = [view for view in snapshot.channels if view.selected]
        if selected:
            set_plain(self.target_label, ", ".join(view.name or view.id for view in selected))
        else:
            set_plain(self.target_label, "No channel selected — click a channel tile")
        if any(view.latched and view.tx_source == "console" for view in snapshot.channels):
            state, text = "tx", "▲ LATCHED · PRESS TO STOP"
        elif any(view.transmitting for view in selected) or "console" in snapshot.ptt_sources:
            state, text = "tx", "▲ TRANSMITTING"
        elif any(view.key_pending for view in selected):
            state, text = "pending", "△ KEYING…"
        elif selected:
            state, text = "ready", "PUSH TO TALK"
        else:
            state, text = "none", "PUSH TO TALK"
        self.button.setText(text)
        self.button.setToolTip("Press to transmit, press again to stop (latching)" if "console" in snapshot.latching
                               else f"Hold to transmit on the selected channels (or hold {KEYBOARD_PTT_KEY_NAME})")
        set_style_state(self.button, "state", state)  # follows the operator's own press: rare
        set_style_state(self.target_label, "state", "none" if not selected else "ready")

    def release(self) -> None:
        """Let go of PTT from our side (window hidden, focus lost): a stuck key is the worst failure."""
        if self.button.isDown():
            self.button.setDown(False)
        self._set_held(False)

    def hideEvent(self, event: QHideEvent) -> None:
        self.release()
        super().hideEvent(event)

    def _set_held(self, held: bool) -> None:
        if held != self._held:
            self._held = held
            self.held.emit(held)
