"""A small painted label: text in a rounded box whose colours are set directly, not by stylesheet.

Tiles change state many times a minute; restyling a widget through QSS property selectors costs an
unpolish/polish per change (milliseconds of GUI time each in the audio soak). A Badge only stores its
colours and calls update(). Text is drawn with QPainter.drawText, which never interprets markup.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from ui.widgets.plain import one_line

MIN_FIT_PIXELS = 11


class Badge(QWidget):
    def __init__(self, parent: QWidget | None = None, *, object_name: str = "", pixel_size: int = 15,
                 bold: bool = True, pad_x: int = 8, pad_y: int = 3, min_width: int = 0, fit: bool = False) -> None:
        super().__init__(parent)
        if object_name:
            self.setObjectName(object_name)
        self._text = ""
        self._fg = QColor("#ffffff")
        self._bg: QColor | None = None
        self._edge: QColor | None = None
        self._pad = (pad_x, pad_y)
        self._min_width = min_width
        self._fit = fit  # shrink the font (to a floor) to show long text whole in a narrow box
        font = QFont(self.font())
        font.setPixelSize(pixel_size)
        font.setBold(bold)
        self._font = font
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)

    def text(self) -> str:
        return self._text

    def show_text(self, text: str, fg: str, bg: str | None = None, edge: str | None = None,
                  pixel_size: int | None = None) -> None:
        """Show ``text`` (plain) in ``fg`` on ``bg`` with an ``edge`` outline; repaints only on a change."""
        text = one_line(text)
        colours = (QColor(fg), QColor(bg) if bg else None, QColor(edge) if edge else None)
        resize = text != self._text or (pixel_size is not None and pixel_size != self._font.pixelSize())
        if not resize and colours == (self._fg, self._bg, self._edge):
            return
        self._fg, self._bg, self._edge = colours
        if pixel_size is not None:
            self._font.setPixelSize(pixel_size)
        if text != self._text:
            self._text = text
            self.setAccessibleName(text)
        if resize:
            self.updateGeometry()
        self.update()

    def sizeHint(self) -> QSize:
        metrics = QFontMetrics(self._font)
        pad_x, pad_y = self._pad
        width = metrics.horizontalAdvance(self._text) + 2 * pad_x + 4 if self._text else 0
        return QSize(max(width, self._min_width), metrics.height() + 2 * pad_y + 4)

    def minimumSizeHint(self) -> QSize:
        hint = self.sizeHint()
        return QSize(self._min_width, hint.height()) if self._fit else hint

    def _font_for(self, width: float) -> QFont:
        if not self._fit:
            return self._font
        font = QFont(self._font)
        size = font.pixelSize()
        while size > MIN_FIT_PIXELS and QFontMetrics(font).horizontalAdvance(self._text) > width:
            size -= 1
            font.setPixelSize(size)
        return font

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._text and self._bg is None:
            return
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        box = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        if self._bg is not None or self._edge is not None:
            painter.setPen(QPen(self._edge, 2) if self._edge is not None else Qt.PenStyle.NoPen)
            painter.setBrush(self._bg if self._bg is not None else Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(box, 6, 6)
        painter.setPen(self._fg)
        font = self._font_for(box.width() - 2 * self._pad[0])
        painter.setFont(font)
        text = QFontMetrics(font).elidedText(self._text, Qt.TextElideMode.ElideRight, int(box.width()) - 4)
        painter.drawText(box, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextSingleLine), text)
