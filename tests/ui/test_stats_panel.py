"""The call-taker's statistics panel on a real store: figures shown, periods, charts, CSV export, errors.

The calls are written with a real StoreWriter and read with load_call_records, as the console does.
Expected figures were worked out by hand from CALLS (see the comments).
"""

from __future__ import annotations

import csv
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.calls.stats import load_call_records
from app.store import StoreWriter
from ui.calltaker.stats_panel import FIGURE_HEADERS, StatsPanel

CST = timezone(timedelta(hours=-6), "CST")


def at(day: int, hh: int, mm: int) -> float:
    return datetime(2026, 11, day, hh, mm, tzinfo=CST).timestamp()


NOW = at(21, 15, 30)
# (uid, ring, answer seconds or None for abandoned)
CALLS = [
    ("y1", at(20, 12, 0), 3.0),   # yesterday: only in "last 7 days" and "all"
    ("t1", at(21, 6, 0), 4.0),    # today, in the night shift that began 2026-11-20 19:00
    ("t2", at(21, 8, 0), 12.0),   # today, day shift
    ("t3", at(21, 9, 0), 25.0),   # today, day shift
    ("t4", at(21, 10, 0), None),  # today, day shift, abandoned after 30 s
]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "pos.sqlite3"
    writer = StoreWriter(path)
    writer.start()
    for uid, ring, answer_s in CALLS:
        writer.log_call_event(uid, "ring", line="911-1", wall=ring,
                              detail={"ani": "<b>3125550100</b>", "source": "phone", "call_ref": uid})
        if answer_s is None:
            writer.log_call_event(uid, "abandon", line="911-1", wall=ring + 30, detail={"rang_s": 30, "ani": ""})
        else:
            writer.log_call_event(uid, "answer", line="911-1", wall=ring + answer_s, detail={"answer_s": answer_s})
            writer.log_call_event(uid, "release", line="911-1", wall=ring + 100, detail={"talk_s": 100 - answer_s})
    assert writer.stop()
    return path


def make_panel(qtbot, db_path: Path) -> StatsPanel:
    panel = StatsPanel(lambda since, until: load_call_records(db_path, since, until),
                       shifts=["07:00", "19:00"], tz=CST, now=lambda: NOW)
    qtbot.addWidget(panel)
    return panel


def refreshed(qtbot, panel: StatsPanel, action=None) -> bool:
    """Run ``action`` (default: Refresh) and wait until its figures are on screen; True = loaded."""
    with qtbot.waitSignal(panel.refreshed, timeout=10_000) as blocker:
        (action or panel.refresh)()
    return blocker.args[0]


def cell(panel: StatsPanel, row: int, header: str) -> str:
    return panel.model.row(row)[FIGURE_HEADERS.index(header)].text


def test_today_figures_table_and_charts(qtbot, db: Path) -> None:
    panel = make_panel(qtbot, db)
    assert refreshed(qtbot, panel, panel.show)  # showing the panel loads it
    assert panel.period == "today"
    # Today: t1..t4 -> 4 calls, 3 answered (4, 12, 25 s), 1 abandoned.
    assert panel.model.rowCount() == 3  # overall + two shifts
    assert cell(panel, 0, "Period / shift") == "Today 2026-11-21"
    assert [cell(panel, 0, h) for h in ("Calls", "Answered", "Abandoned", "Open")] == ["4", "3", "1 (25.0%)", "0"]
    # within 10: 4 -> 1/3; within 15: 4, 12 -> 2/3; within 20: 2/3.
    assert [cell(panel, 0, h) for h in ("≤ 10 s", "≤ 15 s", "≤ 20 s")] == ["1 (33.3%)", "2 (66.7%)", "2 (66.7%)"]
    assert (cell(panel, 0, "Median"), cell(panel, 0, "90th pct")) == ("12.0 s", "25.0 s")
    assert panel.model.row(0)[FIGURE_HEADERS.index("≤ 15 s")].tone == "warn"  # 66.7 % < 90 %
    assert [cell(panel, r, "Period / shift") for r in (1, 2)] == ["2026-11-20 19:00", "2026-11-21 07:00"]
    assert [cell(panel, r, "Calls") for r in (1, 2)] == ["1", "3"]
    # Distribution buckets 0-5 (4 s), 10-15 (12 s), 20-30 (25 s).
    assert list(panel.distribution_bars.opts["height"]) == [1, 0, 1, 0, 1, 0, 0]
    hourly = list(panel.hourly_bars.opts["height"])
    assert len(hourly) == 24 and {h: n for h, n in enumerate(hourly) if n} == {6: 1, 8: 1, 9: 1, 10: 1}
    assert {h: n for h, n in enumerate(panel.hourly_abandoned_bars.opts["height"]) if n} == {10: 1}
    nena = panel.target_labels["nena_15"]
    assert nena.text() == "NENA-STA-020: 90% within 15 s: 66.7% NOT met"
    assert nena.textFormat() == Qt.TextFormat.PlainText and panel.status.textFormat() == Qt.TextFormat.PlainText
    assert panel.export_button.isEnabled()


