"""Calls ringing at this position, oldest first, flashing so a ring is seen even with the sound down."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem, QWidget

from app.snapshots import CallView
from ui.widgets.plain import one_line, plain_tooltip
from ui.widgets.style import set_style_state
from ui.widgets.times import clock_text, duration_text

CALL_ID_ROLE = Qt.ItemDataRole.UserRole


class RingingList(QListWidget):
    """Double-click (or Enter) answers that call."""

    answer_requested = Signal(int)

    # 1 Hz on/off: noticeable in peripheral vision, far below the 3 Hz photosensitivity limit.
    FLASH_MS = 500

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ringingList")
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.calls: tuple[CallView, ...] = ()
        self._flash_on = False
        self._timer = QTimer(self)
        self._timer.setInterval(self.FLASH_MS)
        self._timer.timeout.connect(self._tick)
        self.itemActivated.connect(self._on_activated)
        set_style_state(self, "flash", False)

    def render(self, calls: tuple[CallView, ...]) -> None:
        chosen = self.chosen_call_id()
        self.calls = calls
        self.clear()
        for call in calls:
            item = QListWidgetItem(self._item_text(call))
            item.setData(CALL_ID_ROLE, call.id)
            item.setToolTip(plain_tooltip(f"Line {call.line}", f"Ringing since {clock_text(call.ring_wall)}",
                                          "Double-click or Enter answers this call"))
            self.addItem(item)
            if call.id == chosen:
                item.setSelected(True)
        if calls and not self._timer.isActive():
            self._timer.start()
        elif not calls:
            self._timer.stop()
            self._flash_on = False
            set_style_state(self, "flash", False)

    def chosen_call_id(self) -> int | None:
        """The ringing call the user picked, if any; None means "the oldest"."""
        items = self.selectedItems()
        return items[0].data(CALL_ID_ROLE) if items else None

    def item_texts(self) -> list[str]:
        return [self.item(row).text() for row in range(self.count())]

    @staticmethod
    def _item_text(call: CallView) -> str:
        waiting = duration_text(time.time() - call.ring_wall)
        return f"☎ LINE {one_line(call.line)}\n     ringing {waiting}"

    def _tick(self) -> None:
        self._flash_on = not self._flash_on
        set_style_state(self, "flash", self._flash_on)
        for row, call in enumerate(self.calls):
            item = self.item(row)
            text = self._item_text(call)
            if item is not None and item.text() != text:
                item.setText(text)

    def _on_activated(self, item: QListWidgetItem) -> None:
        self.answer_requested.emit(item.data(CALL_ID_ROLE))
