"""The TTY conversation of the call in hand: what the caller typed (decoded from the phone line as it
arrives) and the call-taker's replies, with a line to type the next reply. Caller text is plain text."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QVBoxLayout, QWidget

from app.calls.tty import TtyView
from ui.widgets.plain import plain_label, plain_text_view, set_plain, set_plain_text

MAX_REPLY = 500  # characters in one reply (about 75 s of Baudot)


class TtyPanel(QWidget):
    send_requested = Signal(str)  # a reply to send as TTY

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ttyPanel")
        self.title = plain_label("TTY", object_name="ttyTitle")
        self.status = plain_label("", object_name="ttyStatus")
        self.transcript = plain_text_view(self, object_name="ttyTranscript")
        self.transcript.setAccessibleName("TTY conversation")
        self.reply = QLineEdit(self)
        self.reply.setObjectName("ttyReply")
        self.reply.setMaxLength(MAX_REPLY)
        self.reply.setPlaceholderText("Type a reply, Enter sends it (end your turn with GA)")
        self.reply.returnPressed.connect(self.send)
        self.send_button = QPushButton("SEND TTY", self)
        self.send_button.setObjectName("ttySend")
        self.send_button.clicked.connect(self.send)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.status)
        row = QHBoxLayout()
        row.addWidget(self.reply, 1)
        row.addWidget(self.send_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(head)
        layout.addWidget(self.transcript, 1)
        layout.addLayout(row)
        self._shown: TtyView | None = None

    def render(self, tty: TtyView | None) -> None:
        if tty is self._shown:
            return
        self._shown = tty
        if tty is None:
            set_plain_text(self.transcript, "")
            set_plain(self.status, "")
            return
        lines = [f"{'CALLER' if ln.who == 'caller' else 'YOU'}: {ln.text.replace(chr(13), '').strip()}"
                 + (" …" if ln.open else "") for ln in tty.lines]
        set_plain_text(self.transcript, "\n".join(lines))
        bar = self.transcript.verticalScrollBar()
        bar.setValue(bar.maximum())
        set_plain(self.status, "▼ caller typing" if tty.receiving else "TTY detected")

    def send(self) -> None:
        text = self.reply.text().strip()
        if not text:
            return
        self.send_requested.emit(text)
        self.reply.clear()
