"""A plain-text label that shrinks its font, then wraps, to show a long outside name whole.

Channel names come from the profile and can be anything from "EMS" to "POLICE SOUTH — COUNTY
INTEROP MUTUAL AID". A QLabel would either clip the long one or make every tile as tall as the
worst case; this widget keeps a fixed number of lines and steps the font down until the text fits.
The stylesheet's font size is the largest size used. Text is drawn with QPainter.drawText, which
never interprets markup.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from ui.widgets.plain import one_line


class FitText(QWidget):
    def __init__(self, text: str = "", parent: QWidget | None = None, *, object_name: str = "",
                 lines: int = 2, min_pixel_size: int = 14) -> None:
        super().__init__(parent)
        if object_name:
            self.setObjectName(object_name)
        self._text = ""
        self._lines = lines
        self._min_pixel_size = min_pixel_size
        # Width comes from the layout (equal tiles), never from the length of the name.
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_TranslucentBackground)
        self.setText(text)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        shown = one_line(text)
        if shown != self._text:
            self._text = shown
            self.setAccessibleName(shown)
            self.update()

    def _line_height(self) -> int:
        return QFontMetrics(self.font()).lineSpacing()

    def sizeHint(self) -> QSize:
        return QSize(100, self._line_height() * self._lines)

    def minimumSizeHint(self) -> QSize:
        return QSize(0, self._line_height() * self._lines)

    def fitted_font(self, rect: QRect) -> QFont:
        """The largest font, from the stylesheet's size down, at which the text fits ``rect``."""
        font = QFont(self.font())
        size = font.pixelSize() if font.pixelSize() > 0 else QFontMetrics(font).height()
        flags = int(Qt.TextFlag.TextWordWrap)
        while size > self._min_pixel_size:
            font.setPixelSize(size)
            needed = QFontMetrics(font).boundingRect(rect, flags, self._text)
            if needed.height() <= rect.height() and needed.width() <= rect.width():
                return font
            size -= 1
        font.setPixelSize(self._min_pixel_size)
        return font

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.FontChange:  # a theme switch can change the stylesheet size
            self.updateGeometry()
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        if not self._text:
            return
        painter = QPainter(self)
        rect = self.contentsRect()
        painter.setFont(self.fitted_font(rect))
        painter.setPen(self.palette().color(self.foregroundRole()))
        # What still does not fit at the smallest size is clipped; the tooltip carries the whole text.
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap), self._text)
