"""The Technician SCOPE tab on the real demo position (null sound device, simulated radios): a radio's
receive audio on the waveform, the line test tone's spectrum peak at 1004 Hz, and the tap and the
refresh running only while the tab is visible."""

from __future__ import annotations

from ui.technician.scope_panel import REFRESH_MS, ScopePanel, scope_sources


def _open_scope(qtbot, position, window) -> ScopePanel:
    window.show_role("technician")
    panel = window.technician.scope
    window.technician.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: position.audio.state == "up", timeout=5000)
    qtbot.waitUntil(lambda: panel.running, timeout=2000)
    return panel


def test_scope_shows_a_simulated_radio_receiving(qtbot, demo_window):
    position, window = demo_window
    panel = _open_scope(qtbot, position, window)
    column = position.audio_map.radio_rx["ems-1"]
    panel.choose("in", column)
    assert position.scope_tap().selected == column
    position.driver("ems-1").inject_burst(1.5, "2231")
    # The simulated speech has pauses: wait for a syllable in the 50 ms window.
    qtbot.waitUntil(lambda: panel.rms_dbfs > -40.0, timeout=4000)
    assert panel.last.samplerate == position.profile.audio.samplerate
    # A full 50 ms window once the tap has run that long since the choice.
    qtbot.waitUntil(lambda: panel.time_curve.getData()[0].size == round(0.050 * panel.last.samplerate),
                    timeout=2000)
    assert "RMS" in panel.readout.text()

    # The same radio through instant recall's 8 kHz ring.
    panel.choose("recall", list(position.audio_map.radio_rx).index("ems-1"))
    assert position.scope_tap().selected is None  # the recall ring needs no tap
    qtbot.waitUntil(lambda: panel.last.samplerate == 8000 and panel.last.samples.size > 0, timeout=2000)


def test_test_tone_spectrum_peaks_at_1004_hz_at_the_test_level(qtbot, demo_window):
    position, window = demo_window
    panel = _open_scope(qtbot, position, window)
    column = position.audio_map.endpoints.phone_tx
    panel.choose("out", column)
    assert position.scope_tap().selected == position.audio_map.n_in + column
    position.test_tone(column, True)
    qtbot.waitUntil(lambda: column in position.audio.test_tones, timeout=3000)
    level = position.profile.audio.test_level_dbfs
    qtbot.waitUntil(lambda: abs(panel.peak_hz - 1004.0) < 0.5 and abs(panel.peak_dbfs - level) < 0.3,
                    timeout=4000)
    assert "peak 1004 Hz" in panel.readout.text()
    position.test_tone(column, False)
    qtbot.waitUntil(lambda: panel.peak_dbfs < level - 40.0, timeout=4000)


def test_refresh_and_tap_run_only_while_the_tab_is_visible(qtbot, demo_window):
    position, window = demo_window
    panel = _open_scope(qtbot, position, window)
    before = panel.refreshes
    qtbot.waitUntil(lambda: panel.refreshes >= before + 3, timeout=20 * REFRESH_MS + 2000)
    window.technician.tabs.setCurrentIndex(0)  # DEVICES
    qtbot.waitUntil(lambda: not panel.running, timeout=1000)
    assert position.scope_tap().selected is None
    stopped = panel.refreshes
    written = position.scope_tap().written
    qtbot.wait(5 * REFRESH_MS)
    assert panel.refreshes == stopped and position.scope_tap().written == written
    window.technician.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.running and position.scope_tap().selected is not None, timeout=1000)


def test_sources_list_every_column_and_radio_as_plain_titles():
    from app.audio.endpoints import audio_map as make_map

    class Labelled:
        audio_map = make_map({"headset_mic": 1, "fire_rx": 2, "headset_left": 1, "fire_tx": 2},
                             [("fire", "<b>FIRE</b>", "sim", "fire_rx", "fire_tx")])

    titles = [s.title for s in scope_sources(Labelled())]
    assert titles[0].startswith("IN 1 · ") and titles[-1] == "RECALL · fire (8 kHz)"
    assert any(t.startswith("OUT 2 · ") for t in titles)
    assert scope_sources(object()) == []
