"""The Technician's REPORT tab: write the technician's report (app/report) from the running console.

Choose where and in which format, press REPORT: a progress bar shows the step running and CANCEL
stops at the next step (what was gathered is still written, marked cancelled). The result of each
section shows in a table as plain text; the file is for mailing to whoever fixes it. The running
position's link states are used (no second position is started) and the ports and sound device it
holds are not opened again, so nothing here can key a radio.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.report import STEPS, Report, Step
from app.report.job import ReportJob, context_for_position
from app.report.write import output_paths
from ui.widgets.plain import one_line, plain_label, set_plain
from ui.widgets.style import set_style_state

FORMAT_CHOICES = (("HTML", "html"), ("JSON", "json"), ("HTML + JSON", "both"))
COLUMNS = ("RESULT", "SECTION", "WHY")


def default_report_path(position: Any, now: float | None = None) -> Path:
    """<data folder>/reports/report-<position>-<YYYYmmdd-HHMM>.html, next to the event log."""
    from app.config.paths import slug

    info = getattr(position, "info", None)
    name = slug(getattr(info, "name", "") or "position")
    data_path = getattr(position, "data_path", None)
    folder = Path(data_path).parent if data_path else Path.home()
    stamp = time.strftime("%Y%m%d-%H%M", time.localtime(now))
    return folder / "reports" / f"report-{name}-{stamp}.html"


class ReportPanel(QWidget):
    def __init__(self, position: Any, parent: QWidget | None = None, *, steps: Sequence[Step] = STEPS) -> None:
        super().__init__(parent)
        self.setObjectName("reportPanel")
        self.position = position
        self.steps = tuple(steps)
        self.job: ReportJob | None = None
        self.last_report: Report | None = None
        self.written: list[Path] = []

        self.path_edit = QLineEdit(str(default_report_path(position)), self)
        self.path_edit.setObjectName("reportPath")
        self.browse_button = QPushButton("Browse…", self)
        self.browse_button.clicked.connect(self._browse)
        self.format_box = QComboBox(self)
        self.format_box.setObjectName("reportFormat")
        for label, value in FORMAT_CHOICES:
            self.format_box.addItem(label, value)
        self.format_box.setCurrentIndex(2)
        self.skip_slow = QCheckBox("Skip slow steps", self)
        self.start_button = QPushButton("REPORT", self)
        self.start_button.setObjectName("reportStart")
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("CANCEL", self)
        self.cancel_button.setObjectName("reportCancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)

        self.progress = QProgressBar(self)
        self.progress.setObjectName("reportProgress")
        self.progress.setRange(0, len(self.steps))
        self.progress.setValue(0)
        self.step_label = plain_label("Press REPORT to gather the technician's report.", object_name="viewHint")
        self.result_label = plain_label("", object_name="reportResult")

        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("reportSections")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)

        where = QHBoxLayout()
        where.addWidget(plain_label("Save as"))
        where.addWidget(self.path_edit, 1)
        where.addWidget(self.browse_button)
        where.addWidget(self.format_box)
        where.addWidget(self.skip_slow)
        run = QHBoxLayout()
        run.addWidget(self.start_button)
        run.addWidget(self.cancel_button)
        run.addWidget(self.progress, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(where)
        layout.addLayout(run)
        layout.addWidget(self.step_label)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.result_label)

    # -- actions ------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self) -> bool:
        """Start a report into the chosen file(s); False (with the reason shown) when it cannot."""
        if self.job is not None:
            return False
        text = self.path_edit.text().strip()
        if not text:
            return self._refuse("Name the file to write the report to.")
        try:
            paths = output_paths(Path(text).expanduser(), self.format_box.currentData())
        except ValueError as err:
            return self._refuse(str(err))
        folder = next((p for p in paths.values() if p.is_dir()), None)
        if folder is not None:
            return self._refuse(f"{folder} is a folder: name a file.")
        ctx = context_for_position(self.position, skip_slow=self.skip_slow.isChecked())
        self.job = ReportJob(ctx, paths, self.steps, parent=self)
        self.job.progress.connect(self._on_progress)
        self.job.finished.connect(self._on_finished)
        self.table.setRowCount(0)
        self.progress.setValue(0)
        set_plain(self.result_label, "")
        set_style_state(self.result_label, "state", "none")
        self._set_running(True)
        self.job.start()
        return True

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            set_plain(self.step_label, "Cancelling: stopping at the next step…")

    def _refuse(self, why: str) -> bool:
        set_plain(self.result_label, why)
        set_style_state(self.result_label, "state", "fault")
        return False

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        for widget in (self.path_edit, self.browse_button, self.format_box, self.skip_slow):
            widget.setEnabled(not running)

    def _browse(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(self, "Save the technician's report", self.path_edit.text(),
                                                    "Reports (*.html *.json)")
        if path:
            self.path_edit.setText(path)

    # -- from the job (queued to this thread) ---------------------------------------------------------
    def _on_progress(self, index: int, total: int, title: str) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(index)
        if index < total:
            set_plain(self.step_label, f"Step {index + 1} of {total}: {title}")

    def _on_finished(self, report: Report, written: list[Path], error: str) -> None:
        if self.job is not None:
            self.job.wait(5.0)
            self.job.deleteLater()
        self.job = None
        self.last_report, self.written = report, list(written)
        self._set_running(False)
        self._show_sections(report)
        failed = len(report.failed)
        state = "cancelled" if report.cancelled else "done"
        set_plain(self.step_label, f"Report {state}: {failed} section{'s' if failed != 1 else ''} failed.")
        if error:
            set_plain(self.result_label, error)
            set_style_state(self.result_label, "state", "fault")
            return
        mark = " (cancelled)" if report.cancelled else ""
        set_plain(self.result_label, "Written to " + ", ".join(str(p) for p in written) + mark)
        set_style_state(self.result_label, "state", "fault" if failed else "none")

    def _show_sections(self, report: Report) -> None:
        self.table.setRowCount(len(report.sections))
        for row, section in enumerate(report.sections):
            for column, text in enumerate((section.status, section.title, section.summary)):
                item = QTableWidgetItem(one_line(text))  # a table item is plain text; controls made visible
                item.setToolTip("")  # tool tips would be rich text: none
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()

    def closeEvent(self, event: Any) -> None:  # Qt's name
        self.cancel()
        super().closeEvent(event)
