"""The audio benchmark runs end to end and reports every configuration (the figures themselves are read, not
asserted: speed is judged from `dispatch-console bench audio` runs, not from timed unit tests)."""

from __future__ import annotations

import json
import subprocess
import sys

from app.bench.audio import TRC_A, realistic_engine, run_audio_bench

KEYS = {"inputs", "outputs", "blocksize", "samplerate", "block_us", "median_us", "p99_us", "reference_matmul_us"}


def _cli(*args: str, tmp_path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ui.cli", "bench", "audio", *args], check=False, capture_output=True,
                          text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})


def test_bench_audio_json_has_every_configuration(tmp_path):
    out = _cli("--blocks", "20", "--json", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    results = report["results"]
    assert [(r["inputs"], r["blocksize"]) for r in results] == [(n, b) for n in (8, 16, 32) for b in (64, 128, 256)]
    for r in results:
        assert KEYS <= r.keys()
        assert r["outputs"] == 8 and r["samplerate"] == 48_000 and r["blocks"] == 20
        assert r["block_us"] == round(r["blocksize"] / 48_000 * 1e6, 2)
        assert 0 < r["median_us"] <= r["p99_us"] <= r["max_us"]
        assert r["recall_channels"] == r["inputs"] // 2 and r["voices"] == 5


def test_bench_audio_table_and_a_refused_configuration(tmp_path):
    out = _cli("--blocks", "10", "--inputs", "8", "--blocksizes", "128", tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0].split()[:3] == ["inputs", "outputs", "frames"] and lines[1].split()[:3] == ["8", "8", "128"]
    assert lines[-1].startswith("budget: median <= 3 % and p99 <= 10 %")
    bad = _cli("--blocks", "10", "--outputs", "4", tmp_path=tmp_path)
    assert bad.returncode == 2 and "at least 4 inputs and 8 outputs" in bad.stdout


def test_the_bench_engine_is_the_busy_position_it_claims():
    engine = realistic_engine(16, 8, 128, 48_000, replay_seconds=1.0)
    assert engine.recall is not None and engine.recall.channels == 8
    assert len(engine.playing()) == 5  # two keyers, alert, DTMF, replay
    assert engine.plan.live_transmit  # the mic (and a patch) really reach transmitters
    result = run_audio_bench(8, 8, 64, 48_000, blocks=5)
    assert result["blocks"] == 5 and result["median_us"] > 0
    assert not engine.trc_ready(TRC_A)  # no block run yet: still keying
