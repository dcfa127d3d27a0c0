"""Answer-time statistics for the call-taker and the supervisor: charts, the figures, CSV export.

The figures come from app.calls.stats, the same code as ``dispatch-console stats``; this widget only
chooses the period, shows the result and writes the CSV. The query and the arithmetic run on a
short-lived thread (the GUI thread does no I/O): a day takes milliseconds, but "All" on a busy
position's year of calls takes seconds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.calls.stats import (
    DEFAULT_SHIFTS,
    PERIODS,
    TARGETS,
    CallStats,
    Figures,
    RecordLoader,
    Target,
    compute_stats,
    percent_1dp,
    period_bounds,
    verdict_text,
    write_stats_csv,
)
from ui.theme.stylesheet import current_palette
from ui.widgets.plain import plain_label, set_plain
from ui.widgets.tables import row_table
from ui.widgets.rows_model import Cell, Row, RowsModel
from ui.widgets.style import set_style_state

log = logging.getLogger(__name__)

FIGURE_HEADERS = ("Period / shift", "Calls", "Answered", "Abandoned", "Open",
                  "≤ 10 s", "≤ 15 s", "≤ 20 s", "Median", "90th pct")


def figures_row(row: Figures) -> Row:
    """One table row; a share below its standard's target is toned "warn"."""
    return (
        Cell(row.label),
        Cell(str(row.calls)),
        Cell(str(row.answered)),
        Cell(_count_pct(row.abandoned, row.calls)),
        Cell(str(row.open)),
        *(_target_cell(row, target) for target in TARGETS),
        Cell(_seconds(row.median_answer_s)),
        Cell(_seconds(row.p90_answer_s)),
    )


def _target_cell(row: Figures, target: Target) -> Cell:
    text = _count_pct(row.count_within(target.within_s), row.answered)
    met = row.meets(target)
    return Cell(text, "warn" if met is False else "", f"{target.standard}: {verdict_text(met)}")


def _count_pct(part: int, whole: int) -> str:
    pct = percent_1dp(part, whole)
    return str(part) if pct is None else f"{part} ({pct:.1f}%)"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


