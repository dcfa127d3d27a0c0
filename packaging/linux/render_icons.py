"""Render the application icon from assets/icons/dispatch-console.svg for the desktop and the Windows installer.

Writes (commit the results; run again whenever the SVG changes):
  packaging/linux/icons/hicolor/scalable/apps/<app-id>.svg      a copy of the SVG
  packaging/linux/icons/hicolor/<N>x<N>/apps/<app-id>.png       N in PNG_SIZES
  packaging/windows/dispatch-console.ico                         PNG-compressed ICO (Windows Vista and later)

Run with the project's Python:  .venv/bin/python packaging/linux/render_icons.py
Qt's own SVG renderer is used so the PNGs look like the window icon the console draws (ui/widgets/app_icon.py).
"""

from __future__ import annotations

import os
import shutil
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

APP_ID = "org.dispatchconsole.DispatchConsole"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)  # 256 is the largest an ICO entry can describe

ROOT = Path(__file__).resolve().parents[2]
SOURCE_SVG = ROOT / "assets" / "icons" / "dispatch-console.svg"
HICOLOR = ROOT / "packaging" / "linux" / "icons" / "hicolor"
WINDOWS_ICO = ROOT / "packaging" / "windows" / "dispatch-console.ico"


def render_png(renderer: QSvgRenderer, size: int) -> bytes:
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"could not encode the {size}x{size} PNG")
    buffer.close()
    return bytes(data)


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICO file whose entries are PNG images: ICONDIR, one ICONDIRENTRY per size, then the PNG data."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = [], []
    for size in sizes:
        blob = pngs[size]
        # Width and height 0 mean 256; 1 plane, 32 bits per pixel.
        entries.append(struct.pack("<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(blob), offset))
        blobs.append(blob)
        offset += len(blob)
    return header + b"".join(entries) + b"".join(blobs)


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 - QPainter wants one
    renderer = QSvgRenderer(str(SOURCE_SVG))
    if not renderer.isValid():
        print(f"{SOURCE_SVG}: not a valid SVG", file=sys.stderr)
        return 1
    scalable = HICOLOR / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SOURCE_SVG, scalable)
    pngs = {}
    for size in PNG_SIZES:
        pngs[size] = render_png(renderer, size)
        target = HICOLOR / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(pngs[size])
        print(f"wrote {target.relative_to(ROOT)}")
    WINDOWS_ICO.parent.mkdir(parents=True, exist_ok=True)
    WINDOWS_ICO.write_bytes(ico_bytes({size: pngs[size] for size in ICO_SIZES}))
    print(f"wrote {WINDOWS_ICO.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
