"""A console SIGKILLed while keyed on a serial radio: the PTT line drops.

A killed process runs no clean-up code at all, so the line can only drop because of what the operating
system and the far end do when the process's descriptors are closed by the kernel:

- A real tty (``/dev/ttyUSB0``, ``/dev/ttyS0``): the driver sets ``HUPCL`` when it opens the port (for
  active-high PTT; tests/integration/test_serial_radio.py checks the flag on a real tty). When the
  kernel closes the last descriptor of the dead process, the tty layer sees HUPCL and lowers RTS and DTR
  - the radio unkeys within microseconds of the kill. (A pseudo-terminal has no modem lines, and this
  machine has no UART a test can loop back, so that step is the kernel's and is not exercised here.)
- A terminal server (``rfc2217://``): the kernel closes the dead process's TCP socket, the server sees
  its session end and drops its port's RTS and DTR. That is what is run here: a child process keys a
  radio through an RFC 2217 server over a loop port (tests/rfc2217_peer.py, which drops its lines on
  hang-up as terminal servers do), is SIGKILLed, and the server's RTS is seen low afterwards.

The second case shows the kill is really abrupt: a server that does NOT drop its lines on hang-up is
left keyed, so nothing the dying process did unkeyed it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.rfc2217_peer import Rfc2217Peer

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent("""
    import sys, threading
    from hardware.events import KeyStateChanged
    from hardware.radio.serial_line import SerialLineRadio

    keyed = threading.Event()
    def sink(event):
        if isinstance(event, KeyStateChanged) and event.keyed:
            keyed.set()
    radio = SerialLineRadio("radio", sink, url=sys.argv[1], carrier_line="cts", debounce_ms=0)
    radio.start()
    while not keyed.is_set():
        radio.key(True)
        keyed.wait(0.5)
    print("KEYED", flush=True)
    threading.Event().wait(600)
""")


def _run_keyed_then_kill(url: str) -> None:
    child = subprocess.Popen([sys.executable, "-c", CHILD, url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "KEYED"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(5) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(5)
        child.stdout.close()


def test_sigkilled_while_keyed_the_terminal_servers_line_drops():
    with Rfc2217Peer(drop_on_hangup=True) as peer:
        _run_keyed_then_kill(peer.url)
        peer.wait_sessions(ended=1)
        peer.port.wait_level("rts", False)
        levels = peer.port.levels("rts")
        assert levels[-2:] == [True, False], f"keyed by the child, dropped on hang-up: {peer.port.changes}"


def test_without_the_hang_up_drop_the_line_stays_keyed():
    with Rfc2217Peer(drop_on_hangup=False) as peer:
        _run_keyed_then_kill(peer.url)
        peer.wait_sessions(ended=1)
        assert peer.port.rts is True, "no clean-up can run in a killed process"
        assert peer.port.levels("rts")[-1] is True
