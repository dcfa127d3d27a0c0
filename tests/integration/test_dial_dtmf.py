"""Directory dialling on the phone line: the engine's phone output, decoded by multimon-ng."""

from __future__ import annotations

import re
import subprocess

import numpy as np

from app.audio.endpoints import audio_map
from app.audio.engine import Engine
from app.audio.service import DIAL_PAUSE_S, AudioService, mix_options
from app.config.schema import Mix
from app.dsp.wav import write_wav
from app.eventlog import EventLog
from app.store import StoreWriter
from tests.conftest import require_peer

RATE, FRAMES = 48000, 128
CHANNELS = {"headset_left": 1, "headset_right": 2, "phone_tx": 3, "headset_mic": 1, "phone_rx": 2}


def dial_and_capture(tmp_path, number: str, seconds: float) -> tuple[np.ndarray, np.ndarray, list]:
    amap = audio_map(CHANNELS, [])
    engine = Engine(amap.n_in, amap.n_out, FRAMES, RATE)
    store = StoreWriter(tmp_path / "dial.sqlite3")
    store.start()
    events = EventLog(store)
    logged = []
    events.logged.connect(logged.append)
    service = AudioService(amap, engine, events, options=mix_options(Mix()), patch_hang_s=2.0,
                           test_level_dbfs=-10.0, backend="null", samplerate=RATE, blocksize=FRAMES)
    service.start()
    service.dial(number)
    inp = np.zeros((FRAMES, amap.n_in), dtype=np.float32)
    out = np.zeros((FRAMES, amap.n_out), dtype=np.float32)
    blocks = []
    for _ in range(int(seconds * RATE / FRAMES)):
        engine.process(inp, out)
        blocks.append(out.copy())
    service.shutdown()
    store.stop()
    audio = np.concatenate(blocks)
    return audio[:, 2], audio[:, 0], logged


def test_a_directory_number_is_dialled_as_dtmf_on_the_phone_line(tmp_path):
    multimon = require_peer("multimon-ng")
    require_peer("sox")
    line, headset, logged = dial_and_capture(tmp_path, "(719) 555-0100 x12", 5.0 + DIAL_PAUSE_S)
    path = tmp_path / "line.wav"
    write_wav(path, line, RATE)
    out = subprocess.run([multimon, "-a", "DTMF", "-t", "wav", str(path)], capture_output=True, text=True,
                         timeout=60)
    assert "".join(re.findall(r"^DTMF: (\S)", out.stdout, re.MULTILINE)) == "719555010012", out.stdout
    # The operator hears it 12 dB lower; the pause before the extension is silent on the line.
    assert abs(20 * np.log10(np.max(np.abs(line)) / np.max(np.abs(headset))) - 12.0) < 0.01
    pause_start = int((10 * 0.2) * RATE) + RATE // 10  # after ten digits and a little
    assert np.max(np.abs(line[pause_start:pause_start + int(1.5 * RATE)])) == 0.0
    assert [e.detail for e in logged if e.kind == "phone.dial"] == ["7195550100,12"]


def test_a_number_that_cannot_be_dialled_is_refused_with_the_reason(tmp_path):
    line, _headset, logged = dial_and_capture(tmp_path, "call Bob", 0.5)
    assert not line.any()
    refused = [e.detail for e in logged if e.kind == "phone.dial.refused"]
    assert len(refused) == 1 and "'call Bob'" in refused[0] and "not a number to dial" in refused[0]
