"""The Technician's SCOPE tab: an oscilloscope and a spectrum of any sound-device input or output.

The source chooser lists every input and output column the profile names (full rate, through the
engine's scope tap) and each radio's instant-recall ring (8 kHz, always recorded). The plots refresh
about 15 times a second, and only while the tab is visible: hidden, the timer stops and the tap is
turned off, so the callback copies nothing for a scope nobody looks at. Data comes from
app/audio/scope.py; this module only draws it. Labels come from the profile: plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QVBoxLayout, QWidget

from app.audio.scope import FLOOR_DBFS, ScopeSnapshot, rms_dbfs, spectrum_dbfs
from ui.theme.stylesheet import current_palette
from ui.widgets.plain import one_line, plain_label, set_plain

REFRESH_MS = 66  # about 15 Hz: smooth enough to read, cheap enough to leave open
WINDOWS_MS = (10, 20, 50, 100, 250)
SPECTRUM_MS = 250.0  # 12000 samples at 48 kHz: 4 Hz bins after the 8192-point cut
SPECTRUM_TOP_DB, SPECTRUM_BOTTOM_DB = 0.0, -120.0


@dataclass(frozen=True)
class Source:
    kind: str  # "in" | "out" | "recall"
    index: int  # column (in/out) or radio id's position (recall)
    key: str  # radio id for "recall"
    title: str


def scope_sources(position: Any) -> list[Source]:
    """Everything the scope can show, in chooser order: inputs, outputs, then radios' recall rings."""
    amap = getattr(position, "audio_map", None)
    if amap is None:
        return []
    sources = [Source("in", i, "", f"IN {i + 1} · {one_line(label)}") for i, label in enumerate(amap.input_labels)]
    sources += [Source("out", i, "", f"OUT {i + 1} · {one_line(label)}") for i, label in enumerate(amap.output_labels)]
    sources += [Source("recall", k, rid, f"RECALL · {one_line(rid)} (8 kHz)") for k, rid in enumerate(amap.radio_rx)]
    return sources


