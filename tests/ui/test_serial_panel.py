"""The Technician SERIAL tab against real ports: an RFC 2217 server over a loop port (lamps follow its
lines; RTS/DTR toggles reach it), pseudo-terminals (hex monitor, capture, no modem lines) and
``loop://`` (loopback test). The position stand-in only carries the profile and the console snapshot
the interlock reads; the technician's answers to the PTT question are passed in as ``confirm``."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QObject, Qt, Signal

from app.ali.parse import parse_stream
from app.config.schema import Profile
from app.snapshots import ChannelView, ConsoleSnapshot
from hardware.serial.ports import open_port
from hardware.sim.links import PtyLink
from hardware.sim.spills import DEMO_RECORDS, format_30w, frame
from tests.rfc2217_peer import Rfc2217Peer
from ui.technician.serial_panel import SerialPanel

WAIT_MS = 10_000
HOSTILE = "<b>X</b><img src=x>"


class BenchPosition(QObject):
    """What the panel reads from a Position: the profile and the console snapshot."""

    console_changed = Signal(object)

    def __init__(self, profile: Profile | None = None) -> None:
        super().__init__()
        self.profile = profile
        self.console = ConsoleSnapshot()

    def key(self, radio_id: str, keyed: bool) -> None:
        self.console = ConsoleSnapshot(channels=(ChannelView(radio_id, "R", "serial", transmitting=keyed),))
        self.console_changed.emit(self.console)


def radio_profile(url: str, name: str = "FIRE DISP") -> Profile:
    return Profile.model_validate({
        "position": {"name": "Bench"},
        "radios": [{"id": "fire", "name": name, "kind": "serial", "url": url, "ptt_line": "rts"}],
    })


class Answers:
    """The technician's answers to the PTT question, and what was asked."""

    def __init__(self, answer: bool) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def __call__(self, title: str, question: str) -> bool:
        self.asked.append(question)
        return self.answer


@pytest.fixture
def make_panel(qtbot):
    panels: list[SerialPanel] = []

    def make(position: BenchPosition | None = None, **kwargs) -> SerialPanel:
        panel = SerialPanel(position or BenchPosition(), ports=kwargs.pop("ports", lambda: []), **kwargs)
        qtbot.addWidget(panel)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.shutdown()


@pytest.fixture
def pty_link():
    link = PtyLink()
    yield link
    link.close()


def choose(panel: SerialPanel, url: str) -> None:
    panel.port.setEditText(url)


def open_and_wait(qtbot, panel: SerialPanel, url: str) -> None:
    choose(panel, url)
    qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: " open · " in panel.state.text(), timeout=WAIT_MS)


def assert_released(path: str) -> None:
    open_port(path, rts=None, dtr=None, exclusive=True).close()


def test_the_chooser_lists_the_profiles_ports_first_and_a_typed_url_wins(make_panel):
    from app.bench.serial_checks import port_choices

    position = BenchPosition(radio_profile("/dev/ttyFIRE", name=HOSTILE))
    panel = make_panel(position, ports=lambda: port_choices(position.profile))
    assert panel.port.itemData(0) == "/dev/ttyFIRE" and HOSTILE in panel.port.itemText(0)
    panel.port.setCurrentIndex(0)
    assert panel.url() == "/dev/ttyFIRE"
    choose(panel, "rfc2217://10.0.0.9:4001")
    assert panel.url() == "rfc2217://10.0.0.9:4001"


def test_lamps_follow_the_lines_and_the_toggles_reach_the_port(qtbot, make_panel):
    with Rfc2217Peer(drop_on_hangup=False) as peer:
        panel = make_panel()
        open_and_wait(qtbot, panel, peer.url)
        qtbot.waitUntil(lambda: panel.lamp_on("cd") and not panel.lamp_on("cts"), timeout=WAIT_MS)
        peer.set_lines(rts=True)  # the far end asserts: our CTS
        qtbot.waitUntil(lambda: panel.lamp_on("cts"), timeout=WAIT_MS)
        assert panel.lamps["cts"].textFormat() == Qt.TextFormat.PlainText
        peer.set_lines(rts=False)
        qtbot.waitUntil(lambda: not panel.lamp_on("cts"), timeout=WAIT_MS)

        assert panel.toggles["rts"].isEnabled() and panel.interlock_note.text() == ""
        qtbot.mouseClick(panel.toggles["dtr"], Qt.MouseButton.LeftButton)
        peer.port.wait_level("dtr", True)
        qtbot.waitUntil(lambda: panel.toggles["dtr"].isChecked(), timeout=WAIT_MS)
        panel.close_port()  # lowers what it raised before letting go
        peer.port.wait_level("dtr", False)
        peer.wait_sessions(ended=1)
        assert not panel.toggles["dtr"].isEnabled() and panel.open_button.text() == "OPEN"


