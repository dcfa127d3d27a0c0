"""A read-only monospaced view of raw spill text with the control-byte tokens dimmed.

The spill text carries ``<STX>``, ``<CR><LF>`` and ``<0xNN>`` tokens on every line. They matter to a
technician but crowd the address for a call-taker, so they are drawn at reduced contrast. The text
itself is untouched: it is set with setPlainText and the highlighter only changes colours.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QEvent
from PySide6.QtGui import QColor, QFontDatabase, QPalette, QSyntaxHighlighter, QTextCharFormat
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from ui.widgets.plain import make_read_only

CONTROL_TOKEN = re.compile(r"<(?:STX|ETX|EOT|ENQ|ACK|NAK|CR|LF|DEL|0x[0-9A-Fa-f]{2})>")
LINE_END_TOKENS = re.compile(r"(<CR><LF>|<CR>|<LF>)(?!\n)")
TOKEN_ALPHA = 110  # of 255: readable when looked for, out of the way when reading the address


def broken_at_line_ends(text: str) -> str:
    """Token text ("...<CR><LF>...") broken onto lines after each line-end token, for reading."""
    return LINE_END_TOKENS.sub(lambda m: m.group(1) + "\n", text)


class ControlTokenDimmer(QSyntaxHighlighter):
    def __init__(self, view: QPlainTextEdit) -> None:
        super().__init__(view.document())
        self._view = view

    def highlightBlock(self, text: str) -> None:
        colour = QColor(self._view.palette().color(QPalette.ColorRole.Text))
        colour.setAlpha(TOKEN_ALPHA)
        dim = QTextCharFormat()
        dim.setForeground(colour)
        for match in CONTROL_TOKEN.finditer(text):
            self.setFormat(match.start(), match.end() - match.start(), dim)


class RawTextView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None, *, object_name: str = "") -> None:
        super().__init__(parent)
        make_read_only(self, object_name=object_name)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)  # ALI layouts are column-aligned
        self.dimmer = ControlTokenDimmer(self)

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self.dimmer.rehighlight()  # the theme changed the text colour the tokens are dimmed from