class ScopePanel(QWidget):
    def __init__(self, position: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        import pyqtgraph as pg  # only when the tab is built: the rest of the console never needs it

        self.setObjectName("scopePanel")
        self._position = position
        self.sources = scope_sources(position)
        self.refreshes = 0  # timer ticks that drew (tests)
        self.peak_hz, self.peak_dbfs, self.rms_dbfs = 0.0, FLOOR_DBFS, FLOOR_DBFS
        self.last = ScopeSnapshot(np.zeros(0, dtype=np.float32), 0)

        self.source_box = QComboBox(self)
        self.source_box.setObjectName("scopeSource")
        self.source_box.setAccessibleName("Scope source")
        for source in self.sources:
            self.source_box.addItem(source.title)
        self.source_box.currentIndexChanged.connect(self._choose)
        self.window_box = QComboBox(self)
        self.window_box.setAccessibleName("Scope time window")
        for ms in WINDOWS_MS:
            self.window_box.addItem(f"{ms} ms", ms)
        self.window_box.setCurrentIndex(WINDOWS_MS.index(50))
        self.readout = plain_label(object_name="scopeReadout")

        palette = current_palette()
        pen = pg.mkPen(palette.accent, width=1)
        self.time_plot = _plot(pg, "WAVEFORM", "ms", "FS")
        self.time_plot.setYRange(-1.0, 1.0, padding=0.02)
        self.time_curve = self.time_plot.plot([], [], pen=pen)
        self.spectrum_plot = _plot(pg, "SPECTRUM", "Hz", "dBFS")
        self.spectrum_plot.setYRange(SPECTRUM_BOTTOM_DB, SPECTRUM_TOP_DB, padding=0.02)
        self.spectrum_curve = self.spectrum_plot.plot([], [], pen=pen)

        head = QHBoxLayout()
        head.addWidget(plain_label("SOURCE", object_name="infoKey"))
        head.addWidget(self.source_box, 2)
        head.addWidget(plain_label("WINDOW", object_name="infoKey"))
        head.addWidget(self.window_box)
        head.addWidget(self.readout, 3)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(8)
        layout.addLayout(head)
        layout.addWidget(self.time_plot, 1)
        layout.addWidget(self.spectrum_plot, 1)
        if not self.sources:
            set_plain(self.readout, "no [audio.channels] in the profile: nothing to look at")

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    @property
    def running(self) -> bool:
        return self._timer.isActive()

    @property
    def source(self) -> Source | None:
        index = self.source_box.currentIndex()
        return self.sources[index] if 0 <= index < len(self.sources) else None

    def choose(self, kind: str, index: int) -> None:
        """Show input/output column ``index`` (kind "in"/"out") or radio ``index``'s recall ring."""
        for i, source in enumerate(self.sources):
            if (source.kind, source.index) == (kind, index):
                self.source_box.setCurrentIndex(i)
                return
        raise ValueError(f"scope: no {kind} source {index}")

    # -- Qt ------------------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:  # Qt's name
        super().showEvent(event)
        self._choose()
        if self.sources:
            self._timer.start()

    def hideEvent(self, event: QHideEvent) -> None:  # Qt's name
        super().hideEvent(event)
        self._timer.stop()
        tap = self._tap()
        if tap is not None:
            tap.select(None)  # nobody looks: the callback stops copying

    # -- drawing ---------------------------------------------------------------------------------
    def refresh(self) -> None:
        snap = self._snapshot(max(float(self.window_box.currentData() or 50), SPECTRUM_MS))
        self.last = snap
        self.refreshes += 1
        if snap.samples.size == 0 or not snap.samplerate:
            self.time_curve.setData([], [])
            self.spectrum_curve.setData([], [])
            set_plain(self.readout, "waiting for audio…" if self._tap() is not None or self.source else "")
            return
        shown = round(float(self.window_box.currentData() or 50) * snap.samplerate / 1000.0)
        wave = snap.samples[-shown:]
        self.time_curve.setData(np.arange(wave.size) * (1000.0 / snap.samplerate), wave)
        spectrum = spectrum_dbfs(snap.samples, snap.samplerate)
        self.spectrum_curve.setData(spectrum.freqs, np.maximum(spectrum.dbfs, SPECTRUM_BOTTOM_DB))
        self.spectrum_plot.setXRange(0.0, snap.samplerate / 2.0, padding=0)
        self.peak_hz, self.peak_dbfs = spectrum.peak()
        self.rms_dbfs = rms_dbfs(wave)
        set_plain(self.readout, f"{snap.samplerate} Hz · RMS {self.rms_dbfs:.1f} dBFS · "
                                f"peak {self.peak_hz:.0f} Hz at {self.peak_dbfs:.1f} dBFS")

    def _tap(self) -> Any:
        getter = getattr(self._position, "scope_tap", None)
        return getter() if callable(getter) else None

    def _choose(self, _index: int = 0) -> None:
        source, tap = self.source, self._tap()
        if source is None or tap is None or not self.isVisible():
            return
        if source.kind == "in":
            tap.select_input(source.index)
        elif source.kind == "out":
            tap.select_output(source.index)
        else:
            tap.select(None)  # the recall ring is always written: the tap is not needed

    def _snapshot(self, ms: float) -> ScopeSnapshot:
        source, tap = self.source, self._tap()
        empty = ScopeSnapshot(np.zeros(0, dtype=np.float32), 0)
        if source is None:
            return empty
        if source.kind == "recall":
            recall = self._position.recall_scope(source.key)
            return recall.snapshot(ms) if recall is not None else empty
        if tap is None:
            return empty
        if tap.selected is None:  # the engine started after the tab was shown
            self._choose()
        return tap.snapshot(ms)


def _plot(pg: Any, title: str, x_unit: str, y_unit: str) -> Any:
    plot = pg.PlotWidget()
    plot.setTitle(title)
    plot.setLabel("bottom", units=x_unit)
    plot.setLabel("left", units=y_unit)
    plot.setMouseEnabled(x=False, y=False)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.showGrid(x=True, y=True, alpha=0.25)
    plot.setMinimumHeight(140)
    return plot