def test_periods_choose_the_calls(qtbot, db: Path) -> None:
    panel = make_panel(qtbot, db)
    expected = {"shift": "3", "week": "5", "all": "5", "today": "4"}  # shift: t2..t4 since 07:00
    for period, calls in expected.items():
        assert refreshed(qtbot, panel, lambda: panel.set_period(period))
        assert cell(panel, 0, "Calls") == calls, period
        assert panel.stats is not None and panel.stats.overall.calls == int(calls)
    labels = {}
    for period in ("shift", "week", "all"):
        assert refreshed(qtbot, panel, lambda: panel.set_period(period))
        labels[period] = cell(panel, 0, "Period / shift")
    assert labels == {"shift": "This shift since 2026-11-21 07:00", "week": "Last 7 days 2026-11-15 to 2026-11-21",
                      "all": "All"}
    with pytest.raises(ValueError, match="unknown period"):
        panel.set_period("year")


def test_refresh_picks_up_new_calls(qtbot, db: Path, tmp_path: Path) -> None:
    panel = make_panel(qtbot, db)
    assert refreshed(qtbot, panel)
    assert cell(panel, 0, "Calls") == "4"
    writer = StoreWriter(db)
    writer.start()
    writer.log_call_event("t5", "ring", line="911-2", wall=at(21, 15, 0), detail={"ani": ""})
    assert writer.stop()
    assert refreshed(qtbot, panel, lambda: qtbot.mouseClick(panel.refresh_button, Qt.MouseButton.LeftButton))
    assert [cell(panel, 0, h) for h in ("Calls", "Open")] == ["5", "1"]


def test_export_writes_the_figures_shown(qtbot, db: Path, tmp_path: Path) -> None:
    panel = make_panel(qtbot, db)
    assert refreshed(qtbot, panel)
    target = tmp_path / "today.csv"
    panel.ask_export_path = lambda: str(target)
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    rows = list(csv.reader(target.open(encoding="utf-8", newline="")))
    overall = dict(zip(rows[0], rows[1]))
    assert (overall["section"], overall["calls"], overall["answered"], overall["within_15_s"]) == (
        "overall", "4", "3", "2")
    assert str(target) in panel.status.text()

    bad = tmp_path / "missing-dir" / "x.csv"
    assert panel.export_csv(bad) is False
    assert "x.csv" in panel.status.text() and panel.status.property("state") == "warn"

    panel.ask_export_path = lambda: None  # cancelled dialog: nothing written, nothing said
    before = panel.status.text()
    qtbot.mouseClick(panel.export_button, Qt.MouseButton.LeftButton)
    assert panel.status.text() == before


def test_a_missing_store_shows_why_and_clears_the_figures(qtbot, db: Path, tmp_path: Path) -> None:
    store = {"path": db}  # the profile's store file, moved away between two refreshes
    panel = StatsPanel(lambda since, until: load_call_records(store["path"], since, until), tz=CST, now=lambda: NOW)
    qtbot.addWidget(panel)
    assert refreshed(qtbot, panel)
    assert panel.model.rowCount() == 3
    store["path"] = tmp_path / "gone.sqlite3"
    assert refreshed(qtbot, panel) is False
    assert "gone.sqlite3" in panel.status.text()
    assert panel.model.rowCount() == 0 and panel.stats is None and not panel.export_button.isEnabled()
    assert list(panel.distribution_bars.opts["height"]) == []
    assert panel.export_csv(tmp_path / "y.csv") is False and not (tmp_path / "y.csv").exists()


def test_a_slow_earlier_refresh_never_overwrites_a_later_one(qtbot, db: Path) -> None:
    gate = threading.Event()
    calls = []

    def loader(since, until):
        calls.append((since, until))
        if len(calls) == 1:  # the first query (period "all") hangs until the test lets it go
            assert gate.wait(10)
        return load_call_records(db, since, until)

    panel = StatsPanel(loader, tz=CST, now=lambda: NOW)
    qtbot.addWidget(panel)
    panel.period_box.blockSignals(True)
    panel.period_box.setCurrentIndex(panel.period_box.findData("all"))
    panel.period_box.blockSignals(False)
    panel.refresh()  # "all": 5 calls, held at the gate
    assert refreshed(qtbot, panel, lambda: panel.set_period("today"))
    assert cell(panel, 0, "Calls") == "4"
    # The stale result reaches the GUI thread (the panel's own slot runs first: it connected first)
    # and must be dropped.
    with qtbot.assertNotEmitted(panel.refreshed), qtbot.waitSignal(panel._loaded, timeout=10_000):
        gate.set()
    assert cell(panel, 0, "Calls") == "4" and panel.stats.period == "Today 2026-11-21"


def test_the_gui_thread_does_not_wait_for_the_store(qtbot, db: Path) -> None:
    gate = threading.Event()
    loader_threads = []

    def loader(since, until):
        loader_threads.append(threading.current_thread())
        assert gate.wait(10)
        return load_call_records(db, since, until)

    panel = StatsPanel(loader, tz=CST, now=lambda: NOW)
    qtbot.addWidget(panel)
    panel.refresh()  # returns while the loader is still held
    assert panel.status.text() == "Loading the call statistics…"
    with qtbot.waitSignal(panel.refreshed, timeout=10_000):
        gate.set()
    assert loader_threads and loader_threads[0] is not threading.main_thread()
    assert cell(panel, 0, "Calls") == "4"
