"""What every audio backend offers: a device list, a callback stream, a rescan; shared device lookup.

The device libraries (sounddevice, PyAudio) are imported only by ``open_backend`` when one is asked
for, so a machine without PortAudio still imports ``hardware.audio`` and runs the ``null`` device.

The callback contract (every backend): ``callback(inp, out, status)`` on the device's thread with
exactly ``spec.blocksize`` frames; ``inp`` is (blocksize, inputs) float32, ``out`` (blocksize, outputs)
float32 C-contiguous and writable, to be filled completely; ``status`` is the int of PortAudio's
flags below.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

# PortAudio's callback status bits (paInputUnderflow ... paPrimingOutput); the null device uses them too.
INPUT_UNDERFLOW, INPUT_OVERFLOW, OUTPUT_UNDERFLOW, OUTPUT_OVERFLOW, PRIMING_OUTPUT = 1, 2, 4, 8, 16

AudioCallback = Callable[[np.ndarray, np.ndarray, int], None]

BACKENDS = ("sounddevice", "pyaudio", "null")


class AudioDeviceError(Exception):
    """A device could not be found, opened or used; the message names backend, device and what failed."""


class AudioRestartRequired(AudioDeviceError):
    """The sound library cannot recover inside this process; only restarting the console helps."""


@dataclass(frozen=True)
class StreamSpec:
    device: str  # "" = default; a name substring (case-insensitive) or an index as text
    samplerate: int
    blocksize: int
    latency: str | float  # "low" | "high" | seconds
    inputs: int
    outputs: int

    def __post_init__(self) -> None:
        problems = []
        if self.samplerate <= 0:
            problems.append(f"samplerate {self.samplerate} must be > 0")
        if self.blocksize <= 0:
            problems.append(f"blocksize {self.blocksize} must be > 0")
        if self.inputs < 0 or self.outputs < 0:
            problems.append(f"channel counts ({self.inputs} in / {self.outputs} out) must be >= 0")
        elif self.inputs == 0 and self.outputs == 0:
            problems.append("a stream needs at least one input or output channel")
        if isinstance(self.latency, str):
            if self.latency not in ("low", "high"):
                problems.append(f"latency {self.latency!r} must be 'low', 'high' or seconds")
        elif not self.latency > 0:
            problems.append(f"latency {self.latency} s must be > 0")
        if problems:
            raise ValueError(f"audio stream spec for device {self.device!r}: " + "; ".join(problems))

    @property
    def period_s(self) -> float:
        return self.blocksize / self.samplerate


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    hostapi: str
    max_inputs: int
    max_outputs: int
    default_samplerate: float

    def describe(self) -> str:
        return f"[{self.index}] {self.name} ({self.hostapi}, {self.max_inputs} in, {self.max_outputs} out)"


class AudioStream(Protocol):
    def start(self) -> None: ...

    def close(self) -> None: ...  # stops too; idempotent; never raises

    @property
    def active(self) -> bool: ...  # False once the device stopped calling back for good

    @property
    def latency(self) -> tuple[float, float]: ...  # (input_s, output_s) as the stream reports them

    @property
    def device_name(self) -> str: ...


class AudioBackend(Protocol):
    name: str

    def devices(self) -> list[DeviceInfo]: ...

    def open(self, spec: StreamSpec, callback: AudioCallback) -> AudioStream: ...  # raises AudioDeviceError

    def rescan(self) -> None: ...  # re-initialise the library so devices that came or went are seen


def open_backend(name: str, *, input_source: Callable[[np.ndarray], None] | None = None) -> AudioBackend:
    """``"sounddevice"`` | ``"pyaudio"`` | ``"null"``. ``input_source`` fills each input block of the null
    device (simulated radios); real devices have real inputs and ignore it."""
    if name == "null":
        from hardware.audio.null_backend import NullBackend

        return NullBackend(input_source)
    if name == "sounddevice":
        from hardware.audio.sounddevice_backend import SoundDeviceBackend

        try:
            return SoundDeviceBackend()
        except (ImportError, OSError) as exc:  # sounddevice raises OSError when libportaudio is missing
            raise AudioDeviceError(f"sounddevice: cannot load PortAudio: {exc}") from exc
    if name == "pyaudio":
        from hardware.audio.pyaudio_backend import PyAudioBackend

        try:
            return PyAudioBackend()
        except (ImportError, OSError) as exc:
            raise AudioDeviceError(f"pyaudio: cannot load PyAudio: {exc} (pip install 'dispatch-console[pyaudio]')") from exc
    raise AudioDeviceError(f"unknown audio backend {name!r}; choose one of {', '.join(BACKENDS)}")


# -- device lookup (both PortAudio backends and the null device) ------------------------------------
def resolve_device(backend: str, devices: list[DeviceInfo], spec: StreamSpec, default: int | None) -> DeviceInfo:
    """The device ``spec.device`` names, checked for ``spec.inputs``/``spec.outputs`` channels.

    "" is ``default``; digits are an index; anything else is a case-insensitive name substring,
    where an exact name wins and, among several matches, the only one with enough channels does.
    """
    query = spec.device.strip()
    found = "; ".join(d.describe() for d in devices) or "none"
    if not query:
        if default is None or default < 0:
            raise AudioDeviceError(f"{backend}: no default audio device (devices found: {found})")
        device = next((d for d in devices if d.index == default), None)
        if device is None:
            raise AudioDeviceError(f"{backend}: default device {default} is not in the device list ({found})")
    elif query.isdigit():
        device = next((d for d in devices if d.index == int(query)), None)
        if device is None:
            raise AudioDeviceError(f"{backend}: no audio device with index {query} (devices found: {found})")
    else:
        wanted = query.casefold()
        matches = [d for d in devices if d.name.casefold() == wanted] or [
            d for d in devices if wanted in d.name.casefold()
        ]
        if not matches:
            raise AudioDeviceError(f"{backend}: no audio device matches {query!r} (devices found: {found})")
        if len(matches) > 1:
            capable = [d for d in matches if _has_channels(d, spec)]
            if len(capable) != 1:
                listed = "; ".join(d.describe() for d in matches)
                raise AudioDeviceError(f"{backend}: {query!r} matches {len(matches)} devices, name one: {listed}")
            matches = capable
        device = matches[0]
    if not _has_channels(device, spec):
        raise AudioDeviceError(
            f"{backend}: device {device.describe()} cannot give {spec.inputs} input and {spec.outputs} output channels"
        )
    return device


def _has_channels(device: DeviceInfo, spec: StreamSpec) -> bool:
    return spec.inputs <= device.max_inputs and spec.outputs <= device.max_outputs


# -- PortAudio's process-wide state (shared by both PortAudio backends) ---------------------------------
# Debian's PortAudio 19.6 is built with assertions: once the JACK server it connected to has gone,
# Pa_Terminate aborts the whole process (PortAudio issue #819) and closing a started JACK stream
# blocks for ten minutes waiting for a process cycle that never comes. So when a JACK stream dies
# under us we remember it here, never call Pa_Terminate or close that stream again, and report that
# only a restart of the console brings the sound back. One flag for the process: on Linux both
# backends load the same libportaudio.so.2.
_jack_lost = ""


def portaudio_jack_lost() -> str:
    """Why PortAudio must not be re-initialised in this process ("" when it may)."""
    return _jack_lost


def mark_portaudio_jack_lost(reason: str) -> None:
    global _jack_lost
    if _jack_lost:
        return
    _jack_lost = reason
    log.error("PortAudio lost its JACK server (%s); audio needs a restart of the console", reason)
    # sounddevice calls Pa_Terminate from an exit handler, which would now abort at exit.
    sounddevice = sys.modules.get("sounddevice")
    if sounddevice is not None and hasattr(sounddevice, "_initialized"):
        sounddevice._initialized = 0


# Closes still inside PortAudio. A close can hang (a wedged sound server); whoever waits for it gives
# up after a time-out, but Pa_Terminate must not run until the close has returned.
_closing = 0
_closing_lock = threading.Lock()


@contextlib.contextmanager
def portaudio_closing() -> Iterator[None]:
    global _closing
    with _closing_lock:
        _closing += 1
    try:
        yield
    finally:
        with _closing_lock:
            _closing -= 1


def portaudio_closes_in_progress() -> int:
    return _closing


def check_portaudio_usable(backend: str) -> None:
    """Raise AudioRestartRequired once PortAudio has lost its JACK server (see above)."""
    if _jack_lost:
        raise AudioRestartRequired(f"{backend}: {_jack_lost} and PortAudio cannot reconnect to JACK "
                                   "within the same process; restart the console to reconnect")


def check_portaudio_can_reinitialise(backend: str) -> None:
    """Raise unless Pa_Terminate is safe now (see above)."""
    check_portaudio_usable(backend)
    if _closing:
        raise AudioDeviceError(f"{backend}: {_closing} stream(s) still closing (the device is not answering); "
                               "not re-initialising PortAudio under them")


def jack_hostapi(name: str) -> bool:
    return "jack" in name.casefold()


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence file descriptor 2 while PortAudio probes ALSA, which prints dozens of lines per
    initialisation on a machine without sound cards (sounddevice does the same at import)."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 2)
        os.close(devnull)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
