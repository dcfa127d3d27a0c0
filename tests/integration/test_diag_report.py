"""`dispatch-console diag report` as a technician runs it: a real subprocess, no sound hardware.

The issue's requirement: a valid HTML and JSON report on a machine with no sound hardware, with the
demo profile (null audio device) and with a profile naming a sound device that does not exist. A
third profile brings the real peers: a serial radio on ``loop://``, a Hamlib radio on a private
rigctld, an ALI link whose URL carries a password, and an event log with a fault in it.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.unit.test_report_render import WellFormed

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ["versions", "platform", "profile", "links", "inventory", "serial", "rigctld", "audio-latency",
            "bench-audio", "events"]


def run_report(tmp_path: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "DISPATCH_CONSOLE_CONFIG_DIR": str(tmp_path / "config"),
           "DISPATCH_CONSOLE_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run([sys.executable, "-m", "ui.cli", "diag", "report", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, env=env, check=False)


def read_both(base: Path) -> tuple[WellFormed, dict, str]:
    page = base.with_suffix(".html").read_text(encoding="utf-8")
    parsed = WellFormed().check(page)
    assert parsed.problems == [], parsed.problems
    assert parsed.section_ids == ["summary", *SECTIONS]
    data = json.loads(base.with_suffix(".json").read_text(encoding="utf-8"))
    assert [s["name"] for s in data["sections"]] == SECTIONS
    return parsed, data, page


def sections(data: dict) -> dict[str, dict]:
    return {s["name"]: s for s in data["sections"]}


def test_demo_profile_on_the_null_device(tmp_path):
    out = run_report(tmp_path, "--demo", "-o", str(tmp_path / "r" / "demo"), "--format", "both")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    # Progress on stderr, one line per step, then done.
    progress = [line for line in out.stderr.splitlines() if line.startswith("diag report: [")]
    assert len(progress) == len(SECTIONS) + 1 and progress[-1].endswith("done")
    parsed, data, _page = read_both(tmp_path / "r" / "demo")
    by_name = sections(data)
    assert by_name["links"]["status"] == "PASS"
    assert {row["id"] for row in by_name["links"]["data"]} >= {"ali", "phone", "audio", "fire-disp"}
    assert by_name["audio-latency"]["status"] == "SKIPPED" and "null" in by_name["audio-latency"]["summary"]
    assert by_name["bench-audio"]["status"] == "PASS" and by_name["bench-audio"]["data"]["p99_us"] > 0
    assert by_name["versions"]["data"]["numpy"] and by_name["versions"]["data"]["Qt"]
    assert by_name["profile"]["data"]["settings"]["position"]["name"] == "DEMO-1"
    assert data["position"] == "DEMO-1" and data["cancelled"] is False
    text = "".join(parsed.text)
    for section in data["sections"]:
        assert section["title"] in text and section["status"] in text


def test_profile_naming_a_sound_device_that_does_not_exist(tmp_path):
    profile = tmp_path / "nosound.toml"
    profile.write_text('[position]\nname = "NO-SOUND"\n[audio]\nbackend = "sounddevice"\n'
                       'device = "No Such Card 9000"\n[audio.channels]\nheadset_left = 1\nheadset_mic = 1\n')
    out = run_report(tmp_path, "--config", str(profile), "-o", str(tmp_path / "nosound.html"), "--format", "both")
    assert out.returncode == 1, out.stdout + out.stderr  # written, with failures
    assert "Traceback" not in out.stderr
    _parsed, data, page = read_both(tmp_path / "nosound")
    by_name = sections(data)
    assert by_name["audio-latency"]["status"] == "FAIL"
    assert "No Such Card 9000" in by_name["audio-latency"]["summary"]
    audio = next(row for row in by_name["links"]["data"] if row["id"] == "audio")
    assert audio["state"] in ("down", "fault") and by_name["links"]["status"] == "FAIL"
    assert "No Such Card 9000" in page
    assert "FAIL" in out.stdout and "report written to" in out.stdout


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serial_rigctld_secrets_and_event_log(tmp_path, rigctld_server):
    from app.store import StoreWriter

    data_dir = tmp_path / "data"
    store = StoreWriter(data_dir / "bench-1.sqlite3")
    store.start()
    store.log_event("link.fault", source="radio1", detail="<b>cable</b> cut at rfc2217://ops:Zq9secret@ts:1")
    store.log_event("ptt.key", channel="radio1", source="footswitch", detail="")
    assert store.stop()
    ali_url = f"rfc2217://ops:Zq9secret@127.0.0.1:{_closed_port()}"
    master, slave = os.openpty()  # a footswitch input on a pseudo-terminal (no modem lines)
    pty_path = os.ttyname(slave)
    profile = tmp_path / "bench.toml"
    profile.write_text(f"""
