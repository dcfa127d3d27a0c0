"""The Technician's AUDIO tab: the sound device, what the callback counted, and every channel live.

Top: device, backend, link state, sample rate, block size, latency in and out, restarts and instant
recall; beside it the callback's counters, with underflows, overflows and clipped blocks marked when
they are not zero (each one is an audible glitch). Below: one row per input column and per output
column of the device, labelled as the profile names it, with a live meter; every output has a TEST
TONE toggle (the 1004 Hz line test tone at the profile's test level). Labels come from the profile:
plain text.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.snapshots import AudioCounters, AudioSnapshot
from ui.technician.latency_box import LatencyBox
from ui.widgets.level_meter import LevelMeter
from ui.widgets.link_state import link_glyph, link_style, link_word
from ui.widgets.meter_poll import MeterPoll, Side
from ui.widgets.plain import one_line, plain_label, set_plain
from ui.widgets.style import set_style_state

# Counter fields of AudioCounters in display order; True marks a glitch counter (highlighted when > 0).
COUNTER_ROWS: tuple[tuple[str, str, bool], ...] = (
    ("blocks", "Blocks", False),
    ("input_underflows", "Input underflows", True),
    ("input_overflows", "Input overflows", True),
    ("output_underflows", "Output underflows", True),
    ("output_overflows", "Output overflows", True),
    ("clipped_blocks", "Clipped blocks", True),
)
DEVICE_ROWS = ("State", "Backend", "Device", "Sample rate", "Block", "Latency", "Restarts", "Instant recall")


def device_values(snap: AudioSnapshot) -> dict[str, str]:
    """What each DEVICE row says for one snapshot (plain strings; the device name is outside text)."""
    state = f"{link_glyph(snap.state)} {link_word(snap.state)}"
    if snap.detail:
        state += f" — {snap.detail}"
    block_ms = 1000.0 * snap.blocksize / snap.samplerate if snap.samplerate else 0.0
    lat_in, lat_out = snap.latency_ms
    return {
        "State": state,
        "Backend": snap.backend or "—",
        "Device": snap.device or "—",
        "Sample rate": f"{snap.samplerate} Hz" if snap.samplerate else "—",
        "Block": f"{snap.blocksize} frames ({block_ms:.1f} ms)" if snap.blocksize else "—",
        "Latency": f"in {lat_in:.1f} ms · out {lat_out:.1f} ms",
        "Restarts": str(snap.restarts),
        "Instant recall": "on" if not snap.recall else f"off — {snap.recall}",
    }


def counter_flags(counters: AudioCounters) -> dict[str, bool]:
    """Which counters to highlight: a glitch counter that is not zero."""
    return {name: glitch and getattr(counters, name) > 0 for name, _title, glitch in COUNTER_ROWS}


class _ChannelRows(QWidget):
    """One grid row per device column: number, label, live meter (and for outputs, the test tone)."""

    def __init__(self, side: Side, meters: MeterPoll, on_test_tone: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._side = side
        self._meters = meters
        self._on_test_tone = on_test_tone
        self._grid = QGridLayout(self)
        self._grid.setContentsMargins(8, 4, 8, 4)
        self._grid.setHorizontalSpacing(12)
        self._grid.setVerticalSpacing(6)
        self._grid.setColumnStretch(2, 1)
        self._labels: tuple[str, ...] = ()
        self.names: list[QLabel] = []
        self.level_meters: list[LevelMeter] = []
        self.tone_buttons: list[QPushButton] = []

    def set_labels(self, labels: tuple[str, ...]) -> None:
        if labels == self._labels:
            return
        self._labels = labels
        for meter in self.level_meters:
            self._meters.remove(meter)
        while self._grid.count():
            item = self._grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.names, self.level_meters, self.tone_buttons = [], [], []
        heads = ["#", "CHANNEL", "LEVEL (PEAK HOLD)"] + (["LINE TEST"] if self._on_test_tone else [])
        for column, head in enumerate(heads):
            self._grid.addWidget(plain_label(head, object_name="infoKey"), 0, column)
        for column, label in enumerate(labels):
            row = column + 1
            name = plain_label(label, object_name="audioChannelName")
            meter = LevelMeter(self, show_value=True)
            meter.setAccessibleName(f"{one_line(label)} level")
            self._grid.addWidget(plain_label(str(column + 1), object_name="audioChannelNumber"), row, 0)
            self._grid.addWidget(name, row, 1)
            self._grid.addWidget(meter, row, 2)
            self._meters.add(meter, self._side, column)
            self.names.append(name)
            self.level_meters.append(meter)
            if self._on_test_tone:
                button = QPushButton("TEST TONE", self)
                button.setObjectName("testToneButton")
                button.setCheckable(True)
                button.setAccessibleName(f"Test tone on {one_line(label)}")
                button.setToolTip("1004 Hz line test tone at the profile's test level on this output")
                button.clicked.connect(lambda on, col=column: self._on_test_tone(col, on))
                self._grid.addWidget(button, row, 3)
                self.tone_buttons.append(button)
        self._grid.setRowStretch(len(labels) + 1, 1)

    def show_tones(self, playing: tuple[int, ...]) -> None:
        for column, button in enumerate(self.tone_buttons):
            on = column in playing
            button.setChecked(on)
            button.setText("■ TONE ON" if on else "TEST TONE")
            set_style_state(button, "state", "on" if on else "off")


def _scrolled(body: QWidget) -> QScrollArea:
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scroll.setWidget(body)
    return scroll


def _titled(title: str, body: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    layout.setSpacing(6)
    layout.addWidget(plain_label(title, object_name="panelTitle"))
    layout.addWidget(body, 1)
    return box


class AudioPanel(QWidget):
    """Renders AudioSnapshots; meters fed by ``meters``; TEST TONE calls ``position.test_tone``."""

    def __init__(self, position: Any, meters: MeterPoll, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("audioPanel")
        self._position = position
        self.snapshot = AudioSnapshot()

        device_box = QFrame(self)
        device_box.setObjectName("positionInfo")
        form = QFormLayout(device_box)
        form.setContentsMargins(16, 12, 16, 12)
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(6)
        self.values: dict[str, QLabel] = {}
        for title in DEVICE_ROWS:
            value = plain_label(object_name="audioValue")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # for tickets
            self.values[title] = value
            form.addRow(plain_label(title.upper(), object_name="infoKey"), value)

        counter_box = QFrame(self)
        counter_box.setObjectName("positionInfo")
        counter_grid = QGridLayout(counter_box)
        counter_grid.setContentsMargins(16, 12, 16, 12)
        counter_grid.setHorizontalSpacing(16)
        counter_grid.setVerticalSpacing(6)
        self.counters: dict[str, QLabel] = {}
        for row, (name, title, _glitch) in enumerate(COUNTER_ROWS):
            value = plain_label("0", object_name="audioCounter")
            value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.counters[name] = value
            counter_grid.addWidget(plain_label(title.upper(), object_name="infoKey"), row, 0)
            counter_grid.addWidget(value, row, 1)
        counter_grid.setRowStretch(len(COUNTER_ROWS), 1)
        counter_grid.setColumnStretch(0, 1)  # the numbers stay narrow, so a highlight marks just the number

        top = QHBoxLayout()
        top.setSpacing(16)
        top.addWidget(_titled("SOUND DEVICE", device_box), 3)
        top.addWidget(_titled("CALLBACK COUNTERS", counter_box), 2)

        self.inputs = _ChannelRows("in", meters)
        self.outputs = _ChannelRows("out", meters, on_test_tone=self._test_tone)
        channels = QHBoxLayout()
        channels.setSpacing(16)
        channels.addWidget(_titled("INPUTS", _scrolled(self.inputs)), 1)
        channels.addWidget(_titled("OUTPUTS", _scrolled(self.outputs)), 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(12)
        layout.addLayout(top)
        self.latency = LatencyBox(position)
        layout.addWidget(_titled("ROUND-TRIP LATENCY", self.latency))
        layout.addLayout(channels, 1)

        # Labels exist before the engine starts (from the profile's channel map).
        amap = getattr(position, "audio_map", None)
        if amap is not None:
            self.inputs.set_labels(tuple(amap.input_labels))
            self.outputs.set_labels(tuple(amap.output_labels))
        self.render(getattr(position, "audio", None) or AudioSnapshot())

    def render(self, snap: AudioSnapshot) -> None:
        self.snapshot = snap
        for title, text in device_values(snap).items():
            set_plain(self.values[title], text)
        set_style_state(self.values["State"], "link", "down" if snap.alarm else link_style(snap.state))
        set_style_state(self.values["Instant recall"], "state", "off" if snap.recall else "on")
        flags = counter_flags(snap.counters)
        for name, label in self.counters.items():
            set_plain(label, f"{getattr(snap.counters, name):,}")
            set_style_state(label, "state", "bad" if flags[name] else "ok")
        if snap.input_labels:
            self.inputs.set_labels(snap.input_labels)
        if snap.output_labels:
            self.outputs.set_labels(snap.output_labels)
        self.outputs.show_tones(snap.test_tones)

    def _test_tone(self, column: int, on: bool) -> None:
        self._position.test_tone(column, on)
