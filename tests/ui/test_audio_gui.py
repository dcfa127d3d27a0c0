"""The audio engine in the GUI: level meters, the one meter poll per window, the Technician AUDIO tab,
the lost-device alarm, RECALL and MUTE on the channel tiles, and the real demo position making sound.

``LevelsPosition`` below is only the GUI-side data source (meter arrays the test writes, snapshots the
test emits) plus a record of the commands the widgets send (the ``Recorder`` of tests/ui/fakes.py);
the engine itself is exercised by the demo tests at the end, which run the real Position.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QWidget

from app.audio.endpoints import audio_map
from app.snapshots import (
    AudioCounters,
    AudioSnapshot,
    ChannelView,
    ConsoleSnapshot,
    PositionInfo,
)
from tests.ui.fakes import Recorder
from ui.dispatcher.view import DispatcherView
from ui.main_window import MainWindow
from ui.technician.audio_panel import AudioPanel, counter_flags
from ui.theme.stylesheet import current_palette
from ui.widgets.audio_alarm import AudioAlarmBanner
from ui.widgets.level_meter import (
    FALL_DB_PER_S,
    HOLD_S,
    SCALE_MIN_DB,
    LevelMeter,
    fraction,
)
from ui.widgets.meter_poll import MeterPoll

HOSTILE = "<b>X</b><img src=x>"
CHANNELS = {"headset_left": 1, "headset_right": 2, "phone_tx": 3, "headset_mic": 1, "fire_rx": 2, "ems_rx": 3,
            "fire_tx": 4, "ems_tx": 5}
RADIOS = [("fire", "FIRE DISP", "sim", "fire_rx", "fire_tx"), ("ems", "EMS 1", "sim", "ems_rx", "ems_tx")]


class LevelsPosition(Recorder):
    """The Position API the audio widgets read: the Recorder's signals, snapshots and recorded commands,
    plus the audio snapshot, the channel map, meter arrays and the audio commands."""

    audio_changed = Signal(object)

    def __init__(self) -> None:
        super().__init__(PositionInfo(name="POS 1", role="dispatcher"))
        self.console = ConsoleSnapshot(channels=(ChannelView("fire", "FIRE DISP", "sim", link="up"),
                                                 ChannelView("ems", "EMS 1", "sim", link="up"),
                                                 ChannelView("nort", "NO RX AUDIO", "sim", link="up")))
        self.audio_map = audio_map(CHANNELS, RADIOS)
        self.audio = AudioSnapshot(input_labels=self.audio_map.input_labels,
                                   output_labels=self.audio_map.output_labels)
        floor = np.full((2, self.audio_map.n_in), -120.0, dtype=np.float32)
        self.input_levels = floor
        self.output_levels = np.full((2, self.audio_map.n_out), -120.0, dtype=np.float32)

    def audio_levels(self) -> tuple[np.ndarray, np.ndarray]:
        return self.input_levels, self.output_levels

    def publish(self, **changes) -> AudioSnapshot:
        from dataclasses import replace

        self.audio = replace(self.audio, **changes)
        self.audio_changed.emit(self.audio)
        return self.audio

    # Commands the audio widgets send, recorded.
    def test_tone(self, output: int, on: bool) -> None:
        self.commands.append(("test_tone", output, on))

    def replay_last(self, channel_id: str) -> None:
        self.commands.append(("replay_last", channel_id))

    def set_mute(self, channel_id: str, muted: bool) -> None:
        self.commands.append(("set_mute", channel_id, muted))


@pytest.fixture
def position() -> LevelsPosition:
    return LevelsPosition()


def _pixel(widget: QWidget, x_fraction: float) -> str:
    image = widget.grab().toImage()
    x = min(image.width() - 1, int(x_fraction * image.width()))
    return QColor(image.pixel(x, image.height() // 2)).name()


# ---- level meter --------------------------------------------------------------------------------

def test_meter_draws_rms_fill_in_theme_colours_and_clamps_the_floor(qtbot):
    meter = LevelMeter()
    qtbot.addWidget(meter)
    meter.resize(300, 18)
    colours = current_palette()
    meter.set_level(-20.0, -30.0, now=0.0)
    assert (meter.peak_db, meter.rms_db, meter.hold_db) == (-20.0, -30.0, -20.0)
    assert fraction(-30.0) == pytest.approx(0.5)
    assert _pixel(meter, 0.25) == colours.rx  # inside the RMS fill
    assert _pixel(meter, 0.58) not in (colours.rx, colours.window)  # between RMS and peak: the lighter band
    assert _pixel(meter, 0.95) == colours.window  # above the peak: empty trough
    meter.set_level(-3.0, -4.0, now=0.1)
    assert _pixel(meter, 0.5) == colours.warn  # loud: amber
    meter.set_level(0.0, -1.0, now=0.2)
    assert _pixel(meter, 0.5) == colours.tx  # full scale: red
    meter.set_level(-120.0, float("nan"), now=0.3)  # the engine's floor, a torn read
    assert (meter.peak_db, meter.rms_db) == (SCALE_MIN_DB, SCALE_MIN_DB)


def test_meter_repaints_only_when_the_reading_moves_noticeably(qtbot):
    meter = LevelMeter()
    qtbot.addWidget(meter)
    assert meter.set_level(-20.0, -26.0, now=0.0)
    assert not meter.set_level(-20.2, -26.1, now=0.03)  # jitter: no repaint
    assert meter.set_level(-18.0, -24.0, now=0.06)
    before = meter.repaints_requested
    for tick in range(30):  # a second of silence below the scale: nothing moves once the hold has gone
        meter.set_level(-90.0 - tick, -100.0, now=10.0 + tick / 30)
    assert meter.repaints_requested - before == 1


def test_peak_hold_stays_then_falls(qtbot):
    meter = LevelMeter()
    qtbot.addWidget(meter)
    meter.set_level(-6.0, -10.0, now=0.0)
    meter.set_level(-40.0, -45.0, now=HOLD_S - 0.1)
    assert meter.hold_db == -6.0
    meter.set_level(-40.0, -45.0, now=HOLD_S + 0.5)
    assert meter.hold_db == pytest.approx(-6.0 - FALL_DB_PER_S * 0.5)
    meter.set_level(-40.0, -45.0, now=HOLD_S + 5.0)
    assert meter.hold_db == -40.0  # never below the live peak
    assert meter.value_text() == "-40 dB"


# ---- meter poll ---------------------------------------------------------------------------------

def test_poll_feeds_each_meter_its_column_and_runs_only_while_one_is_visible(qtbot, position):
    box = QWidget()
    qtbot.addWidget(box)
    poll = MeterPoll(position.audio_levels, box)
    rx, headset, missing = LevelMeter(box), LevelMeter(box), LevelMeter(box)
    poll.add(rx, "in", position.audio_map.radio_rx["ems"])
    poll.add(headset, "out", position.audio_map.endpoints.headset_right)
    poll.add(missing, "out", 40)  # a column the device does not have
    assert not poll.running  # nothing on screen yet
    box.show()
    qtbot.waitExposed(box)
    assert poll.running

    position.input_levels[:, position.audio_map.radio_rx["ems"]] = (-12.0, -18.0)
    position.output_levels[:, position.audio_map.endpoints.headset_right] = (-3.0, -9.0)
    qtbot.waitUntil(lambda: rx.peak_db == -12.0 and headset.peak_db == -3.0, timeout=2000)
    assert (rx.rms_db, headset.rms_db, missing.peak_db) == (-18.0, -9.0, SCALE_MIN_DB)

    box.hide()
    qtbot.waitUntil(lambda: not poll.running, timeout=2000)
    polls = poll.polls
    position.input_levels[:, position.audio_map.radio_rx["ems"]] = (-30.0, -36.0)
    qtbot.wait(150)  # the timer is stopped: nothing reads the arrays (a negative check needs a span of time)
    assert poll.polls == polls and rx.peak_db == -12.0
    box.show()
    qtbot.waitUntil(lambda: rx.peak_db == -30.0, timeout=2000)


def test_poll_survives_a_broken_source(qtbot):
    def broken():
        raise OSError("engine gone")

    meter = LevelMeter()
    qtbot.addWidget(meter)
    poll = MeterPoll(broken)
    poll.add(meter, "in", 0)
    meter.show()
    poll.poll()
    assert not poll.running and meter.peak_db == SCALE_MIN_DB
    with pytest.raises(ValueError, match="side"):
        poll.add(meter, "sideways", 0)  # type: ignore[arg-type]


# ---- technician AUDIO tab -----------------------------------------------------------------------

def test_audio_panel_shows_device_counters_and_channel_labels(qtbot, position):
    poll = MeterPoll(position.audio_levels)
    panel = AudioPanel(position, poll)
    qtbot.addWidget(panel)
    snap = AudioSnapshot(
        state="up", detail="null in 2.7 ms / out 5.3 ms", backend="null", device=HOSTILE, samplerate=48000,
        blocksize=128, latency_ms=(2.7, 5.3), restarts=2,
        counters=AudioCounters(blocks=12345, output_underflows=3, input_overflows=1),
        recall="no radio has an rx_input",
        input_labels=("Headset mic", "FIRE DISP RX", HOSTILE), output_labels=position.audio_map.output_labels,
    )
    panel.render(snap)
    assert panel.values["Device"].text() == HOSTILE  # literally, as plain text
    assert panel.values["Device"].textFormat() == Qt.TextFormat.PlainText
    assert panel.values["Latency"].text() == "in 2.7 ms · out 5.3 ms"
    assert panel.values["Block"].text() == "128 frames (2.7 ms)"
    assert panel.values["Sample rate"].text() == "48000 Hz"
    assert panel.values["Restarts"].text() == "2"
    assert panel.values["Instant recall"].text() == "off — no radio has an rx_input"
    assert panel.counters["blocks"].text() == "12,345"
    assert panel.counters["output_underflows"].text() == "3"
    states = {name: label.property("state") for name, label in panel.counters.items()}
    assert states == {"blocks": "ok", "input_underflows": "ok", "input_overflows": "bad",
                      "output_underflows": "bad", "output_overflows": "ok", "clipped_blocks": "ok"}
    assert counter_flags(AudioCounters(blocks=9)) == dict.fromkeys(states, False)
    assert [n.text() for n in panel.inputs.names] == ["Headset mic", "FIRE DISP RX", HOSTILE]
    assert all(n.textFormat() == Qt.TextFormat.PlainText for n in panel.inputs.names)
    assert [n.text() for n in panel.outputs.names] == list(position.audio_map.output_labels)
    assert len(panel.outputs.tone_buttons) == position.audio_map.n_out and not panel.inputs.tone_buttons
    # Every column has a meter on the window's poll; replaced rows leave it.
    assert len(poll.meters()) == 3 + position.audio_map.n_out


def test_test_tone_button_calls_through_and_follows_the_snapshot(qtbot, position):
    panel = AudioPanel(position, MeterPoll(position.audio_levels))
    qtbot.addWidget(panel)
    panel.show()
    button = panel.outputs.tone_buttons[2]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert position.commands == [("test_tone", 2, True)]
    position.publish(test_tones=(2,))
    panel.render(position.audio)
    assert button.isChecked() and button.text() == "■ TONE ON" and button.property("state") == "on"
    assert not panel.outputs.tone_buttons[0].isChecked()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert position.commands[-1] == ("test_tone", 2, False)
    panel.render(position.publish(test_tones=()))
    assert not button.isChecked() and button.text() == "TEST TONE"
    # Keyboard: the button takes focus and Space toggles it.
    button.setFocus()
    qtbot.keyClick(button, Qt.Key.Key_Space)
    assert position.commands[-1] == ("test_tone", 2, True)


# ---- alarm banner -------------------------------------------------------------------------------

def test_alarm_banner_appears_with_plain_text_and_hides_when_cleared(qtbot):
    banner = AudioAlarmBanner()
    qtbot.addWidget(banner)
    banner.render(AudioSnapshot())
    assert banner.isHidden()
    banner.render(AudioSnapshot(state="down", alarm=f"Audio device lost: {HOSTILE}. Every transmitter was unkeyed.",
                                detail=HOSTILE, backend="sounddevice", device="USB Audio <i>CODEC</i>", restarts=3))
    assert not banner.isHidden()
    assert banner.title.text() == f"⚠ Audio device lost: {HOSTILE}. Every transmitter was unkeyed."
    assert "USB Audio <i>CODEC</i> (sounddevice)" in banner.detail.text()
    assert "DOWN" in banner.detail.text() and "3 restart(s)" in banner.detail.text()
    assert all(label.textFormat() == Qt.TextFormat.PlainText for label in banner.findChildren(QLabel))
    banner.render(AudioSnapshot(state="up"))
    assert banner.isHidden()


def test_main_window_shows_the_alarm_from_any_view_and_meters_drop_to_silence(qtbot, position, tmp_path):
    window = MainWindow(position, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    window.show_role("dispatcher")
    assert not window.audio_alarm.isVisible()
    meter = window.dispatcher.grid.tile("fire").rx_meter
    position.input_levels[:, position.audio_map.radio_rx["fire"]] = (-10.0, -14.0)
    qtbot.waitUntil(lambda: meter.peak_db == -10.0, timeout=2000)

    window.show_role("calltaker")
    position.publish(state="down", alarm="Audio device lost: stream stalled. Every transmitter was unkeyed.")
    assert window.audio_alarm.isVisible()
    assert window.audio_alarm.geometry().top() < window.stack.geometry().top()  # above the views
    # The engine's arrays still hold the last block: the meters must not freeze on it.
    window.show_role("dispatcher")
    assert meter.peak_db == SCALE_MIN_DB and meter.hold_db == SCALE_MIN_DB and not window.meters.running

    position.publish(state="up", alarm="")
    assert not window.audio_alarm.isVisible()
    qtbot.waitUntil(lambda: meter.peak_db == -10.0, timeout=2000)


def test_meters_of_a_window_share_one_poll_that_stops_on_the_call_taker_view(qtbot, position, tmp_path):
    window = MainWindow(position, QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    window.show_role("dispatcher")
    assert window.dispatcher.meters is window.meters and window.technician.meters is window.meters
    qtbot.waitUntil(lambda: window.meters.running, timeout=2000)
    window.show_role("calltaker")
    qtbot.waitUntil(lambda: not window.meters.running, timeout=2000)
    window.show_role("technician")
    window.technician.tabs.setCurrentWidget(window.technician.audio)
    qtbot.waitUntil(lambda: window.meters.running, timeout=2000)


# ---- dispatcher tiles ---------------------------------------------------------------------------

def test_tiles_have_receive_meters_recall_and_mute(qtbot, position):
    view = DispatcherView(position)
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    fire, ems, no_rx = (view.grid.tile(cid) for cid in ("fire", "ems", "nort"))
    assert fire.rx_meter.isVisible() and not no_rx.rx_meter.isVisible()
    assert not no_rx.recall_button.isEnabled()
    assert len(view.headset_meters) == 2

    position.input_levels[:, position.audio_map.radio_rx["fire"]] = (-10.0, -14.0)
    position.output_levels[:, position.audio_map.endpoints.headset_left] = (-8.0, -12.0)
    qtbot.waitUntil(lambda: fire.rx_meter.peak_db == -10.0 and view.headset_meters[0].peak_db == -8.0, timeout=2000)
    assert ems.rx_meter.peak_db == SCALE_MIN_DB

    qtbot.mouseClick(fire.recall_button, Qt.MouseButton.LeftButton)
    assert position.commands == [("replay_last", "fire")]  # and the click did not select the tile
    position.publish(replaying="fire")
    assert fire.recall_button.text() == "▶ PLAYING" and fire.recall_button.property("state") == "playing"
    assert ems.recall_button.text() == "↺ RECALL"
    position.publish(replaying="", recall="instant recall is off (recall_minutes = 0)")
    assert fire.recall_button.text() == "↺ RECALL" and not fire.recall_button.isEnabled()

    qtbot.mouseClick(ems.mute_button, Qt.MouseButton.LeftButton)
    assert position.commands[-1] == ("set_mute", "ems", True)
    channels = list(position.console.channels)
    channels[1] = ChannelView("ems", "EMS 1", "sim", link="up", muted=True)
    view.render(ConsoleSnapshot(channels=tuple(channels)))
    assert ems.mute_button.isChecked() and ems.mute_button.text() == "✕ MUTED"
    assert ems.mute_button.property("state") == "muted"
    ems.mute_button.setFocus()  # keyboard reachable: Space on the focused button unmutes
    qtbot.keyClick(ems.mute_button, Qt.Key.Key_Space)
    assert position.commands[-1] == ("set_mute", "ems", False)


def test_removed_tiles_leave_the_poll(qtbot, position):
    view = DispatcherView(position)
    qtbot.addWidget(view)
    before = len(view.meters.meters())
    view.render(ConsoleSnapshot(channels=position.console.channels[:1]))
    assert len(view.meters.meters()) == before - 1  # "ems" had a meter; "nort" had none


# ---- the real demo position ---------------------------------------------------------------------

def test_demo_meters_move_when_a_radio_receives_and_recall_plays_it(qtbot, demo_window):
    position, window = demo_window
    window.show_role("dispatcher")
    qtbot.waitUntil(lambda: position.audio.state == "up", timeout=5000)
    tile = window.dispatcher.grid.tile("ems-1")
    column = position.audio_map.radio_rx["ems-1"]
    assert tile.rx_meter.isVisible() and window.meters.running
    # Selected, so the operator hears it in the headset (the demo sends unselected audio to a speaker).
    qtbot.mouseClick(tile, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: next(c for c in position.console.channels if c.id == "ems-1").selected, timeout=3000)

    position.driver("ems-1").inject_burst(1.5, "2231")
    qtbot.waitUntil(lambda: tile.rx_meter.peak_db > -40.0, timeout=3000)
    # The simulated speech has pauses, so a single block's meter may read silence: wait for a syllable.
    qtbot.waitUntil(lambda: position.audio_levels()[0][0, column] > -40.0, timeout=3000)
    # The headset meters in the dispatcher header move too.
    qtbot.waitUntil(lambda: max(m.peak_db for m in window.dispatcher.headset_meters) > -50.0, timeout=3000)
    qtbot.waitUntil(lambda: not next(c for c in position.console.channels if c.id == "ems-1").receiving,
                    timeout=5000)

    qtbot.mouseClick(tile.recall_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: position.audio.replaying == "ems-1", timeout=3000)
    qtbot.waitUntil(lambda: tile.recall_button.text() == "▶ PLAYING", timeout=1000)
    qtbot.mouseClick(tile.recall_button, Qt.MouseButton.LeftButton)  # again: stop
    qtbot.waitUntil(lambda: position.audio.replaying == "", timeout=3000)


def test_demo_technician_audio_tab_and_test_tone(qtbot, demo_window):
    position, window = demo_window
    window.show_role("technician")
    panel = window.technician.audio
    window.technician.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: position.audio.state == "up", timeout=5000)
    assert panel.values["Backend"].text() == "null"
    assert [n.text() for n in panel.outputs.names] == list(position.audio_map.output_labels)
    qtbot.waitUntil(lambda: panel.counters["blocks"].text() not in ("0", ""), timeout=3000)

    column = position.audio_map.endpoints.phone_tx
    qtbot.mouseClick(panel.outputs.tone_buttons[column], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: column in position.audio.test_tones, timeout=3000)
    meter = panel.outputs.level_meters[column]
    level = position.profile.audio.test_level_dbfs
    qtbot.waitUntil(lambda: abs(meter.peak_db - level) < 1.5, timeout=3000)
    assert panel.outputs.tone_buttons[column].text() == "■ TONE ON"
    qtbot.mouseClick(panel.outputs.tone_buttons[column], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: column not in position.audio.test_tones, timeout=3000)
    qtbot.waitUntil(lambda: meter.peak_db < level - 20, timeout=3000)
