"""The Technician view's REPORT tab against a running demo position: progress, the written files,
cancel at the next step, plain text, and a clear refusal for a bad destination."""

from __future__ import annotations

import json
import threading

import pytest
from PySide6.QtCore import Qt

from app.config import load_demo_profile
from app.position import Position
from app.report import PASS, SKIPPED, Section, Step
from app.report.collect import STEPS
from tests.unit.test_report_render import WellFormed
from ui.technician.report_panel import ReportPanel
from ui.technician.view import TechnicianView


@pytest.fixture
def demo(qtbot, tmp_path):
    profile = load_demo_profile()
    for radio in profile.radios:
        if radio.kind == "sim":
            radio.bursts_per_minute = 0.0
    position = Position(profile, demo=True, data_path=tmp_path / "demo.sqlite3")
    position.start()
    qtbot.waitUntil(lambda: position.status.devices and all(d.state == "up" for d in position.status.devices),
                    timeout=5000)
    yield position
    assert position.stop(timeout=3.0)


def test_report_tab_writes_html_and_json_with_progress(qtbot, tmp_path, demo):
    view = TechnicianView(demo)
    qtbot.addWidget(view)
    panel = view.report
    assert view.tabs.tabText(view.tabs.indexOf(panel)) == "REPORT"
    panel.path_edit.setText(str(tmp_path / "out" / "bench.html"))
    panel.format_box.setCurrentIndex(panel.format_box.findData("both"))
    steps_seen = []
    panel.progress.valueChanged.connect(steps_seen.append)
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    assert not panel.start_button.isEnabled() and panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.running, timeout=30000)
    assert panel.start_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert panel.progress.value() == panel.progress.maximum() == len(STEPS)
    assert len(set(steps_seen)) >= 3  # it moved through the steps, not straight to the end
    report = panel.last_report
    assert report is not None and not report.cancelled
    by_name = {s.name: s for s in report.sections}
    assert by_name["links"].status == PASS and "running console" in by_name["links"].summary
    assert by_name["audio-latency"].status == SKIPPED
    assert panel.written == [tmp_path / "out" / "bench.html", tmp_path / "out" / "bench.json"]
    parsed = WellFormed().check((tmp_path / "out" / "bench.html").read_text(encoding="utf-8"))
    assert parsed.problems == [] and "links" in parsed.section_ids
    data = json.loads((tmp_path / "out" / "bench.json").read_text(encoding="utf-8"))
    assert data["position"] == "DEMO-1" and data["cancelled"] is False
    assert panel.table.rowCount() == len(STEPS)
    assert panel.table.item(0, 0).text() in (PASS, SKIPPED, "FAIL")
    assert "bench.html" in panel.result_label.text()


def test_cancel_stops_at_the_next_step_and_still_writes(qtbot, tmp_path, demo):
    entered = threading.Event()

    def waits_for_cancel(ctx):
        entered.set()
        assert ctx.cancel.wait(20), "the panel's CANCEL never reached the step"
        return Section("slow", "Slow step", PASS, "stopped early <b>kept</b>", {"gathered": 1})

    ran_after = []
    steps = (STEPS[0], Step("slow", "Slow step", waits_for_cancel),
             Step("after", "After", lambda _c: ran_after.append(1) or Section("after", "After", PASS, "")))
    panel = ReportPanel(demo, steps=steps)
    qtbot.addWidget(panel)
    panel.path_edit.setText(str(tmp_path / "cut.json"))
    panel.format_box.setCurrentIndex(panel.format_box.findData("json"))
    assert panel.start()
    qtbot.waitUntil(entered.is_set, timeout=10000)
    qtbot.waitUntil(lambda: "Slow step" in panel.step_label.text(), timeout=5000)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.running, timeout=10000)
    assert ran_after == []
    assert panel.last_report.cancelled
    data = json.loads((tmp_path / "cut.json").read_text(encoding="utf-8"))
    assert data["cancelled"] is True
    assert [(s["name"], s["status"]) for s in data["sections"]] == [("versions", PASS), ("slow", PASS),
                                                                    ("after", SKIPPED)]
    assert "(cancelled)" in panel.result_label.text()
    # Section text is shown literally.
    assert panel.table.item(1, 2).text() == "stopped early <b>kept</b>"
    assert panel.result_label.textFormat() == Qt.TextFormat.PlainText


def test_a_folder_or_an_empty_name_is_refused_with_the_reason(qtbot, tmp_path, demo):
    panel = ReportPanel(demo)
    qtbot.addWidget(panel)
    panel.path_edit.setText("")
    assert not panel.start() and "Name the file" in panel.result_label.text()
    panel.format_box.setCurrentIndex(panel.format_box.findData("json"))
    panel.path_edit.setText(str(tmp_path))
    assert not panel.start() and "is a folder" in panel.result_label.text()
    assert not panel.running and panel.start_button.isEnabled()


def test_an_unwritable_destination_is_reported_after_the_run(qtbot, tmp_path, demo):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    panel = ReportPanel(demo, steps=STEPS[:2])
    qtbot.addWidget(panel)
    panel.format_box.setCurrentIndex(panel.format_box.findData("json"))
    panel.path_edit.setText(str(blocker / "inside" / "r.json"))  # a folder under a file cannot be made
    assert panel.start()
    qtbot.waitUntil(lambda: not panel.running, timeout=10000)
    assert panel.written == [] and "cannot write" in panel.result_label.text()
    assert panel.start_button.isEnabled()
