"""A horizontal audio level bar: RMS as the solid fill, the block peak as a thin bar on top, and a
peak-hold tick that stays put for a moment and then falls.

Scale -60..0 dBFS, linear in dB. Colours come from the theme: receive green in the normal range,
warn amber in the top 6 dB, transmit red at full scale (a clipping signal). The meter is fed ~30
times a second by ``ui/widgets/meter_poll.py`` and repaints only when what it shows moved by half
a decibel or more, so a silent console costs no painting at all.
"""

from __future__ import annotations

import math
import time

from PySide6.QtCore import QEvent, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

from ui.theme.palette import ThemePalette
from ui.theme.stylesheet import current_palette

SCALE_MIN_DB = -60.0
SCALE_MAX_DB = 0.0
WARN_DB = -6.0  # amber above this: loud, close to clipping
CLIP_DB = -0.1  # red at or above this: full scale
HOLD_S = 1.5  # the peak-hold tick stays this long after the last rise...
FALL_DB_PER_S = 20.0  # ...then falls this fast
REPAINT_STEP_DB = 0.5  # changes smaller than this are not worth a repaint
TICKS_DB = (-48.0, -36.0, -24.0, -12.0, -6.0)


def clamp_db(db: float) -> float:
    """Any reading (the engine's floor is -120 dBFS, NaN from a torn read) as a point on the scale."""
    if math.isnan(db):
        return SCALE_MIN_DB
    return min(SCALE_MAX_DB, max(SCALE_MIN_DB, float(db)))


def fraction(db: float) -> float:
    """Where ``db`` sits on the bar, 0 (empty) .. 1 (full scale)."""
    return (clamp_db(db) - SCALE_MIN_DB) / (SCALE_MAX_DB - SCALE_MIN_DB)


class LevelMeter(QWidget):
    """``thin``: a 6 px bar for channel tiles. ``show_value``: the peak hold in dB written at the right."""

    def __init__(self, parent: QWidget | None = None, *, thin: bool = False, show_value: bool = False,
                 object_name: str = "levelMeter") -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self._thin = thin
        self._show_value = show_value
        self._peak = SCALE_MIN_DB
        self._rms = SCALE_MIN_DB
        self._hold = SCALE_MIN_DB
        self._hold_since = 0.0
        self._shown: tuple[float, float, float] = (SCALE_MIN_DB, SCALE_MIN_DB, SCALE_MIN_DB)
        self.repaints_requested = 0  # how often a reading was worth a repaint (tests, benchmarks)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)  # paints every pixel itself

    # -- readings -------------------------------------------------------------------------------
    @property
    def peak_db(self) -> float:
        return self._peak

    @property
    def rms_db(self) -> float:
        return self._rms

    @property
    def hold_db(self) -> float:
        return self._hold

    def value_text(self) -> str:
        """The peak hold as a technician reads it: "-12 dB", or "—" below the scale."""
        return "—" if self._hold <= SCALE_MIN_DB else f"{self._hold:.0f} dB"

    def set_level(self, peak_db: float, rms_db: float, now: float | None = None) -> bool:
        """Take one reading; True when it moved the picture enough to repaint."""
        now = time.monotonic() if now is None else now
        peak, rms = clamp_db(peak_db), clamp_db(rms_db)
        self._peak, self._rms = peak, min(rms, peak)  # a torn read can put RMS above peak
        if peak >= self._hold:
            self._hold, self._hold_since = peak, now
        elif now - self._hold_since > HOLD_S:
            fallen = self._hold - FALL_DB_PER_S * (now - self._hold_since - HOLD_S)
            self._hold = max(peak, fallen, SCALE_MIN_DB)
        shown = (self._peak, self._rms, self._hold)
        if all(abs(a - b) < REPAINT_STEP_DB for a, b in zip(shown, self._shown)):
            return False
        self._shown = shown
        self.repaints_requested += 1
        self.update()
        return True

    def reset(self) -> None:
        """Back to silence (the source went away)."""
        self._hold_since = 0.0
        self._hold = SCALE_MIN_DB
        self.set_level(SCALE_MIN_DB, SCALE_MIN_DB)

    # -- drawing ----------------------------------------------------------------------------------
    def sizeHint(self) -> QSize:
        return QSize(160, 6) if self._thin else QSize(220, 18)

    def minimumSizeHint(self) -> QSize:
        return QSize(40, 6) if self._thin else QSize(80, 18)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self.update()  # a theme switch: colours are read at paint time
        super().changeEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        colours = current_palette()
        painter = QPainter(self)
        full = QRectF(self.rect())
        bar = full
        if self._show_value:
            text_width = QFontMetrics(self.font()).horizontalAdvance("-60 dB") + 8
            painter.fillRect(full, self.palette().window())  # behind the number: whatever the panel is
            bar = full.adjusted(0, 0, -text_width, 0)
        width = bar.width()

        if self._thin:  # the trough in the border colour, so an empty meter still shows where it is
            painter.fillRect(bar, QColor(colours.border))
        else:
            painter.fillRect(bar, QColor(colours.window))
            painter.setPen(QColor(colours.border))
            for tick in TICKS_DB:
                x = bar.left() + fraction(tick) * width
                painter.drawLine(int(x), int(bar.top()), int(x), int(bar.bottom()))
            painter.drawRect(bar.adjusted(0, 0, -1, -1))

        level = QColor(self._colour_for(self._peak, colours))
        rms_w = fraction(self._rms) * width
        peak_w = fraction(self._peak) * width
        if peak_w > 0:  # the peak as a lighter band above the solid RMS fill
            band = QColor(level)
            band.setAlpha(110)
            painter.fillRect(QRectF(bar.left(), bar.top(), peak_w, bar.height()), band)
        if rms_w > 0:
            painter.fillRect(QRectF(bar.left(), bar.top(), rms_w, bar.height()), level)
        if self._hold > SCALE_MIN_DB:
            x = bar.left() + fraction(self._hold) * width
            painter.fillRect(QRectF(min(x, bar.right() - 2), bar.top(), 2, bar.height()),
                             QColor(self._colour_for(self._hold, colours)))

        if self._show_value:
            painter.setPen(QColor(colours.text_dim if self._hold <= SCALE_MIN_DB else colours.text))
            painter.drawText(full.adjusted(width + 4, 0, 0, 0),
                             int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), self.value_text())
        painter.end()

    @staticmethod
    def _colour_for(db: float, colours: ThemePalette) -> str:
        if db >= CLIP_DB:
            return colours.tx
        if db >= WARN_DB:
            return colours.warn
        return colours.rx
