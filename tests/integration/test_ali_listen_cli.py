"""`dispatch-console ali listen` end to end: a real subprocess reading a TCP server (socket://), a
connecting client (tcp-listen://) and a pseudo-terminal, as a technician runs it."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hardware.sim.links import PtyLink
from hardware.sim.spills import DEMO_RECORDS, format_30w, frame

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 20.0
HEARTBEAT = b"\x02H\x03\x4b"


def spill(index: int = 0, with_bcc: bool = True) -> bytes:
    return frame(format_30w(DEMO_RECORDS[index], "2001"), with_bcc)


def start_listen(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ui.cli", "ali", "listen", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_stderr(proc: subprocess.Popen, pattern: str) -> re.Match:
    """Read the command's stderr line by line until ``pattern`` matches (it reports link changes there)."""
    seen = []
    while True:
        line = proc.stderr.readline()
        if not line:
            proc.kill()
            pytest.fail(f"ali listen ended before printing {pattern!r}: {seen}")
        seen.append(line)
        if match := re.search(pattern, line):
            return match


def finish(proc: subprocess.Popen) -> tuple[list[dict], str]:
    out, err = proc.communicate(timeout=WAIT_S)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    return [json.loads(line) for line in out.splitlines()], err


def without_time(entries: list[dict]) -> list[dict]:
    return [{k: v for k, v in entry.items() if k != "t"} for entry in entries]


def test_socket_url_frames_live_and_the_raw_capture_parses_the_same(tmp_path):
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(WAIT_S)
    capture = tmp_path / "capture.bin"
    proc = start_listen(f"socket://127.0.0.1:{server.getsockname()[1]}", "--layout", "30w", "--count", "3",
                        "--raw-out", str(capture))
    try:
        conn, _ = server.accept()
        wait_stderr(proc, r"link up: open: socket://")
        wireless = spill(2)
        conn.sendall(b"line noise\r\n" + HEARTBEAT + wireless[:25])
        conn.sendall(wireless[25:] + b"\x02E130\x03\x00")  # a status frame with a wrong check byte
        entries, _ = finish(proc)
    finally:
        server.close()

    assert [e["kind"] for e in entries] == ["unparsed", "heartbeat", "ali", "status"]
    assert all(isinstance(e["t"], float) for e in entries)
    assert "bytes outside a frame" in entries[0]["errors"][0]
    assert entries[2]["record"]["class_of_service"] == "WPH1" and entries[2]["record"]["callback"] == "7195550153"
    assert entries[3]["bcc_ok"] is False
    # The capture is what arrived, and `ali parse` reads it to the same entries.
    assert capture.read_bytes() == b"line noise\r\n" + HEARTBEAT + wireless + b"\x02E130\x03\x00"
    parsed = subprocess.run([sys.executable, "-m", "ui.cli", "ali", "parse", "--layout", "30w", str(capture)],
                            cwd=ROOT, capture_output=True, text=True, timeout=WAIT_S)
    assert parsed.returncode == 0, parsed.stderr
    assert [json.loads(line) for line in parsed.stdout.splitlines()] == without_time(entries)


def test_tcp_listen_reports_link_changes_on_stderr_and_survives_a_reconnect():
    proc = start_listen("tcp-listen://127.0.0.1:0", "--count", "2", "--no-bcc", "--layout", "raw")
    try:
        port = int(wait_stderr(proc, r"link down: listening on 127\.0\.0\.1:(\d+), no connection").group(1))
        first = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        wait_stderr(proc, r"link up: connected from 127\.0\.0\.1:\d+")
        first.sendall(spill(0, with_bcc=False)[:30])
        first.close()  # cable pulled mid-frame
        wait_stderr(proc, r"link down: .*closed the connection")
        second = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
        wait_stderr(proc, r"link up: connected from")
        second.sendall(b"\x02H\x03" + spill(1, with_bcc=False))
        entries, _ = finish(proc)
        second.close()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert [e["kind"] for e in entries] == ["unparsed", "heartbeat", "ali"]
    assert "link lost mid-frame" in entries[0]["errors"][0] and entries[0]["raw"].startswith("<STX>2001")
    assert "DEMO COUNTY SCHOOL DIST 11" in entries[2]["raw"] and entries[2]["bcc_ok"] is None


def test_pseudo_terminal_with_serial_options():
    link = PtyLink()
    try:
        proc = start_listen(link.slave_path, "--baud", "19200", "--bytesize", "7", "--parity", "E",
                            "--stopbits", "2", "--count", "1")
        wait_stderr(proc, r"link up: open: /dev/")
        link.write(spill(3))
        entries, _ = finish(proc)
    finally:
        link.close()
    assert [e["kind"] for e in entries] == ["ali"]
    assert entries[0]["bcc_ok"] is True and entries[0]["record"]["class_of_service"] == "WPH2"


def test_ctrl_c_exits_0_and_prints_what_was_held_back():
    proc = start_listen("tcp-listen://127.0.0.1:0", "--layout", "raw")
    port = int(wait_stderr(proc, r"listening on 127\.0\.0\.1:(\d+)").group(1))
    client = socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)
    try:
        wait_stderr(proc, r"link up")
        client.sendall(HEARTBEAT + b"\x02HALF A SPI")  # one small write: one read on loopback
        first = proc.stdout.readline()
        assert json.loads(first)["kind"] == "heartbeat"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT_S)
    finally:
        client.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    [held] = [json.loads(line) for line in out.splitlines()]
    assert held["kind"] == "unparsed" and held["raw"] == "<STX>HALF A SPI"


@pytest.mark.parametrize("args, message", [
    (["tcp-listen://0.0.0.0"], "the :PORT is missing"),
    (["sockt://127.0.0.1:5000"], "protocol 'sockt' not known"),
    (["sim://phone"], "simulated phone system"),
    (["loop://", "--layout", "nope"], "no layout named 'nope'"),
    (["loop://", "--raw-out", "/nonexistent/dir/capture.bin"], "cannot write /nonexistent/dir/capture.bin"),
    (["loop://", "--count", "0"], "expected 1 or more"),
])
def test_bad_arguments_exit_2_with_the_reason(args, message):
    out = subprocess.run([sys.executable, "-m", "ui.cli", "ali", "listen", *args], cwd=ROOT, capture_output=True,
                         text=True, timeout=WAIT_S)
    assert out.returncode == 2
    assert message in out.stderr and "Traceback" not in out.stderr


def test_listen_is_headless():
    """The command runs (reader thread, framer, layouts, sockets) without loading the widget toolkit."""
    code = (
        "import socket, sys, threading\n"
        "probe = socket.create_server(('127.0.0.1', 0)); port = probe.getsockname()[1]; probe.close()\n"
        "def cpe():\n"
        "    while True:\n"  # connect as soon as the command listens
        "        try:\n"
        "            client = socket.create_connection(('127.0.0.1', port))\n"
        "            break\n"
        "        except ConnectionRefusedError:\n"
        "            threading.Event().wait(0.02)\n"
        "    client.sendall(b'\\x02H\\x03\\x4b')\n"
        "    client.recv(1)\n"
        "threading.Thread(target=cpe, daemon=True).start()\n"
        "from ui.cli import main\n"
        "code = main(['ali', 'listen', f'tcp-listen://127.0.0.1:{port}', '--count', '1'])\n"
        "print(code, 'PySide6.QtWidgets' in sys.modules, 'PySide6.QtGui' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=WAIT_S)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0 False False"
