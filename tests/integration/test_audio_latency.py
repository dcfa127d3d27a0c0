"""Round-trip latency through real PortAudio on a real JACK server (dummy backend), both backends.

The loop is a JACK connection from one of the stream's output ports back to one of its input ports,
made with jack_connect once PortAudio has registered the ports and auto-connected them to ``system``
(those connections are removed first). The issue's figure: the measured round trip is within one
block of the input + output latency the stream reports.

What JACK adds here (Debian's PortAudio 19.6, jackd2 1.9.21, dummy driver): exactly one JACK period
(the port loop out -> in is a cycle in the graph, so a block written in one process cycle is read in
the next) plus one PortAudio block (pa_jack runs its buffer processor with an unknown host buffer
size, which holds one user block on the output side). PortAudio reports input = capture latency of
system:capture (one period) minus one period = 0, and output = playback latency of system:playback
(the dummy driver says two periods) minus one period plus one block = period + block: the same figure.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from app.audio.latency import measure_round_trip
from hardware.audio.base import StreamSpec
from tests.jack import JackServer, portaudio_backend  # noqa: F401 - the fixture, used by name

ROOT = Path(__file__).resolve().parents[2]
PERIOD, RATE = 128, 48000  # the jack_server fixture's
SETTLE_S = 1.0  # silence before the first probe: time to rewire the ports from outside
WIRE_TIMEOUT_S = 5.0

pytestmark = pytest.mark.peer("jackd")


def _number(port: str) -> int:
    return int(re.search(r"(\d+)$", port).group(1))


class LoopWirer(threading.Thread):
    """Waits for a stream's new PortAudio ports and their auto-connections, then loops output k to input m."""

    def __init__(self, server: JackServer, output: int, input: int) -> None:
        super().__init__(daemon=True)
        self.server, self.output, self.input = server, output, input
        self.before = set(server.ports())
        self.loop: tuple[str, str] | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._wire()
        except BaseException as exc:  # reported by result()
            self.error = exc

    def _wire(self) -> None:
        deadline = time.monotonic() + WIRE_TIMEOUT_S
        while True:
            new = [p for p in self.server.ports() if p not in self.before]
            outs = sorted((p for p in new if re.search(r":out_\d+$", p)), key=_number)
            ins = sorted((p for p in new if re.search(r":in_\d+$", p)), key=_number)
            links = self.server.connections()
            touched = {pair for pair in links if pair[0] in new or pair[1] in new}
            # PortAudio connects every port of a started stream to a system port.
            if outs and ins and len(touched) >= len(outs) + len(ins):
                break
            if time.monotonic() > deadline:
                raise AssertionError(f"the stream's ports never appeared connected: new {new}, links {links}")
            time.sleep(0.01)  # polling jack_lsp for the other process's ports; the deadline bounds it
        for source, destination in touched:
            self.server.disconnect(source, destination)
        self.loop = (outs[self.output], ins[self.input])
        self.server.connect(*self.loop)

    def result(self) -> tuple[str, str]:
        self.join(WIRE_TIMEOUT_S + 2)
        if self.error is not None:
            raise self.error
        assert self.loop is not None
        return self.loop


def expected_ms(blocksize: int) -> float:
    return (PERIOD + blocksize) * 1000.0 / RATE


@pytest.mark.parametrize("blocksize", [128, 256])
def test_measured_round_trip_matches_the_reported_latency(jack_server, portaudio_backend, blocksize):
    spec = StreamSpec(device="system", samplerate=RATE, blocksize=blocksize, latency="low", inputs=2, outputs=3)
    wirer = LoopWirer(jack_server, output=2, input=1)
    wirer.start()
    done: list[tuple[int, int]] = []
    result = measure_round_trip(portaudio_backend, spec, output=2, input=1, repeats=3, settle_s=SETTLE_S,
                                spacing_s=0.3, progress=lambda k, n: done.append((k, n)))
    source, destination = wirer.result()
    assert source.endswith(":out_2") and destination.endswith(":in_1")
    print(f"\n{portaudio_backend.name} block {blocksize}: measured {result.measured_ms:.3f} ms "
          f"(each {result.each_ms}), reported {result.reported_ms:.3f} ms "
          f"(in {result.reported_input_ms:.3f} + out {result.reported_output_ms:.3f}), block {result.block_ms:.3f} ms")
    # The figure.
    assert abs(result.measured_ms - result.reported_ms) <= result.block_ms
    assert result.within_one_block
    # What JACK and PortAudio add on a port loop (module docstring): one period and one block, every time.
    assert result.each_ms == pytest.approx((expected_ms(blocksize),) * 3, abs=0.02)
    assert result.device == "system" and done == [(1, 3), (2, 3), (3, 3)]


def _cli(server: JackServer, *args: str) -> subprocess.Popen:
    env = dict(os.environ, JACK_DEFAULT_SERVER=server.name, JACK_NO_START_SERVER="1")
    return subprocess.Popen([sys.executable, "-m", "ui.cli", "diag", "audio-latency", "--backend", "sounddevice",
                             "--device", "system", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_cli_measures_a_loop_and_prints_json(jack_server):
    wirer = LoopWirer(jack_server, output=1, input=0)
    wirer.start()
    cli = _cli(jack_server, "--output", "2", "--input", "1", "--blocksize", "128", "--samplerate", "48000",
               "--repeats", "3", "--settle", str(SETTLE_S), "--json")
    out, err = cli.communicate(timeout=30)
    wirer.result()
    assert cli.returncode == 0, err
    found = json.loads(out)
    assert found["backend"] == "sounddevice" and found["device"] == "system"
    assert (found["output"], found["input"], found["blocksize"]) == (2, 1, 128)
    assert found["within_one_block"] is True
    assert abs(found["measured_ms"] - found["reported_ms"]) <= found["block_ms"]
    assert found["each_ms"] == pytest.approx([expected_ms(128)] * 3, abs=0.02)


def test_cli_prints_a_table_for_people(jack_server):
    wirer = LoopWirer(jack_server, output=0, input=0)
    wirer.start()
    cli = _cli(jack_server, "--repeats", "2", "--settle", str(SETTLE_S))
    out, err = cli.communicate(timeout=30)
    wirer.result()
    assert cli.returncode == 0, err
    assert "device       system (sounddevice)" in out
    assert f"measured     {expected_ms(128):.2f} ms (median of 2)" in out
    assert "within one block of what the stream reports" in out
    assert "probe 2 of 2 found" in err


def test_cli_without_a_loop_says_nothing_was_received(jack_server):
    # Left on PortAudio's own connections, the input hears the dummy driver's silent capture port.
    cli = _cli(jack_server, "--repeats", "1", "--settle", "0", "--json")
    out, err = cli.communicate(timeout=30)
    assert cli.returncode == 1, err
    assert "the probe was not found: repeat 1 of 1, output 1 -> input 1: nothing received" in err
    assert "nothing received" in json.loads(out)["error"]


def test_cli_names_a_channel_the_device_does_not_have(jack_server):
    cli = _cli(jack_server, "--output", "9")
    out, err = cli.communicate(timeout=30)
    assert cli.returncode == 2
    assert "has 8 output channels; --output 9 does not exist" in err
    cli = _cli(jack_server, "--device", "no such card")
    out, err = cli.communicate(timeout=30)
    assert cli.returncode == 2
    assert "no audio device matches 'no such card'" in err
