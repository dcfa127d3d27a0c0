"""A private JACK server (dummy backend) for audio tests, driven through the real jack_* tools.

The server control itself lives in hardware/audio/jack_server.py (``dispatch-console bench
audio-soak`` uses it too); this module keeps the names the tests import and adds the fixture.

``JackServer(name)`` starts ``jackd --no-realtime -n NAME -d dummy ...`` and waits until ``jack_lsp``
answers. Every jack_* tool runs with ``JACK_DEFAULT_SERVER=NAME``, so tests never touch a JACK server
that someone else runs on the machine. ``kill`` is a crash (SIGKILL), ``pause``/``resume`` a wedged
server (SIGSTOP/SIGCONT), ``restart`` brings a killed server back under the same name.

PortAudio (Debian's 19.6) aborts the process in ``Pa_Terminate`` once the JACK server it connected
to has gone (PortAudio issue #819), so a test process must let go of a server before stopping it:
``portaudio_backend`` below re-initialises PortAudio away from the server at teardown.
"""

from __future__ import annotations

import time

import pytest

from hardware.audio.jack_server import (
    START_TIMEOUT_S,
    TOOL_TIMEOUT_S,
    JackError,
    JackServer,
)
from hardware.audio.jack_server import unique_name as _unique_name

__all__ = ["START_TIMEOUT_S", "TOOL_TIMEOUT_S", "JackError", "JackServer", "portaudio_backend", "unique_name"]


def unique_name() -> str:
    """A server name no other test (or test run) uses: ``dctest-<pid>-<n>``."""
    return _unique_name("dctest")


@pytest.fixture(params=["sounddevice", "pyaudio"])
def portaudio_backend(request, jack_server, monkeypatch):
    """Each PortAudio backend, initialised against ``jack_server``, let go of it again at teardown.

    Import it into a test module to use it (``from tests.jack import portaudio_backend``).
    """
    from hardware.audio.base import (
        AudioDeviceError,
        open_backend,
        portaudio_closes_in_progress,
        portaudio_jack_lost,
    )

    try:
        backend = open_backend(request.param)
    except AudioDeviceError as exc:
        pytest.skip(str(exc))
    backend.rescan()  # PortAudio reads JACK_DEFAULT_SERVER when it initialises
    yield backend
    # Re-initialise away from the server before it stops (see the module docstring), once any close
    # a test abandoned on a paused server has returned.
    jack_server.resume()
    deadline = time.monotonic() + 10
    while portaudio_closes_in_progress() and time.monotonic() < deadline:
        time.sleep(0.02)
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"{jack_server.name}-stopped")
    assert not portaudio_jack_lost(), "a test let PortAudio lose its JACK server inside the test process"
    backend.rescan()
