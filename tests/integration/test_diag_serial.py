"""The serial bench against real peers: pyserial ``loop://`` ports, pseudo-terminals (data, no modem
lines) and an RFC 2217 server over a loop port (line notifications), in process and through the
``dispatch-console diag`` commands run as subprocesses. After every test that opens a port, the port
is reopened exclusively to show nothing still holds it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from app.ali.parse import parse_stream
from app.ali.samples import decode_sample_file
from app.bench.serial_checks import (
    LineRecord,
    PortOpenError,
    idle_levels,
    interlock,
    keyed_radios,
    loopback_pattern,
    loopback_test,
    ptt_uses,
    watch_lines,
)
from app.bench.serial_monitor import HexDump, PortSession, format_row
from app.config.schema import Profile
from app.snapshots import ChannelView, ConsoleSnapshot
from hardware.serial.modem_lines import NoModemLines
from hardware.serial.ports import LineSettings, open_port
from hardware.sim.links import PtyLink
from tests.rfc2217_peer import Rfc2217Peer

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "ali-samples"
WAIT_S = 20.0


class EchoPlug:
    """The far end of a pseudo-terminal wired like a loopback plug's data pins: what the port sends comes
    back, through ``transform`` (to play a bad cable), or not at all when ``echo`` is False."""

    def __init__(self, *, echo: bool = True, transform: Callable[[bytes], bytes] = lambda data: data) -> None:
        self.link = PtyLink()
        self.path = self.link.slave_path
        self._echo, self._transform = echo, transform
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.link.receive(4096, 0.02)
                if data and self._echo:
                    self.link.write(self._transform(data))
            except Exception:  # noqa: BLE001 - the link closed under us at the end of the test
                return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.link.close()


@pytest.fixture
def plug():
    plugs: list[EchoPlug] = []

    def make(**kwargs) -> EchoPlug:
        plugs.append(EchoPlug(**kwargs))
        return plugs[-1]

    yield make
    for made in plugs:
        made.close()


def assert_released(path: str) -> None:
    """Nothing holds ``path``: an exclusive open succeeds at once."""
    port = open_port(path, rts=None, dtr=None, exclusive=True)
    port.close()


def run_cli(*args: str, timeout: float = WAIT_S) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ui.cli", "diag", *args], cwd=ROOT, text=True,
                          capture_output=True, timeout=timeout)


def start_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "ui.cli", "diag", *args], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def read_until(stream, pattern: str, proc: subprocess.Popen) -> str:
    seen = []
    while True:
        line = stream.readline()
        if not line:
            proc.kill()
            pytest.fail(f"the command ended before printing {pattern!r}: {seen}")
        seen.append(line)
        if pattern in line:
            return line


# --- loopback test, in process ------------------------------------------------------------------------


def test_loop_port_passes_data_and_the_wired_pairs_and_reports_cd_ri_not_wired():
    steps: list[float] = []
    result = loopback_test("loop://", LineSettings(19200), progress=lambda f, text: steps.append(f))
    assert result.passed, result.as_dict()
    assert result.data.sent == result.data.received == 1920  # one second's worth at 19200 baud
    assert result.data.errors == result.data.missing == 0
    assert {p.name: p.result for p in result.pairs} == {
        "RTS->CTS": "pass", "DTR->DSR": "pass", "DTR->CD": "not-wired", "DTR->RI": "not-wired"}
    assert steps[0] == 0.0 and steps[-1] == 1.0 and steps == sorted(steps)


def test_pty_data_passes_and_the_pairs_say_no_modem_lines(plug):
    far = plug()
    result = loopback_test(far.path, LineSettings(115200))
    assert result.data.passed and result.data.received == 4096
    assert [p.result for p in result.pairs] == ["no-modem-lines"] * 4
    assert not result.modem_lines
    assert result.verdict == "PASS (data only: this port has no modem lines)"
    assert "no modem lines" in result.notes[0]
    assert_released(far.path)


def test_bytes_changed_by_the_cable_are_counted_and_fail_the_test(plug):
    def corrupt(data: bytes) -> bytes:
        return bytes(b ^ 0x01 if b == 0x41 else b for b in data)  # every 'A' comes back as '@'

    far = plug(transform=corrupt)
    result = loopback_test(far.path, LineSettings(9600), length=1024)
    assert not result.passed and not result.data.passed
    assert result.data.errors == loopback_pattern(1024).count(0x41) > 1 and result.data.missing == 0
    assert result.data.first_error_at == 0x41
    assert_released(far.path)


def test_nothing_coming_back_is_counted_as_missing(plug):
    far = plug(echo=False)
    result = loopback_test(far.path, LineSettings(115200), length=300)
    assert result.data.received == 0 and result.data.missing == 300
    assert result.verdict == "FAIL"
    assert_released(far.path)


def test_cancel_ends_the_test_and_releases_the_port(plug):
    far = plug()
    cancel = threading.Event()
    result = loopback_test(far.path, LineSettings(115200),
                           progress=lambda f, text: cancel.set() if f > 0 else None, cancel=cancel)
    assert result.cancelled and not result.passed and result.verdict == "CANCELLED"
    assert_released(far.path)


def test_a_port_that_cannot_be_opened_raises_a_clear_error():
    with pytest.raises(PortOpenError, match="cannot open /dev/no-such-port"):
        loopback_test("/dev/no-such-port")


def test_rfc2217_loopback_reads_the_pairs_from_notifications_and_leaves_the_lines_low():
    with Rfc2217Peer(drop_on_hangup=False) as peer:  # only the client's own release can lower them
        result = loopback_test(peer.url, LineSettings(9600))
        assert result.passed, result.as_dict()
        assert [p.result for p in result.pairs][:2] == ["pass", "pass"]
        peer.wait_sessions(ended=1)  # the client closed its session
        assert peer.port.levels("rts")[-1] is False and peer.port.levels("dtr")[-1] is False
        assert True in peer.port.levels("rts") and True in peer.port.levels("dtr")


def test_a_crossed_plug_fails_the_pairs_and_names_the_crossing():
    """A loop port whose CTS follows DTR and DSR follows RTS: a plug wired wrongly."""
    from serial.urlhandler import protocol_loop

    class Crossed(protocol_loop.Serial):
        @property
        def cts(self):
            return self._dtr_state

        @property
        def dsr(self):
            return self._rts_state

    from app.bench import serial_checks

    port = Crossed()
    port.port = "loop://"
    port.open()
    try:
        results = {p.name: p for p in serial_checks._pair_test(port, (False, False), 0.05, lambda f, t: None,
                                                               threading.Event())}
    finally:
        port.close()
    assert results["RTS->CTS"].result == "fail" and "follows DTR, not RTS" in results["RTS->CTS"].detail
    assert results["DTR->DSR"].result == "fail" and "follows RTS, not DTR" in results["DTR->DSR"].detail


# --- watching lines -------------------------------------------------------------------------------------


def test_watch_lines_reports_the_start_then_each_change_over_rfc2217():
    records: list[LineRecord] = []
    seen = threading.Condition()

    def emit(record: LineRecord) -> None:
        with seen:
            records.append(record)
            seen.notify_all()

    def wait_for(match) -> LineRecord:
        with seen:
            assert seen.wait_for(lambda: any(match(r) for r in records), WAIT_S), records
            return next(r for r in records if match(r))

    with Rfc2217Peer() as peer:
        stop = threading.Event()
        watcher = threading.Thread(target=watch_lines, args=(peer.url, emit), kwargs={"stop": stop})
        watcher.start()
        try:
            first = wait_for(lambda r: r.state is not None)
            assert first.as_dict() == {"t": 0.0, "state": {"cts": False, "dsr": False, "cd": True, "ri": False}}
            peer.set_lines(rts=True)
            assert wait_for(lambda r: r.line == "cts").as_dict()["active"] is True
            peer.set_lines(dtr=True)
            dsr = wait_for(lambda r: r.line == "dsr")
            assert dsr.active and set(dsr.as_dict()) == {"t", "line", "active"} and dsr.t > 0
        finally:
            stop.set()
            watcher.join(WAIT_S)
        assert not watcher.is_alive()
        peer.wait_sessions(ended=1)


def test_watch_lines_on_a_pty_says_no_modem_lines_and_releases_it(plug):
    far = plug(echo=False)
    with pytest.raises(NoModemLines):
        watch_lines(far.path, lambda record: None, seconds=1)
    assert_released(far.path)


# --- hex monitor ----------------------------------------------------------------------------------------


def test_hex_rows_start_at_stx_and_mark_the_framing():
    dump = HexDump()
    rows = dump.feed(b"xy\x02AB\x03\x41") + dump.flush()
    assert rows[0].startswith("00000000 ") and "|xy" in rows[0] and "STX" not in rows[0]
    assert rows[1].startswith("00000002 [02  41  42  03] 41 ")
    assert "|«AB»A" in rows[1] and rows[1].endswith("  STX ETX")
    marked = format_row(0, bytes(range(16)))
    assert marked.index("|") == format_row(16, b"A" * 16).index("|") == format_row(32, b"A").index("|")  # rows line up
    assert len(dump.feed(bytes(40))) == 2 and dump.offset == 47


def test_a_session_captures_exactly_what_arrives_and_releases_the_port(plug, tmp_path):
    far = plug(echo=False)
    received = bytearray()
    got = threading.Condition()
    opened = threading.Event()
    closed: list[str] = []

    def data(chunk: bytes, t: float) -> None:
        with got:
            received.extend(chunk)
            got.notify_all()

    session = PortSession(far.path, on_open=lambda ok, how: opened.set(), on_data=data, on_closed=closed.append)
    capture = tmp_path / "raw.bin"
    session.start_capture(str(capture))
    session.start()
    assert opened.wait(WAIT_S)
    sample = bytes(range(256)) * 3
    far.link.write(sample)
    with got:
        assert got.wait_for(lambda: len(received) >= len(sample), WAIT_S)
    assert session.close()
    assert closed == [""]
    assert capture.read_bytes() == sample == bytes(received)
    assert not session.has_lines  # a pty: nothing to toggle
    assert_released(far.path)


# --- the PTT interlock ------------------------------------------------------------------------------------


def radio_profile(url: str, line: str = "rts", active_high: bool = True) -> Profile:
    return Profile.model_validate({
        "position": {"name": "Bench"},
        "radios": [{"id": "fire", "name": "FIRE DISP", "kind": "serial", "url": url, "ptt_line": line,
                    "ptt_active_high": active_high}],
    })


def test_interlock_needs_confirmation_on_a_ptt_port_and_refuses_while_keyed(tmp_path):
    profile = radio_profile("/dev/ttyUSB7", "dtr", active_high=False)
    uses = ptt_uses(profile, "/dev/ttyUSB7")
    assert [(u.radio_id, u.line) for u in uses] == [("fire", "dtr")]
    assert idle_levels(uses) == (False, True)  # DTR keys when low: it idles high
    assert ptt_uses(profile, "/dev/ttyUSB8") == []
    assert interlock([], set(), confirmed=False).allowed
    asked = interlock(uses, set(), confirmed=False)
    assert not asked.allowed and asked.needs_confirmation and "FIRE DISP" in asked.reason
    assert interlock(uses, set(), confirmed=True).allowed
    keyed = keyed_radios(ConsoleSnapshot(channels=(ChannelView("fire", "FIRE DISP", "serial", transmitting=True),)))
    refused = interlock(uses, keyed, confirmed=True)
    assert not refused.allowed and "keyed by the console" in refused.reason
    link = tmp_path / "by-id-link"
    link.symlink_to("/dev/ttyUSB7")
    assert ptt_uses(profile, str(link))  # the same device under another name


# --- the commands ------------------------------------------------------------------------------------------


def test_cli_loopback_exit_codes_and_json(plug):
    done = run_cli("serial-loopback", "loop://", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["passed"] and report["data"]["errors"] == 0
    assert [p["result"] for p in report["pairs"]] == ["pass", "pass", "not-wired", "not-wired"]

    far = plug()
    done = run_cli("serial-loopback", far.path, "--baudrate", "57600")
    assert done.returncode == 0, done.stderr
    assert "no-modem-lines" in done.stdout and "57600 baud" in done.stdout and "100% " in done.stderr
    assert_released(far.path)

    silent = plug(echo=False)
    done = run_cli("serial-loopback", silent.path, "--json")
    assert done.returncode == 1 and json.loads(done.stdout)["data"]["missing"] > 0
    assert_released(silent.path)

    done = run_cli("serial-loopback", "/dev/no-such-port")
    assert done.returncode == 2 and "cannot open /dev/no-such-port" in done.stderr and "Traceback" not in done.stderr


def test_cli_loopback_on_a_radios_ptt_port_needs_yes(plug, tmp_path):
    far = plug()
    profile = tmp_path / "bench.toml"
    profile.write_text(f'[position]\nname = "Bench"\n\n[[radios]]\nid = "fire"\nname = "FIRE DISP"\n'
                       f'kind = "serial"\nurl = "{far.path}"\n')
    done = run_cli("serial-loopback", far.path, "--config", str(profile))
    assert done.returncode == 2 and "FIRE DISP (PTT on RTS)" in done.stderr and "--yes" in done.stderr
    done = run_cli("serial-loopback", far.path, "--config", str(profile), "--yes")
    assert done.returncode == 0, done.stderr


def test_cli_lines_streams_changes_and_ctrl_c_exits_0():
    with Rfc2217Peer() as peer:
        proc = start_cli("lines", peer.url)
        try:
            first = json.loads(proc.stdout.readline())
            assert first["state"] == {"cts": False, "dsr": False, "cd": True, "ri": False}
            peer.set_lines(rts=True)
            change = json.loads(proc.stdout.readline())
            assert change["line"] == "cts" and change["active"] is True and change["t"] >= 0
            peer.set_lines(rts=False)
            assert json.loads(proc.stdout.readline())["active"] is False
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        peer.wait_sessions(ended=1)


def test_cli_lines_on_a_pty_exits_1_with_no_modem_lines(plug):
    far = plug(echo=False)
    done = run_cli("lines", far.path, "--seconds", "2")
    assert done.returncode == 1 and "no modem lines" in done.stderr and "Traceback" not in done.stderr
    assert_released(far.path)


def test_cli_monitor_capture_is_read_by_ali_parse(plug, tmp_path):
    spill = decode_sample_file((SAMPLES / "capture-busn-school-RECONSTRUCTED-bcc-valid.txt").read_text("latin-1"))
    heartbeat = decode_sample_file((SAMPLES / "capture-heartbeat-H.txt").read_text("latin-1"))
    stream = b"noise" + spill + heartbeat + spill
    far = plug(echo=False)
    capture = tmp_path / "capture.bin"
    proc = start_cli("monitor", far.path, "--capture", str(capture))
    try:
        read_until(proc.stderr, "monitoring", proc)
        far.link.write(stream)
        deadline = time.monotonic() + WAIT_S
        while (capture.stat().st_size if capture.exists() else 0) < len(stream):
            assert time.monotonic() < deadline, "the capture did not grow to the whole stream"
            threading.Event().wait(0.01)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert capture.read_bytes() == stream
    rows = out.splitlines()
    assert sum(1 for row in rows if " [02 " in row and "STX" in row) == 3  # each frame starts its own row
    assert sum(row.count(" 03]") for row in rows) == 3
    parsed = subprocess.run([sys.executable, "-m", "ui.cli", "ali", "parse", "--layout", "30w", str(capture)],
                            cwd=ROOT, text=True, capture_output=True, timeout=WAIT_S)
    assert parsed.returncode == 0, parsed.stderr
    entries = [json.loads(line) for line in parsed.stdout.splitlines()]
    assert entries == json.loads(json.dumps(parse_stream(stream, "30w")))
    spills = [e for e in entries if e.get("kind") == "ali"]
    assert len(spills) == 2 and all(e["bcc_ok"] for e in spills)
    assert_released(far.path)
