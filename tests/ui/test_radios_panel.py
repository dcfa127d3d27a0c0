"""The RADIOS tab on a running position: a serial radio on a loop-back port (RTS looped to CTS, so its
carrier lamp lights while it is keyed), a radio on a real rigctld, and a tone-remote line on the null
sound device. Keying goes through the console and is always released."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import load_profile
from app.position import Position
from ui.technician.radios_panel import RadiosPanel


def _profile(tmp_path: Path, rig) -> Path:
    path = tmp_path / "radios.toml"
    path.write_text(
        'schema_version = 1\n[position]\nname = "BENCH-1"\nrole = "technician"\n'
        '[audio]\nbackend = "null"\n[audio.channels]\nheadset_left = 1\nheadset_mic = 1\nbase_tx = 2\n'
        '[[radios]]\nid = "r1"\nname = "LOOP"\nkind = "serial"\nurl = "loop://"\ncarrier_line = "cts"\n'
        'debounce_ms = 0\nlive = true\n'
        f'[[radios]]\nid = "hf"\nname = "HF"\nkind = "hamlib"\nhost = "{rig.host}"\nport = {rig.port}\npoll_ms = 50\n'
        '[[radios]]\nid = "base"\nname = "BASE"\nkind = "tone-remote"\ntx_output = "base_tx"\n',
        encoding="utf-8")
    return path


@pytest.fixture
def bench(qtbot, tmp_path, rigctld_server):
    position = Position(load_profile(_profile(tmp_path, rigctld_server)), data_path=tmp_path / "bench.sqlite3")
    asked: list[str] = []
    answers = {"yes": True}
    panel = RadiosPanel(position, confirm=lambda parent, name, seconds: asked.append(name) or answers["yes"])
    qtbot.addWidget(panel)
    position.start()
    qtbot.waitUntil(lambda: all(c.link == "up" for c in position.console.channels), timeout=8000)
    yield position, panel, rigctld_server, asked, answers
    panel.cancel()
    assert position.stop(timeout=3.0)


def _cell(panel: RadiosPanel, radio_id: str, column: int) -> str:
    ids = panel.rows.column_texts(1)
    return panel.rows.column_texts(column)[ids.index(radio_id)]


def test_live_radio_keys_after_confirmation_and_its_lamps_follow(qtbot, bench):
    position, panel, _rig, asked, _answers = bench
    panel.select("r1")
    panel.seconds.setValue(0.6)
    with qtbot.waitSignal(panel.test_finished, timeout=8000) as finished:
        assert panel.key_selected()
        qtbot.waitUntil(lambda: _cell(panel, "r1", 5).startswith("● TX"), timeout=3000)
        qtbot.waitUntil(lambda: _cell(panel, "r1", 4) == "● CARRIER", timeout=3000)  # RTS looped to CTS
    assert asked == ["LOOP"]
    result = finished.args[0]
    assert result["result"] == "ok" and 0.6 <= result["keyed_s"] < 3
    qtbot.waitUntil(lambda: _cell(panel, "r1", 5) == "○" and _cell(panel, "r1", 4) == "○", timeout=3000)
    assert not position.driver("r1").keyed
    assert "released" in panel.result.toPlainText()


def test_live_radio_not_confirmed_is_not_keyed(qtbot, bench):
    position, panel, _rig, asked, answers = bench
    answers["yes"] = False
    panel.select("r1")
    assert not panel.key_selected()
    assert asked == ["LOOP"] and "not confirmed" in panel.result.toPlainText()
    assert not any(c.transmitting for c in position.console.channels)


def test_cancel_releases_a_hamlib_radio_at_once(qtbot, bench):
    _position, panel, rig, asked, _answers = bench
    panel.select("hf")
    panel.seconds.setValue(60)
    with qtbot.waitSignal(panel.test_finished, timeout=8000) as finished:
        assert panel.key_selected()
        qtbot.waitUntil(rig.ptt, timeout=3000)
        panel.cancel()
    assert asked == [] and finished.args[0]["result"] == "cancelled"
    qtbot.waitUntil(lambda: not rig.ptt(), timeout=2000)  # the dummy rig takes 50 ms to answer T 0


def test_rig_check(qtbot, bench):
    _position, panel, _rig, _asked, _answers = bench
    panel.select("hf")
    assert panel.rig_button.isEnabled()
    with qtbot.waitSignal(panel.rig_finished, timeout=5000) as done:
        assert panel.check_rig()
    assert done.args[0].ok and done.args[0].model == "Dummy"
    assert "Hamlib Dummy" in panel.result.toPlainText()


def test_trc_test_reads_the_guard_on_the_line_output(qtbot, bench):
    _position, panel, _rig, _asked, _answers = bench
    panel.select("base")
    panel.seconds.setValue(0.5)
    assert panel.trc_button.isEnabled()
    with qtbot.waitSignal(panel.test_finished, timeout=8000) as finished:
        assert panel.trc_selected()
    result = finished.args[0]
    assert result["result"] == "ok" and result["output"] == 2
    assert result["output_peak_dbfs"] > -10, "the high-level guard tone was on the line"
    assert -45 < result["output_rms_dbfs"] < -30, "then the low-level guard, 30 dB down"
