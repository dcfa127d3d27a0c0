"""TTY panel and the tile's signaling: on hand-made views, and on a real position on the null audio device."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from app.calls.tty import TtyLine, TtyView
from app.dsp.baudot import encode_tty
from app.snapshots import ChannelView
from tests.integration.test_live_signaling import start
from ui.calltaker.tty_panel import TtyPanel
from ui.calltaker.view import CallTakerView
from ui.dispatcher.channel_tile import ChannelTile, signal_request


def test_the_conversation_is_shown_as_plain_text_and_a_reply_is_sent_once(qtbot) -> None:
    panel = TtyPanel()
    qtbot.addWidget(panel)
    panel.render(TtyView(True, True, (TtyLine("caller", "<b>HELP</b>\r\nGA", 0.0, True),
                                      TtyLine("calltaker", "OK GA", 1.0))))
    assert panel.transcript.toPlainText() == "CALLER: <b>HELP</b>\nGA …\nYOU: OK GA"
    assert panel.status.text() == "▼ caller typing" and panel.status.textFormat() == Qt.TextFormat.PlainText
    with qtbot.waitSignal(panel.send_requested) as sent:
        panel.reply.setText("  WHERE ARE YOU GA ")
        qtbot.keyClick(panel.reply, Qt.Key.Key_Return)
    assert sent.args == ["WHERE ARE YOU GA"]
    assert panel.reply.text() == ""
    with qtbot.assertNotEmitted(panel.send_requested):
        panel.send()  # nothing typed: nothing sent


def test_the_tile_shows_the_unit_name_as_plain_text_and_sends_typed_signals(qtbot) -> None:
    tile = ChannelTile(ChannelView("fire", "FIRE", "sim", link="up", receiving=True, unit_id="1101",
                                   unit_name="<i>Engine</i>\n1"))
    qtbot.addWidget(tile)
    assert tile.detail_label.text() == "UNIT 1101 · <i>Engine</i><LF>1"
    with qtbot.waitSignal(tile.signal_requested) as sent:
        assert tile.send_typed_signal("qc2", "349.0, 433.7")
    assert sent.args == ["fire", "qc2", {"tones": (349.0, 433.7)}]
    with qtbot.assertNotEmitted(tile.signal_requested):
        assert not tile.send_typed_signal("radio_check", "12345")
    box = tile.findChild(QMessageBox)
    assert box is not None and box.textFormat() == Qt.TextFormat.PlainText and "12345" in box.text()
    assert signal_request("radio_check", "1a") == ("mdc1200", {"op": 0x63, "arg": 0x85, "unit": "001A"})
    with pytest.raises(ValueError, match="two tone frequencies"):
        signal_request("qc2", "349")


def test_tty_on_the_phone_line_opens_the_panel_and_a_typed_reply_goes_out(qtbot, tmp_path) -> None:
    pos = start(qtbot, tmp_path)
    try:
        view = CallTakerView(pos)
        qtbot.addWidget(view)
        view.show()
        pos.driver("phone").ring(0)
        qtbot.waitUntil(lambda: bool(pos.calls.ringing), timeout=3000)
        pos.answer_call()
        qtbot.waitUntil(lambda: pos.calls.active is not None, timeout=3000)
        assert not view.tty.isVisible()
        pos.sim_phone_line.play(encode_tty("FIRE AT 12 MAIN ST GA", samplerate=pos.profile.audio.samplerate))
        qtbot.waitUntil(lambda: view.tty.isVisible(), timeout=5000)
        qtbot.waitUntil(lambda: "CALLER: FIRE AT 12 MAIN ST GA" in view.tty.transcript.toPlainText(), timeout=10000)
        view.tty.reply.setText("HELP IS ON THE WAY GA")
        qtbot.keyClick(view.tty.reply, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: "YOU: HELP IS ON THE WAY GA" in view.tty.transcript.toPlainText(), timeout=3000)
        qtbot.waitUntil(lambda: pos.engine.output_levels[1, 2] > -30.0, timeout=3000)  # phone_tx carries it
    finally:
        pos.stop()
