"""The command line as a technician uses it: real subprocesses, exit codes, no tracebacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env_dirs=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if env_dirs:
        env["DISPATCH_CONSOLE_CONFIG_DIR"], env["DISPATCH_CONSOLE_DATA_DIR"] = map(str, env_dirs)
    return subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, env=env)


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.startswith("dispatch-console ")


def test_config_check_ok_and_errors(tmp_path):
    ok = run_cli("config", "check", str(ROOT / "assets/profiles/demo.toml"))
    assert ok.returncode == 0 and ok.stdout.startswith("OK:")
    bad = tmp_path / "bad.toml"
    bad.write_text('[position]\nname = "X"\n[[radios]]\nid = "r1"\nname = "R1"\nkind = "motorola"\n'
                   '[audio]\nsamplerate = "48000"\n')
    out = run_cli("config", "check", str(bad))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "bad.toml: radios[0].kind: unknown device kind 'motorola'" in out.stderr
    assert "audio.samplerate" in out.stderr


def test_config_check_unreadable_file(tmp_path):
    out = run_cli("config", "check", str(tmp_path / "missing.toml"))
    assert out.returncode == 2 and "missing.toml" in out.stderr and "Traceback" not in out.stderr


def test_log_tail_prints_what_the_position_logged(tmp_path):
    from app.store import StoreWriter

    db = tmp_path / "events.sqlite3"
    writer = StoreWriter(db)
    writer.start()
    for n in range(30):
        writer.log_event("ptt.key", channel=f"ch{n}", source="footswitch", detail="line\nbreak")
    assert writer.stop()
    out = run_cli("log", "tail", "-n", "5", "--db", str(db))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 5 and "ch29" in lines[-1] and "ch25" in lines[0]
    assert all("\n" not in line for line in lines)


def test_log_tail_without_a_profile_says_what_to_do(tmp_path):
    out = run_cli("log", "tail", env_dirs=(tmp_path / "c", tmp_path / "d"))
    assert out.returncode == 2 and "--demo" in out.stderr and "Traceback" not in out.stderr


def test_soak_bench_headless_reports_figures_and_leaks_no_threads():
    out = run_cli("bench", "soak", "--seconds", "3", "--speed", "40", "--json")
    assert out.returncode == 0, out.stderr
    import json

    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["events_routed"] > 0
    assert result["threads_end"] == result["threads_start"]
