"""The ALI inspector in the Technician view: paste, load, take the last spill; see each field where it is read."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QObject, QPoint, Signal  # noqa: E402

from app.ali.framing import Frame, printable  # noqa: E402
from app.ali.layouts import available_layouts, load_layout  # noqa: E402
from app.ali.samples import decode_sample_file  # noqa: E402
from app.ali.spans import field_spans, frame_text, frames_in  # noqa: E402
from app.config import load_profile  # noqa: E402
from app.position import Position  # noqa: E402
from app.snapshots import CallsSnapshot, CallView, SpillView  # noqa: E402
from ui.technician.ali_inspector import AliInspector, latest_spill  # noqa: E402
from ui.technician.view import TechnicianView  # noqa: E402
from ui.theme import apply_theme  # noqa: E402
from ui.theme.palette import FIELD_TINTS, NIGHT  # noqa: E402

SAMPLES = Path(__file__).resolve().parents[1] / "data/ali-samples"
NOW = time.time()


def sample_text(name: str) -> str:
    """A sample file as a technician would paste it: its spill lines, tokens and all."""
    lines = (SAMPLES / name).read_text(encoding="utf-8").splitlines()
    return "\n".join(line for line in lines if not line.startswith("#"))


def sample_bytes(name: str) -> bytes:
    return decode_sample_file((SAMPLES / name).read_text(encoding="utf-8"))


def table(inspector: AliInspector) -> dict[str, list[str]]:
    """Field label -> [value, where, error] as the table shows them."""
    model = inspector.rows
    return {model.index(r, 0).data(): [model.index(r, c).data() for c in (1, 2, 3)] for r in range(model.rowCount())}


def painted(inspector: AliInspector) -> list[tuple[int, int]]:
    return [(s.cursor.selectionStart(), s.cursor.selectionEnd()) for s in inspector.frame_view.extraSelections()]


@pytest.fixture
def inspector(qtbot) -> AliInspector:
    widget = AliInspector("30w")
    qtbot.addWidget(widget)
    widget.resize(1400, 800)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


# ---- pasting ------------------------------------------------------------------------------------

def test_pasted_sample_shows_each_field_with_its_value_and_place(inspector):
    inspector.set_text(sample_text("capture-busn-school-RECONSTRUCTED-bcc-valid.txt"))
    rows = table(inspector)
    assert rows["ani"] == ["7194958181", "1:0-13", ""]
    assert rows["class_of_service"][0] == "BUSN (Business)"
    assert rows["name"][0] == "EL PASO COUNTY COLORADO SCHO"
    assert rows["header"][:2] == ["2517", "0:0-3"] and rows["position"][:2] == ["517", "0:1-3"]
    assert rows["psap"][0] == "EPSO--FALCON"
    assert [rows[f"agencies ({n}/3)"][0] for n in (1, 2, 3)] == ["EPSO", "FALCON FD", "FALCON AMB"]
    assert inspector.banner.property("state") == "ok"
    assert "check byte OK" in inspector.banner.text()

    # Every highlight sits exactly over the characters the layout reads, in the shown frame text.
    frame = inspector.frame
    spans = field_spans(frame.payload.decode("latin-1"), load_layout("30w"))
    shown = frame_text(frame)
    expected = [shown.of_payload(s.start, s.stop) for s in spans if s.stop > s.start]
    assert sorted(painted(inspector)) == sorted(expected)
    text = inspector.frame_view.toPlainText()
    ani = next(s for s in spans if s.name == "ani")
    start, stop = shown.of_payload(ani.start, ani.stop)
    assert text[start:stop] == "(719) 495-8181"
    assert text.startswith("<STX>2517<CR>\n(719) 495-8181 BUSN") and text.endswith("<ETX><BCC=0x12>")


def test_plain_lines_paste_reads_the_same_record(inspector):
    lines = ["2122", "(719) 511-4551 WPH2 08/14 13:59", "T-Mobile USA, Inc.", "      1000       P#719-511-4551",
             "   Dalby DR", "", "CALLBK=(719)555-0111  261 00311", "CO COLORADO SPRINGS", "                  TEL=TMOB",
             "+38.924000  -104.719000      5", "PSAP=CSPD--COLORADO SPRINGS WIRELESS", "VERIFY PD", "VERIFY FD",
             "VERIFY EMS"]
    inspector.set_text("\n".join(lines))
    rows = table(inspector)
    assert rows["callback"][0] == "7195550111" and rows["latitude"][0] == "38.924"
    assert "no <STX> in the text" in inspector.banner.text()
    assert inspector.banner.property("state") == "ok"


def test_typing_rereads_after_a_pause(qtbot, inspector):
    inspector.input.setPlainText(sample_text("capture-resd.txt"))
    qtbot.waitUntil(lambda: table(inspector).get("ani", [""])[0] == "7195550114", timeout=2000)


def test_selecting_a_row_highlights_and_scrolls_to_its_span(qtbot, inspector):
    inspector.set_text(sample_text("capture-wph2-tmobile.txt"))
    row = next(r for r, s in enumerate(inspector.spans) if s.name == "agencies" and s.part == 2)
    inspector.select_field(row)
    span = inspector.spans[row]
    start, stop = frame_text(inspector.frame).of_payload(span.start, span.stop)
    last = inspector.frame_view.extraSelections()[-1]  # the chosen one is painted on top
    assert (last.cursor.selectionStart(), last.cursor.selectionEnd()) == (start, stop)
    assert last.format.background().color().name() == NIGHT.accent
    assert inspector.frame_view.textCursor().position() == start
    assert inspector.frame_view.toPlainText()[start:stop] == "VERIFY EMS         "


def test_hovering_names_the_field_and_a_click_picks_its_row(qtbot, inspector):
    inspector.set_text(sample_text("capture-wph2-tmobile.txt"))
    view = inspector.frame_view
    position = view.toPlainText().index("CALLBK=") + 3
    cursor = view.textCursor()
    cursor.setPosition(position)
    rect = view.cursorRect(cursor)
    assert view.position_at(QPoint(rect.left() + 2, rect.center().y())) == position
    lines = view.describe_at(position)
    assert "callback = 7195550111" in lines and "location = —" in lines
    assert any(line.startswith("at 6:0-19 (line 6 cols 0-19)") for line in lines)
    assert view.describe_at(view.toPlainText().index("<STX>")) == []
    # A click in the text selects the field under it in the table.
    view.setTextCursor(cursor)
    row = inspector.table.selectionModel().currentIndex().row()
    assert inspector.spans[row].name in ("callback", "location")


def test_hostile_spill_text_shows_literally(inspector):
    hostile = "<b>x</b><img src=x>\x1b[31m"
    lines = ["2122", "(719) 555-0100 WPH2 08/14 13:59", hostile, "                 P#719-555-0100"]
    inspector.set_text("\n".join(lines))
    text = inspector.frame_view.toPlainText()
    assert "<b>x</b><img src=x><0x1B>[31m<LF>" in text
    assert "\x1b" not in text
    assert table(inspector)["name"][0] == "<b>x</b><img src=x><0x1B>[31m"
    assert inspector.frame_view.document().toPlainText() == text  # no markup was interpreted
    # Tooltips are escaped HTML that we write.
    tip = inspector.rows.index(next(r for r, s in enumerate(inspector.spans) if s.name == "name"), 1).data(3)
    assert "&lt;b&gt;x&lt;/b&gt;&lt;img src=x&gt;" in tip and "<b>" not in tip


# ---- errors are prominent -----------------------------------------------------------------------

def test_bad_check_byte_and_a_layout_that_does_not_fit(inspector):
    inspector.set_text(sample_text("capture-busn-school.txt"))  # stored with CR LF everywhere
    assert inspector.banner.property("state") == "bad"
    assert "block check 0x12 does not match 0x18" in inspector.banner.text()
    inspector.layout_box.setCurrentIndex(inspector.layout_box.findData("warren"))
    assert "does not fit layout warren: expected 'LEC'" in inspector.banner.text()
    rows = table(inspector)
    assert rows["check 'LEC'"][0] == "MISMATCH" and rows["check 'LEC'"][2].startswith("expected 'LEC', found ")


def test_field_that_fails_to_convert_is_marked(inspector):
    text = sample_text("capture-resd.txt").replace("(719) 555-0114 RESD", "(719) 555-01X4 RESD")
    inspector.set_text(text)
    assert table(inspector)["ani"][2] == "not a phone number"
    assert "ani: not a phone number at line 1 cols 0-13" in inspector.banner.text()
    ani = next(s for s in inspector.spans if s.name == "ani")
    marked = [s for s in inspector.frame_view.extraSelections()
              if s.format.background().color().name() == NIGHT.warn_fill]
    start, stop = frame_text(inspector.frame).of_payload(ani.start, ani.stop)
    assert [(s.cursor.selectionStart(), s.cursor.selectionEnd()) for s in marked] == [(start, stop)]


def test_text_that_is_not_latin1_is_refused_with_its_place(inspector):
    inspector.set_text("2517\nDOE…")
    assert inspector.banner.property("state") == "bad"
    assert "'…' (U+2026) at line 2 column 4" in inspector.banner.text()
    assert inspector.rows.rowCount() == 0


# ---- layout chooser and overrides ---------------------------------------------------------------

def test_layout_chooser_lists_every_layout_and_overrides_apply(inspector):
    assert [inspector.layout_box.itemData(i) for i in range(inspector.layout_box.count())] == available_layouts()
    assert inspector.layout_box.currentData() == "30w"
    spins = (inspector.header_width, inspector.position_first, inspector.position_last)
    assert [spin.value() for spin in spins] == [4, 1, 3]

    glued = sample_text("capture-resd.txt").replace("<STX>2517<CR><LF>\n", "<STX>2517", 1)
    inspector.set_text(glued)
    assert table(inspector)["ani"][:2] == ["7195550114", "0:4-17"]
    inspector.header_width.setValue(3)  # the header is now "251", line 1 starts with "7("
    rows = table(inspector)
    assert rows["header"][0] == "251" and rows["position"][0] == "51"
    assert rows["ani"][:2] == ["7719555011", "0:3-16"]  # "7(719) 555-011": read one column early
    inspector.header_width.setValue(4)
    inspector.position_first.setValue(-1)  # "none": no position field
    assert "position" not in table(inspector) and inspector.position_first.text() == "none"
    assert inspector.current_layout().position is None


# ---- captures and the last spill received -------------------------------------------------------

def test_load_capture_lists_its_frames(tmp_path, inspector):
    capture = tmp_path / "capture.bin"
    capture.write_bytes(sample_bytes("capture-heartbeat-H.txt") + sample_bytes("capture-resd.txt")
                        + sample_bytes("capture-wph2-tmobile.txt"))
    assert inspector.load_capture(capture)
    assert inspector.frame_box.count() == 3 and inspector.frame_box.currentIndex() == 1  # first ALI frame
    assert table(inspector)["ani"][0] == "7195550114"
    inspector.frame_box.setCurrentIndex(2)
    assert table(inspector)["ani"][0] == "7195114551"
    inspector.frame_box.setCurrentIndex(0)
    assert inspector.rows.rowCount() == 0 and "heartbeat frame" in inspector.banner.text()

    assert not inspector.load_capture(tmp_path / "missing.bin")
    assert inspector.banner.property("state") == "bad" and "missing.bin" in inspector.banner.text()


class CallsSource(QObject):
    """The part of Position the inspector uses: calls_changed and the latest CallsSnapshot."""

    calls_changed = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.calls = CallsSnapshot()


def spill(raw: str, wall: float, bcc_ok: bool | None = True) -> SpillView:
    return SpillView(received_wall=wall, raw_text=raw, kind="ali", bcc_ok=bcc_ok)


def test_last_received_prefers_the_active_call_then_the_newest(qtbot):
    source = CallsSource()
    widget = AliInspector("30w", position=source)
    qtbot.addWidget(widget)
    assert not widget.last_button.isEnabled()
    assert not widget.take_last_received()

    resd = frames_in(sample_bytes("capture-resd.txt"), True).frames[0].payload.decode("latin-1")
    wph2 = frames_in(sample_bytes("capture-wph2-tmobile.txt"), True).frames[0].payload.decode("latin-1")
    older = CallView(1, "1", "released", NOW - 90, spills=(spill(printable(resd.encode("latin-1")), NOW - 80),))
    newer = spill(printable(wph2.encode("latin-1")), NOW - 10, bcc_ok=False)
    source.calls = CallsSnapshot(recent=(older,), unassigned_spills=(newer,))
    source.calls_changed.emit(source.calls)
    assert widget.last_button.isEnabled()
    assert latest_spill(source.calls) is newer
    assert widget.take_last_received()
    assert table(widget)["ani"][0] == "7195114551"
    assert "check byte was BAD when received" in widget.banner.text()

    resd_spill = spill(printable(resd.encode("latin-1")), NOW - 60)
    active = CallView(2, "1", "answered", NOW - 5, NOW - 3, spills=(resd_spill,))
    source.calls = CallsSnapshot(active=active, unassigned_spills=(newer,))
    widget.last_button.click()
    assert table(widget)["ani"][0] == "7195550114"


PROFILE = """
schema_version = 1
[position]
name = "TEST-1"
role = "technician"
[ali]
url = "sim://phone"
layout = "{layout}"
bcc = {bcc}
[phone]
kind = "sim"
calls_per_minute = 0.0
transport = "memory"
seed = 3
"""


def test_technician_view_takes_layout_and_check_byte_from_the_profile(qtbot, tmp_path):
    site = tmp_path / "site.toml"
    site.write_text('extends = "30w"\nname = "site"\n[header]\nwidth = 3\nposition = [0, 2]\n')
    path = tmp_path / "p.toml"
    path.write_text(PROFILE.format(layout="site.toml", bcc="false"))
    view = TechnicianView(Position(load_profile(path), data_path=tmp_path / "p.sqlite3"))
    qtbot.addWidget(view)
    inspector = view.inspector
    assert view.tabs.tabText(1) == "ALI INSPECTOR" and view.tabs.widget(1) is inspector
    assert inspector.layout_box.currentData() == str(site)
    assert inspector.layout_box.currentText() == "site.toml (site file)"
    assert inspector.header_width.value() == 3 and not inspector.bcc_box.isChecked()


def test_last_received_from_a_running_position(qtbot, tmp_path):
    path = tmp_path / "p.toml"
    path.write_text(PROFILE.format(layout="30w", bcc="true"))
    position = Position(load_profile(path), data_path=tmp_path / "p.sqlite3")
    view = TechnicianView(position)
    qtbot.addWidget(view)
    position.start()
    try:
        position.driver("phone").ring(0)
        qtbot.waitUntil(lambda: len(position.calls.ringing) == 1, timeout=3000)
        position.answer_call()
        qtbot.waitUntil(lambda: bool(position.calls.active and position.calls.active.spills), timeout=3000)
        qtbot.waitUntil(view.inspector.last_button.isEnabled, timeout=3000)
        view.tabs.setCurrentIndex(1)
        view.inspector.last_button.click()
        rows = table(view.inspector)
        assert rows["ani"][0] == "7195550101" and rows["class_of_service"][0] == "RESD (Residence)"
        assert not any(error for _value, _where, error in rows.values())
    finally:
        assert position.stop(timeout=3.0)


# ---- themes -------------------------------------------------------------------------------------

@pytest.fixture
def restore_theme(qapp):
    style, palette = qapp.style().name(), qapp.palette()
    yield
    apply_theme(qapp, "night")
    qapp.setStyleSheet("")
    qapp.setPalette(palette)
    qapp.setStyle(style)


def test_tints_follow_the_theme(qtbot, qapp, inspector, restore_theme):
    apply_theme(qapp, "night")
    inspector.set_text(sample_text("capture-resd.txt"))
    assert set(inspector.tints.values()) <= set(FIELD_TINTS["night"])
    apply_theme(qapp, "day")
    qtbot.waitUntil(lambda: set(inspector.tints.values()) <= set(FIELD_TINTS["day"]), timeout=2000)
    backgrounds = {s.format.background().color().name() for s in inspector.frame_view.extraSelections()}
    assert backgrounds & set(FIELD_TINTS["day"]) and not backgrounds & set(FIELD_TINTS["night"])
    # No frame: the view is empty and nothing is painted.
    inspector.set_text("")
    assert inspector.frame_view.extraSelections() == [] and inspector.rows.rowCount() == 0


def test_frame_without_check_byte_is_read_unchecked(inspector):
    payload = sample_bytes("capture-wph1-att-no-coordinates.txt")
    assert payload.endswith(b"\x03")  # stored without its check byte
    inspector.set_text(frame_text(Frame(payload, payload[1:-1], None, None)).text)
    assert table(inspector)["ani"][0] == "7195559044"
    assert "no check byte after <ETX>" in inspector.banner.text()


def test_link_line_names_counts_ages_and_the_last_error():
    from app.snapshots import AliLinkStats
    from ui.technician.ali_inspector import link_text

    assert link_text(AliLinkStats(), 100.0) == (
        "ALI LINK  ·  0 frames, last never  ·  0 heartbeats, last never  ·  0 errors")
    stats = AliLinkStats(frames=12, heartbeats=3, errors=1, last_frame_wall=95.0, last_heartbeat_wall=-200.0,
                         last_error="heartbeat: block check mismatch\r\n<b>x</b>")
    text = link_text(stats, 100.0)
    assert "12 frames, last 5 s ago" in text and "3 heartbeats, last 5 min ago" in text
    assert "1 error (last: heartbeat: block check mismatch" in text and "\n" not in text
