"""What both PortAudio backends (sounddevice, PyAudio) share: the stream lifecycle and the backend's
guards around PortAudio's process-wide state, with the JACK-lost rules of ``base`` (why they exist is
written there).

A backend's stream subclasses ``PortAudioStreamBase``, opens its library's stream in ``__init__`` and
supplies the primitives (start, close, is it active, is it stopped, its latency) and the exception
types its library raises for a device that failed. The backend subclasses ``PortAudioBackendBase``
and supplies listing the devices, the default device, opening a stream and re-initialising PortAudio.
"""

from __future__ import annotations

import logging

from hardware.audio.base import (
    AudioCallback,
    AudioDeviceError,
    DeviceInfo,
    StreamSpec,
    check_portaudio_can_reinitialise,
    check_portaudio_usable,
    jack_hostapi,
    mark_portaudio_jack_lost,
    portaudio_closing,
    portaudio_jack_lost,
    quiet_stderr,
    resolve_device,
)

log = logging.getLogger(__name__)

Errors = tuple[type[BaseException], ...]


class PortAudioStreamBase:
    backend = ""  # the backend's name, the first word of every message
    # Raised by starting the native stream when the device refuses: reported as AudioDeviceError.
    start_errors: Errors = ()
    # Raised by asking whether the native stream is active or stopped: a dying device, not a lost server.
    state_errors: Errors = ()
    # The subset of those ``active`` answers False for instead of raising (the libraries differ here).
    inactive_errors: Errors = ()

    def __init__(self, spec: StreamSpec, device: DeviceInfo, callback: AudioCallback) -> None:
        self._spec = spec
        self._device = device
        self._callback = callback
        self._on_jack = jack_hostapi(device.hostapi)
        self._closed = False
        self._started = False
        self._aborted = False  # the callback raised, so PortAudio stopped calling it (not JACK going away)

    # -- what the library supplies --------------------------------------------------------------------
    def _start_native(self) -> None:
        raise NotImplementedError

    def _close_native(self) -> None:
        raise NotImplementedError

    def _native_active(self) -> bool:
        raise NotImplementedError

    def _native_stopped(self) -> bool:
        raise NotImplementedError

    @property
    def latency(self) -> tuple[float, float]:
        raise NotImplementedError

    # -- AudioStream ----------------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self._start_native()
        except self.start_errors as exc:
            raise AudioDeviceError(f"{self.backend}: cannot start {self._device.describe()}: {exc}") from exc
        self._started = True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._on_jack and self._started and self._jack_gone():
            # Pa_CloseStream would wait ten minutes for a JACK cycle that never comes: leave it.
            log.warning("%s: not closing %s: its JACK server has gone", self.backend, self._device.name)
            return
        try:
            with portaudio_closing():
                self._close_native()
        except Exception as exc:  # noqa: BLE001 - close never raises; a dying device may fail any way
            log.warning("%s: closing %s failed: %s", self.backend, self._device.name, exc)

    @property
    def active(self) -> bool:
        if self._closed:
            return False
        try:
            active = bool(self._native_active())
        except self.inactive_errors:
            return False
        if not active and self._on_jack and self._started:
            self._jack_gone()
        return active

    @property
    def device_name(self) -> str:
        return self._device.name

    def _jack_gone(self) -> bool:
        """A started JACK stream that is inactive but was never stopped: PortAudio's JACK shutdown
        handler did that, so the server has gone (see base.mark_portaudio_jack_lost)."""
        if portaudio_jack_lost():
            return True
        if self._aborted:
            return False
        try:
            gone = not self._native_active() and not self._native_stopped()
        except self.state_errors:
            return False
        if gone:
            mark_portaudio_jack_lost(f"the JACK server went away under the stream on {self._device.name}")
        return gone


class PortAudioBackendBase:
    name = ""

    def devices(self) -> list[DeviceInfo]:
        check_portaudio_usable(self.name)
        return self._list_devices()

    def open(self, spec: StreamSpec, callback: AudioCallback) -> PortAudioStreamBase:
        devices = self.devices()
        device = resolve_device(self.name, devices, spec, self._default_index(output=spec.outputs > 0))
        return self._open_stream(spec, device, callback)

    def rescan(self) -> None:
        """Terminate and re-initialise PortAudio so it lists the devices (and the JACK server) as
        they are now. Every stream must be closed first."""
        check_portaudio_can_reinitialise(self.name)
        with quiet_stderr():
            self._reinitialise()

    # -- what the library supplies --------------------------------------------------------------------
    def _list_devices(self) -> list[DeviceInfo]:
        raise NotImplementedError

    def _default_index(self, *, output: bool) -> int | None:
        raise NotImplementedError

    def _open_stream(self, spec: StreamSpec, device: DeviceInfo, callback: AudioCallback) -> PortAudioStreamBase:
        raise NotImplementedError  # raises AudioDeviceError when the device cannot give the stream

    def _reinitialise(self) -> None:
        raise NotImplementedError  # raises AudioDeviceError when PortAudio does not come back
