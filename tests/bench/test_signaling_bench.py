"""``dispatch-console bench signaling`` with few trials and a short noise run: the figures come from real
multimon-ng/minimodem runs on files made in the same run, and ours meet the goals where they are ours."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.bench.signaling import SNRS_DB, add_noise, char_success, run_signaling_bench
from tests.conftest import require_peer

ROOT = Path(__file__).resolve().parents[2]


def test_rows_for_every_kind_and_snr_with_reference_figures():
    require_peer("multimon-ng")
    require_peer("minimodem")
    report = run_signaling_bench(trials=2, noise_minutes=0.25)
    rows = report["results"]
    expected = [(k, s, "ours") for k in ("dtmf", "zvei1", "ccir", "eea", "eia") for s in SNRS_DB]
    expected += [("tty", s, src) for src in ("ours", "minimodem") for s in SNRS_DB]
    assert [(r["kind"], r["snr_db"], r["source"]) for r in rows] == expected
    for r in rows:
        assert r["error"] == "", r
        assert 0.0 <= r["ours_rate"] <= 1.0 and 0.0 <= r["reference_rate"] <= 1.0
        assert r["ours_x_realtime"] > 0
    for r in rows:
        if r["kind"] == "tty":  # the TTY goal: our character error rate <= minimodem's, both directions
            assert r["ours_cer"] <= r["reference_cer"], r
            assert r["ours_x_realtime"] >= 200, r
    false = {r["kind"]: r for r in report["false_detections"]}
    assert set(false) == {"dtmf", "zvei1", "ccir", "eea", "eia", "tty"}
    assert false["tty"]["ours_false"] == 0 and false["tty"]["minutes"] == 0.25
    assert all(r["reference_false"] is not None for r in false.values())


def test_noise_is_at_the_requested_snr_and_scoring_counts_edits():
    import numpy as np

    tone = 0.3 * np.sin(2 * np.pi * 1000 * np.arange(8000) / 8000)
    noisy = add_noise(tone, 10.0, np.random.default_rng(0))
    noise = noisy[4000:12000] - tone  # the padding is 0.5 s at 8 kHz
    assert abs(10 * np.log10(np.mean(tone**2) / np.mean(noise**2)) - 10.0) < 0.2
    assert char_success("HELLO", "HELLO") == 1.0
    assert char_success("HELLO", "HELO") == 0.8
    assert char_success("HI", "") == 0.0


def test_cli_json_shape():
    require_peer("minimodem")
    out = subprocess.run([sys.executable, "-m", "ui.cli", "bench", "signaling", "--kind", "tty", "--trials", "1",
                          "--noise-minutes", "0.1", "--json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=False, env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert len(report["results"]) == 2 * len(SNRS_DB)
    for row in report["results"]:
        assert {"kind", "snr_db", "ours_rate", "reference_rate", "ours_x_realtime"} <= row.keys()
    assert [r["kind"] for r in report["false_detections"]] == ["tty"]
