"""ROUND-TRIP LATENCY on the Technician's AUDIO tab: pick an output and an input, LATENCY TEST runs
app/bench/latency_job.py on a worker thread; a progress bar follows the probes, CANCEL stops it
at once (the test stream closes), and the result reads measured against reported latency.

The console's own stream keeps running; the test opens its own. Channel labels come from the
profile; error messages from devices: plain text.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QWidget,
)

from app.bench.latency_job import LatencyJob, request_from_profile
from ui.widgets.plain import one_line, plain_label, set_plain
from ui.widgets.style import set_style_state


class _Relay(QObject):
    """Carries the worker thread's reports to the GUI thread (queued signals)."""

    progress = Signal(int, int)
    finished = Signal(object, str)  # LatencyResult | None, why it failed ("" on success)


def result_text(result: Any) -> str:
    verdict = "within one block of the reported latency" if result.within_one_block else \
        f"more than one block ({result.block_ms:.2f} ms) off the reported latency"
    each = ", ".join(f"{ms:.2f}" for ms in result.each_ms)
    return (f"measured {result.measured_ms:.2f} ms (median of {len(result.each_ms)}: {each}) · "
            f"reported {result.reported_ms:.2f} ms · {verdict}")


class LatencyBox(QWidget):
    def __init__(self, position: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("latencyBox")
        self._position = position
        self.job: LatencyJob | None = None
        self.result: Any = None
        self.error = ""
        self._relay = _Relay()  # no parent: a test thread that outlives the box still has a live sender
        self._relay.progress.connect(self._on_progress)
        self._relay.finished.connect(self._on_finished)

        amap = getattr(position, "audio_map", None)
        audio = getattr(getattr(position, "profile", None), "audio", None)
        self.output_box, self.input_box = QComboBox(self), QComboBox(self)
        self.output_box.setAccessibleName("Latency test output channel")
        self.input_box.setAccessibleName("Latency test input channel")
        for box, labels in ((self.output_box, amap.output_labels if amap else ()),
                            (self.input_box, amap.input_labels if amap else ())):
            for column, label in enumerate(labels):
                box.addItem(f"{column + 1} · {one_line(label)}", column)
        if audio is not None:
            channels = dict(audio.channels)
            self.output_box.setCurrentIndex(max(0, channels.get("headset_left", 1) - 1))
            self.input_box.setCurrentIndex(max(0, channels.get("headset_mic", 1) - 1))
        self.jack_loop = QCheckBox("Loop through JACK (no cable)", self)
        self.jack_loop.setToolTip("Connects the test stream's output port to its input port on the JACK server")
        self.start_button = QPushButton("LATENCY TEST", self)
        self.start_button.setObjectName("latencyTestButton")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("CANCEL", self)
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("probe %v of %m")
        self.status = plain_label(object_name="latencyResult")
        self.status.setWordWrap(True)

        grid = QGridLayout(self)
        grid.setContentsMargins(16, 12, 16, 12)
        grid.addWidget(plain_label("OUTPUT", object_name="infoKey"), 0, 0)
        grid.addWidget(self.output_box, 0, 1)
        grid.addWidget(plain_label("INPUT", object_name="infoKey"), 0, 2)
        grid.addWidget(self.input_box, 0, 3)
        grid.addWidget(self.jack_loop, 0, 4)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        grid.addLayout(buttons, 1, 0, 1, 5)
        grid.addWidget(self.status, 2, 0, 1, 5)
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        if audio is None or amap is None:
            self.start_button.setEnabled(False)
            set_plain(self.status, "no [audio] section in the profile")
        elif audio.backend == "null":
            set_plain(self.status, "the null sound device has no real inputs: the latency test needs a real device")

    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self) -> None:
        if self.job is not None:
            return
        audio = self._position.profile.audio
        request = request_from_profile(audio, output=self.output_box.currentData(),
                                       input=self.input_box.currentData(), jack_loop=self.jack_loop.isChecked())
        self.result, self.error = None, ""
        self.job = LatencyJob(request, progress=self._relay.progress.emit)
        self.progress.setRange(0, request.repeats)
        self.progress.setValue(0)
        set_plain(self.status, f"measuring output {request.output + 1} -> input {request.input + 1}…")
        set_style_state(self.status, "state", "")
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.job.start(self._relay.finished.emit)

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            set_plain(self.status, "cancelling…")

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    def _on_finished(self, result: Any, why: str) -> None:
        self.job = None
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.result, self.error = result, why
        if result is not None:
            set_plain(self.status, result_text(result))
            set_style_state(self.status, "state", "ok" if result.within_one_block else "bad")
        else:
            set_plain(self.status, f"no result: {why}")
            set_style_state(self.status, "state", "bad")
