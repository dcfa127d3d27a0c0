"""The round-trip latency test from the Technician's AUDIO tab, on a real JACK server (dummy backend)
with a real Position whose own stream runs on the same server the whole time.

The job opens its own PortAudio stream, wires its output port to its input port on the server (the
"Loop through JACK" box) and measures; the result must be within one block of the latency the stream
reports (the issue's figure; tests/integration/test_audio_latency.py explains what JACK adds).
CANCEL must stop the test promptly and leave no port of the test stream on the server.
"""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from app.bench.latency_job import LatencyJob, LatencyRequest
from hardware.audio.jack_server import list_ports

pytestmark = pytest.mark.peer("jackd")

PROFILE = """
schema_version = 1
[position]
name = "LATENCY-1"
role = "technician"
[audio]
backend = "sounddevice"
device = "system"
process = "inline"
samplerate = 48000
blocksize = 128
[audio.channels]
headset_left = 1
headset_right = 2
headset_mic = 1
"""


@pytest.fixture
def console(jack_server, qtbot, tmp_path, monkeypatch):
    from app.config import load_profile
    from app.position import Position
    from hardware.audio.base import open_backend
    from ui.technician.audio_panel import AudioPanel
    from ui.widgets.meter_poll import MeterPoll, levels_source

    path = tmp_path / "position.toml"
    path.write_text(PROFILE)
    backend = open_backend("sounddevice")
    backend.rescan()  # PortAudio reads JACK_DEFAULT_SERVER when it initialises
    position = Position(load_profile(path), profile_path=str(path), data_path=tmp_path / "pos.sqlite3")
    panel = AudioPanel(position, MeterPoll(levels_source(position)))
    qtbot.addWidget(panel)
    panel.show()
    position.start()
    try:
        qtbot.waitUntil(lambda: position.audio.state == "up", timeout=10000)
        yield position, panel.latency, jack_server
    finally:
        job = panel.latency.job
        if job is not None:
            job.cancel()
            qtbot.waitUntil(lambda: panel.latency.job is None, timeout=10000)
        assert position.stop(timeout=5.0)
        # Let go of the server before it stops (PortAudio aborts at exit otherwise; see tests/jack.py).
        monkeypatch.setenv("JACK_DEFAULT_SERVER", f"{jack_server.name}-stopped")
        backend.rescan()


def test_gui_latency_test_measures_within_one_block_while_the_console_keeps_running(qtbot, console):
    position, box, server = console
    before = set(list_ports(server.name))
    blocks = int(position.engine.counters[0])
    box.jack_loop.setChecked(True)
    box.output_box.setCurrentIndex(1)  # output 2 -> input 1
    box.input_box.setCurrentIndex(0)
    qtbot.mouseClick(box.start_button, Qt.MouseButton.LeftButton)
    assert box.running and not box.start_button.isEnabled() and box.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: box.progress.value() >= 1 and box.progress.maximum() == 5, timeout=10000)
    qtbot.waitUntil(lambda: not box.running, timeout=15000)
    result = box.result
    assert result is not None, box.error
    print(f"\nGUI latency test: measured {result.measured_ms:.3f} ms, reported {result.reported_ms:.3f} ms, "
          f"block {result.block_ms:.3f} ms, each {result.each_ms}")
    assert abs(result.measured_ms - result.reported_ms) <= result.block_ms
    assert (result.output, result.input, len(result.each_ms)) == (1, 0, 5)
    assert box.progress.value() == 5
    assert "within one block of the reported latency" in box.status.text()
    assert box.start_button.isEnabled() and not box.cancel_button.isEnabled()
    # The console's own stream ran the whole time, and the test stream's ports are gone.
    assert int(position.engine.counters[0]) > blocks + 5 * 0.5 * 48000 / 128 * 0.5
    assert position.audio.state == "up"
    qtbot.waitUntil(lambda: set(list_ports(server.name)) == before, timeout=3000)


def test_cancel_stops_at_once_and_leaves_nothing_open(qtbot, console):
    position, box, server = console
    before = set(list_ports(server.name))
    box.jack_loop.setChecked(True)
    qtbot.mouseClick(box.start_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.progress.value() >= 1, timeout=10000)  # mid-run, the loop wired
    job = box.job
    assert job is not None
    asked = time.monotonic()
    qtbot.mouseClick(box.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not box.running, timeout=3000)
    took = time.monotonic() - asked
    print(f"\ncancel took {took * 1000:.0f} ms")
    assert took < 1.0
    assert box.result is None and box.error.startswith("cancelled")
    assert box.status.text().startswith("no result: cancelled")
    assert job.loop is not None  # it had wired the loop, and the ports went with the stream
    assert set(list_ports(server.name)) == before
    assert position.audio.state == "up"


def test_requests_that_cannot_run_are_refused_with_the_reason():
    null = LatencyRequest("null", "", 48000, 128, "low", 0, 0)
    with pytest.raises(ValueError, match="null sound device has no real inputs"):
        LatencyJob(null).run()
    reports: list = []
    LatencyJob(null).start(lambda result, why: reports.append((result, why))).join(5)
    assert reports and reports[0][0] is None and "null sound device" in reports[0][1]
