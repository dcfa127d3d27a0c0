"""A private rigctld (Hamlib dummy rig) per test: the ``rigctld_server`` fixture.

Process control lives in hardware/radio/rigctld_server.py (``dispatch-console bench ptt`` uses it too).
"""

from __future__ import annotations

from collections.abc import Iterator

from hardware.radio.rigctld_server import RigctldServer, RigctldServerError, free_port

__all__ = ["RigctldServer", "RigctldServerError", "free_port", "rigctld_server_for_test"]


def rigctld_server_for_test() -> Iterator[RigctldServer]:
    from tests.conftest import require_peer

    require_peer("rigctld")
    server = RigctldServer()
    try:
        yield server
    finally:
        server.stop()
