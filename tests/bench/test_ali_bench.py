"""The ALI benchmark runs end to end and reports its figures (the figures themselves are read, not asserted:
speed is judged from `dispatch-console bench ali` runs, not from timed unit tests)."""

from __future__ import annotations

import json
import subprocess
import sys

from app.bench.ali_parse import measure_throughput, sample_stream
from app.ali.parse import parse_stream


def test_throughput_run_parses_every_spill_cleanly():
    result = measure_throughput(300)
    assert result.spills == 300 and result.errors == 0
    assert result.frames_per_s > 0 and result.framer_only_frames_per_s > 0


def test_sample_stream_is_what_the_parser_reads():
    entries = parse_stream(sample_stream(9), "30w")
    assert [e["kind"] for e in entries] == ["ali", "heartbeat"] * 9
    assert {e["record"]["class_of_service"] for e in entries if e["kind"] == "ali"} == {
        "RESD", "BUSN", "WPH1", "WPH2", "VOIP", "PBXB"}


def test_bench_ali_prints_the_figures_the_issue_names(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "ui.cli", "bench", "ali", "--samples", "5", "--spills", "200", "--json"],
        capture_output=True, text=True, timeout=120, env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin",
                                                          "HOME": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"pop_median_ms", "pop_p99_ms", "frames_per_s", "samples"} <= figures.keys()
    assert figures["samples"] == 5 and figures["parse_errors"] == 0
    assert 0 < figures["pop_median_ms"] <= figures["pop_p99_ms"]
