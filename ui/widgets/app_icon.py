"""The application icon, rendered from the shipped SVG at the sizes window managers ask for."""

from __future__ import annotations

from importlib.resources import files

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

ICON_SIZES = (16, 24, 32, 48, 64, 128, 256)


def app_icon() -> QIcon:
    """Read through importlib.resources so a zipped or frozen build finds the file too."""
    data = (files("assets") / "icons" / "dispatch-console.svg").read_bytes()
    renderer = QSvgRenderer(QByteArray(data))
    icon = QIcon()
    if not renderer.isValid():
        return icon
    for size in ICON_SIZES:
        pixmap = QPixmap(size, size)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        renderer.render(painter)
        painter.end()
        icon.addPixmap(pixmap)
    return icon
