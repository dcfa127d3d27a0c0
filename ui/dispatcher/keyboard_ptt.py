"""Hold-to-talk from the keyboard.

The key is F12. The Space bar would key the radio whenever a dispatcher typed a space into a text
field, and letters or the backtick move with the keyboard layout. F12 is layout-independent, types
nothing, is the corner key of the function row (easy to find without looking), and is not bound by
Windows, GNOME or KDE by default. It works in every role view: radio traffic does not stop while
the dispatcher is looking at a 9-1-1 call.

Fail safe: auto-repeat is ignored, and if the application loses focus while the key is held (the
release would then go to another window) PTT is released at once.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent
from PySide6.QtWidgets import QWidget

KEYBOARD_PTT_KEY = Qt.Key.Key_F12
KEYBOARD_PTT_KEY_NAME = "F12"


class KeyboardPtt(QObject):
    """An application event filter that turns the PTT key of one window into ``held(bool)``."""

    held = Signal(bool)

    def __init__(self, window: QWidget, key: Qt.Key = KEYBOARD_PTT_KEY) -> None:
        super().__init__(window)
        self._window = window
        self._key = key
        self._held = False
        app = QGuiApplication.instance()
        app.installEventFilter(self)
        app.applicationStateChanged.connect(self._on_application_state)

    @property
    def is_held(self) -> bool:
        return self._held

    def release(self) -> None:
        self._set_held(False)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind not in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride):
            return False
        if not isinstance(event, QKeyEvent) or event.key() != self._key or not self._belongs_to_window(watched):
            return False
        if kind == QEvent.Type.ShortcutOverride:
            event.accept()  # claim the key so no shortcut elsewhere can take it
            return False
        if not event.isAutoRepeat():
            self._set_held(kind == QEvent.Type.KeyPress)
        return True  # consumed, including auto-repeats

    def _belongs_to_window(self, watched: QObject) -> bool:
        return isinstance(watched, QWidget) and watched.window() is self._window

    def _on_application_state(self, state: Qt.ApplicationState) -> None:
        if state != Qt.ApplicationState.ApplicationActive:
            self.release()

    def _set_held(self, held: bool) -> None:
        if held != self._held:
            self._held = held
            self.held.emit(held)
