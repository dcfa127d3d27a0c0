"""The report's latency step on a real sound device: a JACK server (dummy backend) through PortAudio.

With a loop wired from the stream's output back to its input the step measures it (PASS with the
figures); with no loop it says so and skips, since a position without a loopback plug is not at fault.
"""

from __future__ import annotations

import pytest

from app.config import load_profile
from app.report import PASS, SKIPPED
from app.report.steps import ReportContext, audio_latency
from tests.integration.test_audio_latency import SETTLE_S, LoopWirer
from tests.jack import portaudio_backend  # noqa: F401 - the fixture, used by name

pytestmark = pytest.mark.peer("jackd")


def _context(tmp_path, backend_name: str) -> ReportContext:
    path = tmp_path / "jack.toml"
    path.write_text(f'[position]\nname = "JACK-1"\n[audio]\nbackend = "{backend_name}"\ndevice = "system"\n'
                    "samplerate = 48000\nblocksize = 128\n[audio.channels]\nheadset_left = 1\nheadset_mic = 1\n")
    return ReportContext(profile=load_profile(path), profile_path=str(path), latency_settle_s=SETTLE_S)


def test_latency_step_measures_a_loop(tmp_path, jack_server, portaudio_backend):  # noqa: F811 - a fixture
    wirer = LoopWirer(jack_server, output=0, input=0)
    wirer.start()
    section = audio_latency(_context(tmp_path, portaudio_backend.name))
    wirer.result()
    assert section.status == PASS, section.summary
    assert section.data["within_one_block"] is True
    assert abs(section.data["measured_ms"] - section.data["reported_ms"]) <= section.data["block_ms"]
    assert len(section.data["each_ms"]) == 3 and "ms measured" in section.summary


def test_latency_step_without_a_loop_skips_and_says_why(tmp_path, jack_server, portaudio_backend):  # noqa: F811
    section = audio_latency(_context(tmp_path, portaudio_backend.name))
    assert section.status == SKIPPED, section.summary
    assert "no loopback from output 1 to input 1" in section.summary
