"""``dispatch-console bench ptt`` with a few samples: figures from the real console path, or a stated reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from app.bench.ptt import run_ptt_bench
from tests.conftest import require_peer

ROOT = Path(__file__).resolve().parents[2]
SIM_RIGCTLD = "sim footswitch -> rigctld acknowledged"


def test_every_path_reports_figures_or_why_not(qapp):
    require_peer("rigctld")
    report = run_ptt_bench(3, pump=qapp.processEvents)
    names = [p["path"] for p in report["paths"]]
    assert names == ["serial-line -> serial RTS", "midi (JACK) -> serial RTS",
                     "serial-line -> rigctld acknowledged", SIM_RIGCTLD]
    for path in report["paths"]:
        if path["error"]:
            assert path["samples"] == 0 and path["median_us"] is None and path["p99_us"] is None
        else:
            assert path["samples"] == 3 and 0 < path["median_us"] <= path["p99_us"] < 2_000_000
    sim = next(p for p in report["paths"] if p["path"] == SIM_RIGCTLD)
    assert sim["error"] == "", sim["error"]


def test_cli_json_shape():
    require_peer("rigctld")
    out = subprocess.run(
        [sys.executable, "-m", "ui.cli", "bench", "ptt", "--samples", "3", "--path", SIM_RIGCTLD, "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, env={**__import__("os").environ,
                                                                      "QT_QPA_PLATFORM": "offscreen"})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    (path,) = report["paths"]
    assert {"path", "median_us", "p99_us", "samples"} <= path.keys()
    assert path["path"] == SIM_RIGCTLD and path["samples"] == 3 and path["median_us"] > 0