def test_a_ptt_port_asks_first_and_refuses_while_the_console_has_the_radio_keyed(qtbot, make_panel):
    with Rfc2217Peer(drop_on_hangup=False) as peer:
        position = BenchPosition(radio_profile(peer.url, name=HOSTILE))
        answers = Answers(False)
        panel = make_panel(position, confirm=answers)
        open_and_wait(qtbot, panel, peer.url)
        assert HOSTILE in panel.interlock_note.text()
        assert panel.interlock_note.textFormat() == Qt.TextFormat.PlainText

        qtbot.mouseClick(panel.toggles["rts"], Qt.MouseButton.LeftButton)  # "no"
        assert len(answers.asked) == 1 and "PTT on RTS" in answers.asked[0]
        assert not panel.toggles["rts"].isChecked() and "not confirmed" in panel.interlock_note.text()

        answers.answer = True
        qtbot.mouseClick(panel.toggles["rts"], Qt.MouseButton.LeftButton)  # "yes"
        peer.port.wait_level("rts", True)
        qtbot.mouseClick(panel.toggles["rts"], Qt.MouseButton.LeftButton)  # confirmed once per opening
        peer.port.wait_level("rts", False)
        assert len(answers.asked) == 2

        position.key("fire", True)  # the console keys the radio: no toggle, whatever the answer
        assert not panel.toggle("dtr", True)
        assert "keyed by the console" in panel.interlock_note.text() and not panel.toggles["dtr"].isChecked()
        assert len(answers.asked) == 2
        assert not panel.start_loopback() and "keyed by the console" in panel.result.toPlainText()
        assert True not in peer.port.levels("dtr")  # DTR was never raised


def test_hex_monitor_marks_the_framing_and_captures_what_ali_parse_reads(qtbot, make_panel, pty_link, tmp_path):
    panel = make_panel(choose_capture_file=lambda: str(tmp_path / "capture.bin"))
    open_and_wait(qtbot, panel, pty_link.slave_path)
    assert "no modem lines" in panel.state.text()
    assert not panel.toggles["rts"].isEnabled()  # a pty has no lines to toggle

    qtbot.mouseClick(panel.capture_button, Qt.MouseButton.LeftButton)
    assert panel.capture_button.isChecked() and "capturing to" in panel.capture_label.text()
    spill = frame(format_30w(DEMO_RECORDS[0], "2001"), True)
    stream = b"\x02H\x03\x4b" + spill + b"<b>X</b>"
    pty_link.write(stream)
    qtbot.waitUntil(lambda: panel.session.captured >= len(stream), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "<b>X</b>" in panel.monitor.toPlainText(), timeout=WAIT_MS)  # the idle flush
    rows = panel.monitor.toPlainText().splitlines()
    assert rows[0].startswith("00000000 [02  48  03] 4B ") and rows[0].endswith("STX ETX")
    assert rows[1].startswith("00000004 [02 ")
    qtbot.mouseClick(panel.capture_button, Qt.MouseButton.LeftButton)
    assert panel.capture_label.text() == f"captured {len(stream)} bytes"
    captured = (tmp_path / "capture.bin").read_bytes()
    assert captured == stream
    assert [e["kind"] for e in parse_stream(captured, "30w")].count("ali") == 1
    panel.close_port()
    assert_released(pty_link.slave_path)


def test_loopback_test_shows_progress_and_the_result(qtbot, make_panel):
    panel = make_panel()
    choose(panel, "loop://")
    qtbot.mouseClick(panel.loopback_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.testing, timeout=WAIT_MS)
    assert panel.progress.value() == 100
    text = panel.result.toPlainText()
    assert "result     PASS" in text and "RTS->CTS   pass" in text and "DTR->CD    not-wired" in text
    assert panel.last_result.data.received == panel.last_result.data.sent


def test_cancel_stops_the_loopback_test_and_releases_the_port(qtbot, make_panel, pty_link):
    panel = make_panel()  # nothing echoes on this pty: the test would wait for the bytes to come back
    choose(panel, pty_link.slave_path)
    assert panel.start_loopback()
    qtbot.waitUntil(lambda: "sending" in panel.progress.format(), timeout=WAIT_MS)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not panel.testing, timeout=WAIT_MS)
    assert "CANCELLED" in panel.result.toPlainText()
    assert panel.loopback_button.isEnabled() and not panel.cancel_button.isEnabled()
    assert_released(pty_link.slave_path)


def test_the_loopback_test_takes_the_port_from_the_monitor(qtbot, make_panel):
    with Rfc2217Peer() as peer:
        panel = make_panel()
        open_and_wait(qtbot, panel, peer.url)
        assert panel.start_loopback()
        assert panel.session is None  # the monitor let go first
        qtbot.waitUntil(lambda: not panel.testing, timeout=WAIT_MS)
        assert "result     PASS" in panel.result.toPlainText()


def test_a_port_that_cannot_be_opened_says_why(qtbot, make_panel):
    panel = make_panel()
    choose(panel, "/dev/no-such-port")
    qtbot.mouseClick(panel.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "cannot open /dev/no-such-port" in panel.state.text(), timeout=WAIT_MS)
    assert panel.session is None and panel.open_button.text() == "OPEN"
    assert panel.start_loopback()
    qtbot.waitUntil(lambda: not panel.testing, timeout=WAIT_MS)
    assert "cannot open /dev/no-such-port" in panel.result.toPlainText()


def test_a_port_thread_that_reports_after_the_panel_is_gone_does_no_harm(qtbot):
    import threading

    from shiboken6 import delete

    panel = SerialPanel(BenchPosition())
    bridge = panel.bridge
    delete(panel)  # as when the window closes while a slow port is still letting go
    errors: list[BaseException] = []

    def late_report() -> None:
        try:
            bridge.closed.emit(1, "released late")
        except BaseException as err:  # noqa: BLE001 - the test reports it
            errors.append(err)

    thread = threading.Thread(target=late_report)
    thread.start()
    thread.join(5)
    assert errors == []
