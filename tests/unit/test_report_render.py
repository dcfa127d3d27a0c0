"""The report's HTML and JSON: well-formed, every value escaped, same content; the step runner's
progress, cancel and failure handling."""

from __future__ import annotations

import json
import threading
from html.parser import HTMLParser

import pytest

from app.report import (
    FAIL,
    PASS,
    SKIPPED,
    Report,
    ReportContext,
    Section,
    Step,
    collect,
    render_html,
    render_json,
)
from app.report.steps import event_severity

VOID = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "area", "base", "source"}


class WellFormed(HTMLParser):
    """Parses a page and records every problem: unbalanced tags, script/style/link to elsewhere;
    collects the ids of sections and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.section_ids: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        attrs = dict(attrs)
        if tag == "section":
            self.section_ids.append(attrs.get("id", ""))
        for name, value in attrs.items():
            if name in ("src", "href") and value and not value.startswith("#"):
                self.problems.append(f"<{tag} {name}={value!r}> reaches outside the file")
            if name.startswith("on"):
                self.problems.append(f"<{tag}> has an event handler {name}")
        if tag == "script":
            self.problems.append("a <script>")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1] if self.stack else 'nothing'}")
            return
        self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)

    def check(self, page: str) -> WellFormed:
        self.feed(page)
        self.close()
        if self.stack:
            self.problems.append(f"left open: {self.stack}")
        return self


HOSTILE = '<script>alert("x")</script><b onmouseover=1>&amp;\x07\x00'


def _report(**changes) -> Report:
    report = Report(created_wall=1_700_000_000.0, position="DESK <1>", profile_path="/p/x.toml",
                    finished_wall=1_700_000_005.0)
    report.sections = [
        Section("versions", "Versions", PASS, "13 found", {"numpy": "2.0", "rigctld": None}),
        Section("links", "Links", FAIL, f"radio1 down: {HOSTILE}",
                [{"id": "radio1", "state": "down", "detail": HOSTILE}, {"id": "ali", "state": "up", "extra": 1.5}]),
        Section("events", "Events", SKIPPED, "no log", {"listed": [], "nested": {"a": [1, 2, {"b": True}]},
                                                        "level": float("-inf")}),
    ]
    for name, value in changes.items():
        setattr(report, name, value)
    return report


def test_html_is_well_formed_self_contained_and_escapes_every_value():
    page = render_html(_report())
    parsed = WellFormed().check(page)
    assert parsed.problems == []
    assert parsed.section_ids == ["summary", "versions", "links", "events"]
    assert "script" not in parsed.tags and "b" not in parsed.tags
    text = "".join(parsed.text)
    # The hostile text shows as text (control characters written out), never as markup.
    assert '<script>alert("x")</script><b onmouseover=1>&amp;\\x07\\x00' in text
    assert "DESK <1>" in text
    assert "\x00" not in page and "\x07" not in page
    for status in (PASS, FAIL, SKIPPED):
        assert status in text
    assert "CANCELLED" not in text


def test_html_marks_a_cancelled_report():
    parsed = WellFormed().check(render_html(_report(cancelled=True)))
    assert parsed.problems == [] and "CANCELLED" in "".join(parsed.text)


def test_json_has_the_same_sections_and_figures():
    report = _report()
    data = json.loads(render_json(report))
    assert [s["name"] for s in data["sections"]] == ["versions", "links", "events"]
    assert [s["status"] for s in data["sections"]] == [PASS, FAIL, SKIPPED]
    assert data["sections"][1]["data"][0]["detail"] == HOSTILE  # JSON keeps the value exactly
    assert data["sections"][2]["data"]["level"] == "-inf"  # strict JSON has no infinity
    assert data["counts"] == {PASS: 1, FAIL: 1, SKIPPED: 1}
    assert data["position"] == "DESK <1>" and data["cancelled"] is False


def test_a_section_status_must_be_one_of_the_three():
    with pytest.raises(ValueError, match="OK"):
        Section("x", "X", "OK", "")


def _steps(*fns) -> list[Step]:
    return [Step(f"s{k}", f"Step {k}", fn) for k, fn in enumerate(fns)]


def test_collect_reports_progress_and_turns_a_crash_into_a_fail():
    seen = []

    def boom(_ctx):
        raise RuntimeError("driver exploded at rfc2217://u:pw@h:1")

    steps = _steps(lambda _c: Section("s0", "Step 0", PASS, "fine"), boom,
                   lambda _c: Section("s2", "Step 2", SKIPPED, "nothing to do"))
    report = collect(ReportContext(), steps, progress=lambda i, n, title: seen.append((i, n, title)))
    assert seen == [(0, 3, "Step 0"), (1, 3, "Step 1"), (2, 3, "Step 2"), (3, 3, "done")]
    assert [s.status for s in report.sections] == [PASS, FAIL, SKIPPED]
    crashed = report.sections[1]
    assert "RuntimeError" in crashed.summary and "driver exploded" in crashed.summary
    assert "pw@" not in crashed.summary  # redacted like everything else
    assert not report.cancelled and report.finished_wall is not None


def test_cancel_stops_at_the_next_step_and_keeps_what_was_gathered():
    ctx = ReportContext()

    def cancels(c):
        c.cancel.set()  # the technician pressed CANCEL while this step ran
        return Section("s1", "Step 1", PASS, "gathered anyway", {"n": 1})

    ran = []
    steps = _steps(lambda _c: Section("s0", "Step 0", PASS, "a"), cancels,
                   lambda _c: ran.append("s2") or Section("s2", "Step 2", PASS, "b"))
    report = collect(ctx, steps)
    assert ran == []
    assert report.cancelled
    assert [(s.name, s.status) for s in report.sections] == [("s0", PASS), ("s1", PASS), ("s2", SKIPPED)]
    assert report.sections[1].data == {"n": 1}
    assert "cancelled" in report.sections[2].summary


def test_cancel_from_another_thread_before_start_skips_everything():
    ctx = ReportContext()
    thread = threading.Thread(target=ctx.cancel.set)
    thread.start()
    thread.join()
    report = collect(ctx, _steps(lambda _c: Section("s0", "S", PASS, "")))
    assert report.cancelled and report.sections[0].status == SKIPPED


@pytest.mark.parametrize("kind, severity", [
    ("link.fault", "error"), ("link.down", "error"), ("audio.lost", "error"), ("ali.layout.error", "error"),
    ("ptt.failed", "error"), ("ptt.refused", "warning"), ("registry.problem", "warning"),
    ("recall.off", "warning"), ("ali.heartbeat.bad", "warning"),
    ("ptt.key", None), ("call.answer", None), ("link.up", None), ("select", None),
])
def test_event_severity(kind, severity):
    assert event_severity(kind) == severity