[position]
name = "BENCH-1"
[[radios]]
id = "radio1"
name = "SERIAL"
kind = "serial"
url = "loop://"
[[radios]]
id = "hf"
name = "HF"
kind = "hamlib"
host = "{rigctld_server.host}"
port = {rigctld_server.port}
[[inputs]]
id = "foot"
kind = "serial-line"
url = "{pty_path}"
[ali]
url = "{ali_url}"
""")
    # The radio is keyed by someone else (a console beside the report): the report must leave it keyed.
    from hardware.radio.rigctld import RigctldClient

    keyer = RigctldClient(rigctld_server.host, rigctld_server.port)
    keyer.connect()
    try:
        assert keyer.command("T 1").ok and rigctld_server.ptt()
        out = run_report(tmp_path, "--config", str(profile), "-o", str(tmp_path / "bench"), "--format", "both")
        assert rigctld_server.ptt(), "the report unkeyed a radio it was only to look at"
    finally:
        keyer.command("T 0")
        keyer.close()
        os.close(master)
        os.close(slave)
    assert "Traceback" not in out.stderr
    _parsed, data, page = read_both(tmp_path / "bench")
    by_name = sections(data)
    serial = {row["device"]: row for row in by_name["serial"]["data"]}
    assert serial["radio1"]["result"] == "PASS"
    assert serial["radio1"]["lines"]["cts"] is False  # loop:// echoes RTS on CTS: RTS was held low, no key-up
    assert serial["foot"]["result"] == "PASS" and "no modem lines" in serial["foot"]["lines"]
    assert serial["ali"]["result"] == "FAIL"
    assert by_name["serial"]["status"] == "FAIL"
    rig = by_name["rigctld"]
    assert rig["status"] == "PASS", rig
    assert rig["data"][0]["ptt"] is True and rig["data"][0]["frequency_hz"] > 0
    hf = next(row for row in by_name["links"]["data"] if row["id"] == "hf")
    assert hf["state"] == "not started" and "rigctld" in hf["detail"]
    assert "store" not in {row["id"] for row in by_name["links"]["data"]}  # the throwaway store is not listed
    events = by_name["events"]
    assert events["status"] == "FAIL" and "1 errors" in events["summary"]
    assert [row["kind"] for row in events["data"]["listed"]] == ["link.fault"]
    assert "&lt;b&gt;cable&lt;/b&gt;" in page and "<b>cable" not in page
    everything = page + json.dumps(data) + out.stdout + out.stderr
    assert "Zq9secret" not in everything
    assert by_name["profile"]["data"]["settings"]["ali"]["url"].startswith("rfc2217://ops:[removed]@")
    assert out.returncode == 1


def test_bad_output_and_broken_profile_are_clear(tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    out = run_report(tmp_path, "--demo", "-o", str(folder))
    assert out.returncode == 2 and "is a folder" in out.stderr and "Traceback" not in out.stderr
    broken = tmp_path / "broken.toml"
    broken.write_text('[position]\nname = "X"\n[audio]\nsamplerate = "48000"\n')
    out = run_report(tmp_path, "--config", str(broken), "-o", str(tmp_path / "b.json"), "--format", "json",
                     "--skip-slow")
    assert out.returncode == 1 and "Traceback" not in out.stderr
    data = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))
    profile = sections(data)["profile"]
    assert profile["status"] == "FAIL" and "audio.samplerate" in profile["summary"]
    assert sections(data)["versions"]["status"] == "PASS"  # the rest of the report is still there


def test_ctrl_c_stops_at_the_next_step_and_writes_what_was_gathered(tmp_path):
    import signal

    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen",
           "DISPATCH_CONSOLE_CONFIG_DIR": str(tmp_path / "config"),
           "DISPATCH_CONSOLE_DATA_DIR": str(tmp_path / "data")}
    target = tmp_path / "cut.json"
    proc = subprocess.Popen([sys.executable, "-m", "ui.cli", "diag", "report", "--demo", "-o", str(target),
                             "--format", "json"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        seen = []
        for line in proc.stderr:  # progress lines; the link step runs a position for up to seconds
            seen.append(line)
            if "Link states" in line:
                proc.send_signal(signal.SIGINT)
                break
        rest_out, rest_err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = "".join(seen) + rest_err
    assert proc.returncode == 1, err
    assert "Traceback" not in err and "cancelling at the next step" in err
    data = json.loads(target.read_text(encoding="utf-8"))
    assert data["cancelled"] is True
    by_name = sections(data)
    assert by_name["versions"]["status"] == "PASS"  # gathered before the cancel: kept
    assert by_name["events"]["status"] == "SKIPPED" and "cancelled" in by_name["events"]["summary"]
    assert "(cancelled)" in rest_out