class StatsPanel(QWidget):
    """Period picker, two bar charts (answer-time distribution, calls per hour), the figures, export.

    ``load_records(since, until)`` is called on a loader thread, so it must not touch widgets;
    ``load_call_records`` opens its own read-only connection and qualifies.
    """

    #: A refresh finished and is on screen: True with figures, False with the reason in the status line.
    refreshed = Signal(bool)
    # From the loader thread, queued to the GUI thread: (refresh number, (stats, loaded at) or error text).
    _loaded = Signal(int, object)

    def __init__(
        self,
        load_records: RecordLoader,
        *,
        shifts: Sequence[str] = DEFAULT_SHIFTS,
        tz: tzinfo | None = None,
        now: Callable[[], float] = time.time,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("statsPanel")
        self._load_records = load_records
        self._shifts = tuple(shifts)
        self._tz = tz
        self._now = now
        self.stats: CallStats | None = None
        self._refresh_number = 0  # only the latest refresh's result is shown
        # Replaced in tests; the button asks it for a file name (None = cancelled).
        self.ask_export_path: Callable[[], str | None] = self._ask_export_path

        self.title: QLabel = plain_label("ANSWER TIMES", object_name="panelTitle")
        self.period_box = QComboBox(self)
        self.period_box.setObjectName("statsPeriod")
        for key, name in PERIODS.items():
            self.period_box.addItem(name, key)
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setObjectName("statsRefresh")
        self.export_button = QPushButton("Export CSV…", self)
        self.export_button.setObjectName("statsExport")
        self.export_button.setEnabled(False)
        self.status: QLabel = plain_label(object_name="statsStatus")
        self.target_labels: dict[str, QLabel] = {
            target.name: plain_label(object_name=f"statsTarget_{target.name}") for target in TARGETS
        }

        self.distribution_plot = _bar_plot("Answer time (answered calls)")
        self.distribution_bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self.distribution_plot.addItem(self.distribution_bars)
        self.hourly_plot = _bar_plot("Calls per hour of day (abandoned in front)")
        self.hourly_bars = pg.BarGraphItem(x=[], height=[], width=0.8)
        self.hourly_abandoned_bars = pg.BarGraphItem(x=[], height=[], width=0.5)
        self.hourly_plot.addItem(self.hourly_bars)
        self.hourly_plot.addItem(self.hourly_abandoned_bars)

        self.model = RowsModel(FIGURE_HEADERS, self)
        self.table = row_table(self.model, self, object_name="statsTable")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)

        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.period_box)
        head.addWidget(self.refresh_button)
        head.addWidget(self.export_button)
        targets = QHBoxLayout()
        targets.setSpacing(28)
        for label in self.target_labels.values():
            targets.addWidget(label)
        targets.addStretch(1)
        charts = QHBoxLayout()
        charts.addWidget(self.distribution_plot, 1)
        charts.addWidget(self.hourly_plot, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(head)
        layout.addWidget(self.status)
        layout.addLayout(targets)
        layout.addLayout(charts, 3)
        layout.addWidget(self.table, 2)

        self.period_box.currentIndexChanged.connect(lambda _index: self.refresh())
        self.refresh_button.clicked.connect(self.refresh)
        self.export_button.clicked.connect(self._export_clicked)
        self._loaded.connect(self._show_loaded)

    # ------------------------------------------------------------------ loading

    @property
    def period(self) -> str:
        return str(self.period_box.currentData())

    def set_period(self, period: str) -> None:
        """Pick a period by key (today, shift, week, all); refreshes."""
        index = self.period_box.findData(period)
        if index < 0:
            raise ValueError(f"unknown period {period!r}; expected one of {', '.join(PERIODS)}")
        if index == self.period_box.currentIndex():
            self.refresh()
        else:
            self.period_box.setCurrentIndex(index)

    def refresh(self) -> None:
        """Load the period's calls on a loader thread; ``refreshed`` tells when they are shown."""
        self._refresh_number += 1
        set_plain(self.status, "Loading the call statistics…")
        set_style_state(self.status, "state", "none")
        thread = threading.Thread(target=self._load, args=(self._refresh_number, self.period, self._now()),
                                  name="stats-loader", daemon=True)  # daemon: a long query must not hold up exit
        thread.start()

    def _load(self, number: int, period: str, now: float) -> None:
        """Loader thread: query and compute, then hand the result to the GUI thread. Touches no widget."""
        result: tuple[CallStats, float] | str
        try:
            since, until = period_bounds(period, now, shifts=self._shifts, tz=self._tz)
            records = list(self._load_records(since, until))
            label = period_label(period, since, until, self._tz)
            result = (compute_stats(records, shifts=self._shifts, tz=self._tz, period=label), now)
        except Exception as err:  # noqa: BLE001 - a broken store or profile must not take the console down
            log.warning("call statistics not loaded: %s", err)
            result = str(err) or type(err).__name__
        try:
            self._loaded.emit(number, result)
        except RuntimeError:  # the panel was deleted while its figures loaded: nobody to show them to
            pass

    @Slot(int, object)
    def _show_loaded(self, number: int, result: tuple[CallStats, float] | str) -> None:
        if number != self._refresh_number:
            return  # a later refresh (another period) is on its way; this one is stale
        if isinstance(result, str):
            self.show_stats(None)
            set_plain(self.status, f"Cannot load the call statistics: {result}")
            set_style_state(self.status, "state", "warn")
            self.refreshed.emit(False)
            return
        stats, now = result
        self.show_stats(stats)
        loaded = datetime.fromtimestamp(now, self._tz).strftime("%H:%M:%S")
        set_plain(self.status, f"{stats.overall.calls} calls · {stats.period} · times {stats.timezone}"
                               f" · shares are of answered calls · loaded {loaded}")
        self.refreshed.emit(True)

    # ------------------------------------------------------------------ showing

    def show_stats(self, stats: CallStats | None) -> None:
        """Render ``stats`` (None clears everything)."""
        self.stats = stats
        self.export_button.setEnabled(stats is not None)
        palette = current_palette()
        for plot in (self.distribution_plot, self.hourly_plot):
            plot.setBackground(palette.surface)
        if stats is None:
            self.model.set_rows([])
            self.distribution_bars.setOpts(x=[], height=[])
            self.hourly_bars.setOpts(x=[], height=[])
            self.hourly_abandoned_bars.setOpts(x=[], height=[])
            for label in self.target_labels.values():
                set_plain(label, "")
            return
        self.model.set_rows([figures_row(stats.overall), *(figures_row(row) for row in stats.per_shift)])
        buckets = stats.distribution
        self.distribution_bars.setOpts(x=list(range(len(buckets))), height=[b.answered for b in buckets],
                                       brush=palette.accent, pen=_NO_PEN)
        _set_ticks(self.distribution_plot, [b.label.removesuffix(" s") for b in buckets])
        hours = stats.per_hour
        self.hourly_bars.setOpts(x=list(range(24)), height=[row.calls for row in hours],
                                 brush=palette.accent, pen=_NO_PEN)
        self.hourly_abandoned_bars.setOpts(x=list(range(24)), height=[row.abandoned for row in hours],
                                           brush=palette.warn, pen=_NO_PEN)
        _set_ticks(self.hourly_plot, [f"{hour:02d}" if hour % 3 == 0 else "" for hour in range(24)])
        for target in TARGETS:
            met = stats.overall.meets(target)
            pct = percent_1dp(stats.overall.count_within(target.within_s), stats.overall.answered)
            shown = "—" if pct is None else f"{pct:.1f}%"
            label = self.target_labels[target.name]
            set_plain(label, f"{target.standard}: {shown} {verdict_text(met)}")
            set_style_state(label, "state", {True: "ok", False: "warn", None: "none"}[met])

    # ------------------------------------------------------------------ export

    def export_csv(self, path: str | Path) -> bool:
        """Write the figures on screen to ``path`` as CSV; the status line says where, or why not."""
        if self.stats is None:
            set_plain(self.status, "Nothing to export: no statistics loaded")
            return False
        try:
            written = write_stats_csv(path, self.stats)
        except OSError as err:
            set_plain(self.status, f"Cannot write {path}: {err.strerror or err}")
            set_style_state(self.status, "state", "warn")
            return False
        set_plain(self.status, f"Exported {self.stats.period} to {written}")
        set_style_state(self.status, "state", "none")
        return True

    def _export_clicked(self) -> None:
        path = self.ask_export_path()
        if path:
            self.export_csv(path)

    def _ask_export_path(self) -> str | None:
        day = datetime.fromtimestamp(self._now(), self._tz).strftime("%Y-%m-%d")
        path, _filter = QFileDialog.getSaveFileName(
            self, "Export call statistics", f"call-stats-{self.period}-{day}.csv", "CSV files (*.csv)")
        return path or None

    def showEvent(self, event: QShowEvent) -> None:  # Qt's name
        super().showEvent(event)
        self.refresh()  # figures are as of when the panel is looked at


_NO_PEN = pg.mkPen(None)  # no outline: an empty hour shows no bar at all, not a line on the axis


def period_label(period: str, since: float | None, until: float | None, tz: tzinfo | None = None) -> str:
    """``Today 2026-11-21``, ``Last 7 days 2026-11-15 to 2026-11-21``, ``This shift since 2026-11-21 07:00``."""
    name = PERIODS[period]
    if since is None:
        return name
    start = datetime.fromtimestamp(since, tz)
    if until is None:
        return f"{name} since {start:%Y-%m-%d %H:%M}"
    last_day = (datetime.fromtimestamp(until, tz) - timedelta(seconds=1)).date()  # until is exclusive
    if last_day == start.date():
        return f"{name} {last_day:%Y-%m-%d}"
    return f"{name} {start:%Y-%m-%d} to {last_day:%Y-%m-%d}"


def _bar_plot(title: str) -> pg.PlotWidget:
    plot = pg.PlotWidget()
    plot.setTitle(title)
    plot.setMouseEnabled(x=False, y=False)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.showGrid(y=True, alpha=0.25)
    plot.setMinimumHeight(160)
    return plot


def _set_ticks(plot: pg.PlotWidget, labels: list[str]) -> None:
    plot.getAxis("bottom").setTicks([list(enumerate(labels))])
    plot.setXRange(-0.6, len(labels) - 0.4, padding=0)
