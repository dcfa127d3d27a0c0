"""The Technician's RADIOS tab: each radio's link, carrier and transmit lamps from the console snapshot,
and three tests on the selected radio:

- KEY FOR N s: keys it through the console (app.bench.radio_checks.PositionKeyTest: arbitrated, logged,
  shown on the tile) and always releases; a radio marked ``live = true`` asks for confirmation first.
- RIG CHECK (hamlib radios): model, frequency, mode, PTT and DCD from its rigctld, on a worker thread.
- TRC TEST (tone-remote radios): keys the line for N s and reads the engine's meter on its transmit
  output (guard + function tone, then the held low-level guard).

Names and results are plain text.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.bench.radio_checks import KeyTestError, PositionKeyTest, rig_check
from app.snapshots import ConsoleSnapshot
from ui.widgets.link_state import link_glyph, link_word
from ui.widgets.plain import plain_label, plain_text_view, set_plain, set_plain_text
from ui.widgets.rows_model import Cell, Row, RowsModel
from ui.widgets.tables import row_table

RADIO_HEADERS = ("Radio", "Id", "Kind", "Link", "Carrier", "Transmit", "Live")


def radio_rows(snapshot: ConsoleSnapshot, live: dict[str, bool]) -> list[Row]:
    rows = []
    for ch in snapshot.channels:
        carrier = Cell("● CARRIER", "rx") if ch.receiving else Cell("○")
        if ch.transmitting:
            transmit = Cell(f"● TX ({ch.tx_source})" if ch.tx_source else "● TX", "tx")
        elif ch.key_pending:
            transmit = Cell("◐ keying", "warn")
        elif ch.failed_to_key:
            transmit = Cell("✕ failed", "warn", tooltip=ch.failed_to_key)
        else:
            transmit = Cell("○")
        rows.append((Cell(ch.name), Cell(ch.id), Cell(ch.kind),
                     Cell(f"{link_glyph(ch.link)} {link_word(ch.link)}", tooltip=ch.link_detail),
                     carrier, transmit, Cell("LIVE", "warn") if live.get(ch.id) else Cell("")))
    return rows


def ask_live_confirmation(parent: QWidget, name: str, seconds: float) -> bool:
    answer = QMessageBox.question(
        parent, "Key a live radio",
        f"{name} is on the air (live = true).\n\nKey it for {seconds:g} s?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
    return answer == QMessageBox.StandardButton.Yes


class _Done(QObject):
    rig = Signal(object)  # RigReport from the worker thread


class RadiosPanel(QWidget):
    test_finished = Signal(object)  # dict: the key test's or TRC test's result
    rig_finished = Signal(object)  # RigReport

    def __init__(self, position: Any, parent: QWidget | None = None,
                 confirm: Callable[[QWidget, str, float], bool] = ask_live_confirmation) -> None:
        super().__init__(parent)
        self.setObjectName("radiosPanel")
        self.position = position
        self.confirm = confirm  # asked before keying a live radio
        profile = getattr(position, "profile", None)
        self._radios = {r.id: r for r in getattr(profile, "radios", ())}
        self._live = {r.id: bool(r.live) for r in self._radios.values()}
        self._snapshot = ConsoleSnapshot()
        self.key_test: PositionKeyTest | None = None
        self._trc: dict[str, Any] | None = None

        self.rows = RowsModel(RADIO_HEADERS, self)
        self.table: QTableView = row_table(self.rows, self, object_name="radiosTable", single=True)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.seconds = QDoubleSpinBox(self)
        self.seconds.setObjectName("radiosSeconds")
        self.seconds.setRange(0.2, 120.0)
        self.seconds.setValue(2.0)
        self.seconds.setSuffix(" s")
        self.key_button = QPushButton("KEY FOR N s", self)
        self.key_button.setObjectName("radiosKey")
        self.cancel_button = QPushButton("CANCEL", self)
        self.cancel_button.setObjectName("radiosCancel")
        self.rig_button = QPushButton("RIG CHECK", self)
        self.rig_button.setObjectName("radiosRig")
        self.trc_button = QPushButton("TRC TEST", self)
        self.trc_button.setObjectName("radiosTrc")
        self.key_button.clicked.connect(self.key_selected)
        self.cancel_button.clicked.connect(self.cancel)
        self.rig_button.clicked.connect(self.check_rig)
        self.trc_button.clicked.connect(self.trc_selected)
        self.progress: QLabel = plain_label("", object_name="viewHint")
        self.result = plain_text_view(self, object_name="radiosResult")

        bar = QHBoxLayout()
        for w in (self.seconds, self.key_button, self.cancel_button, self.rig_button, self.trc_button, self.progress):
            bar.addWidget(w)
        bar.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 2)
        layout.addLayout(bar)
        layout.addWidget(self.result, 1)

        self._trc_timer = QTimer(self)  # the meter is read while the line keys, before the console says keyed
        self._trc_timer.setInterval(10)
        self._trc_timer.timeout.connect(self._sample_trc_levels)
        self._done = _Done()  # no parent: a radio test that outlives the panel still has a live sender
        self._done.rig.connect(self._show_rig)
        position.console_changed.connect(self.render)
        self.render(getattr(position, "console", ConsoleSnapshot()))

    # -- state ----------------------------------------------------------------------------------
    def render(self, snapshot: ConsoleSnapshot) -> None:
        selected = self.selected_id()
        self._snapshot = snapshot
        self.rows.set_rows(radio_rows(snapshot, self._live))
        if selected:
            self.select(selected)
        self._update_buttons()

    def selected_id(self) -> str:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return ""
        index = rows[0].row()
        return self._snapshot.channels[index].id if index < len(self._snapshot.channels) else ""

    def select(self, radio_id: str) -> None:
        for i, ch in enumerate(self._snapshot.channels):
            if ch.id == radio_id:
                self.table.selectRow(i)
                return

    def _update_buttons(self) -> None:
        radio_id = self.selected_id()
        kind = self._radios[radio_id].kind if radio_id in self._radios else ""
        busy = self.key_test is not None and self.key_test.running
        self.key_button.setText(f"KEY FOR {self.seconds.value():g} s")
        self.key_button.setEnabled(bool(radio_id) and not busy)
        self.cancel_button.setEnabled(busy)
        self.rig_button.setEnabled(kind == "hamlib")
        self.trc_button.setEnabled(kind == "tone-remote" and not busy)

    # -- key for N s ----------------------------------------------------------------------------
    def key_selected(self) -> bool:
        """Start the key test on the selected radio; False when nothing was started."""
        self._trc = None
        return self._start_key(self.selected_id(), self.seconds.value())

    def _start_key(self, radio_id: str, seconds: float) -> bool:
        if not radio_id or (self.key_test is not None and self.key_test.running):
            return False
        cfg = self._radios.get(radio_id)
        name = cfg.name if cfg is not None else radio_id
        if self._live.get(radio_id) and not self.confirm(self, name, seconds):
            set_plain_text(self.result, f"{name}: not keyed (live radio, not confirmed)")
            return False
        try:
            test = PositionKeyTest(self.position, radio_id, seconds, parent=self)
        except KeyTestError as err:
            set_plain_text(self.result, str(err))
            return False
        test.progress.connect(self._on_progress)
        test.finished.connect(self._key_finished)
        self.key_test = test
        set_plain(self.progress, f"keying {name}…")
        test.start()
        self._update_buttons()
        return True

    def _on_progress(self, held: float, total: float) -> None:
        set_plain(self.progress, f"keyed {held:.1f} / {total:g} s")
        if self._trc is not None:
            self._sample_trc_levels()

    def cancel(self) -> None:
        if self.key_test is not None:
            self.key_test.cancel()

    def _key_finished(self, result: dict[str, Any]) -> None:
        set_plain(self.progress, "")
        if self._trc is not None:
            self._trc_timer.stop()
            result = {**result, **{k: v for k, v in self._trc.items() if not k.startswith("_")}}
            self._trc = None
        lines = [f"{result['radio']}: {result['result']}" + (f" — {result['error']}" if result["error"] else "")]
        if result.get("keyed_s") is not None:
            lines.append(f"keyed {result['keyed_s']:.2f} s of {result['requested_s']:g} s, then released")
        if "output_peak_dbfs" in result:
            peak = result["output_peak_dbfs"]
            lines.append(f"TRC line output {result['output']}: highest peak {peak:.1f} dBFS, "
                         f"held guard RMS {result['output_rms_dbfs']:.1f} dBFS" if peak is not None
                         else "TRC line: no output meter reading (no sound device)")
        set_plain_text(self.result, "\n".join(lines))
        self._update_buttons()
        self.test_finished.emit(result)

    # -- TRC test -------------------------------------------------------------------------------
    def trc_selected(self) -> bool:
        radio_id = self.selected_id()
        column = getattr(getattr(self.position, "audio_map", None), "trc_outputs", {}).get(radio_id)
        if column is None:
            set_plain_text(self.result, f"{radio_id}: no tone-remote line on the sound device")
            return False
        self._trc = {"output": column + 1, "output_peak_dbfs": None, "output_rms_dbfs": None, "_column": column}
        started = self._start_key(radio_id, self.seconds.value())
        if started:
            self._trc_timer.start()
        else:
            self._trc = None
        return started

    def _sample_trc_levels(self) -> None:
        """The engine's meter on the line while it is keyed: the highest peak (HLGT) and the last RMS."""
        if self._trc is None:
            return
        _inputs, outputs = self.position.audio_levels()
        column = self._trc["_column"]
        if outputs.shape[1] <= column:
            return
        peak, rms = float(outputs[0][column]), float(outputs[1][column])
        best = self._trc["output_peak_dbfs"]
        self._trc["output_peak_dbfs"] = peak if best is None else max(best, peak)
        self._trc["output_rms_dbfs"] = rms

    # -- rig check ------------------------------------------------------------------------------
    def check_rig(self) -> bool:
        cfg = self._radios.get(self.selected_id())
        if cfg is None or cfg.kind != "hamlib":
            return False
        set_plain(self.progress, f"asking rigctld {cfg.host}:{cfg.port}…")
        self.rig_button.setEnabled(False)

        def work() -> None:  # a worker thread: rigctld may take its time-out to answer
            report = rig_check(cfg.host, cfg.port)
            try:
                self._done.rig.emit(report)
            except RuntimeError:  # the panel was closed meanwhile
                pass

        threading.Thread(target=work, name="rig-check", daemon=True).start()
        return True

    def _show_rig(self, report: Any) -> None:
        set_plain(self.progress, "")
        self._update_buttons()
        if report.ok:
            text = (f"rigctld {report.address}: {report.manufacturer} {report.model} · {report.frequency_hz} Hz "
                    f"{report.mode} · PTT {'ON' if report.ptt else 'off'} · DCD "
                    f"{'-' if report.dcd is None else ('ON' if report.dcd else 'off')} · answers in "
                    f"{report.round_trip_ms:.1f} ms")
        else:
            text = f"rigctld {report.address}: FAILED — {report.error}"
        set_plain_text(self.result, text)
        self.rig_finished.emit(report)
