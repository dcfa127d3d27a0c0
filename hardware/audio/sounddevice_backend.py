"""The default audio backend: a PortAudio callback stream through python-sounddevice.

sounddevice already hands the callback NumPy views of PortAudio's buffers; the wrapper here only
turns the status flags into an int and passes the views on (no copy, no allocation of its own).
"""

from __future__ import annotations

import logging
from types import ModuleType

import numpy as np

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

NAME = "sounddevice"
PA_NOT_INITIALIZED = -10000  # paNotInitialized: Pa_Terminate's answer once every reference is gone


def load_sounddevice() -> ModuleType:
    """Imported here, not at the top: importing sounddevice loads and initialises PortAudio."""
    import sounddevice

    return sounddevice


class SoundDeviceStream:
    def __init__(self, sd: ModuleType, spec: StreamSpec, device: DeviceInfo, callback: AudioCallback) -> None:
        self._sd = sd
        self._spec = spec
        self._device = device
        self._callback = callback
        self._on_jack = jack_hostapi(device.hostapi)
        self._closed = False
        self._started = False
        self._aborted = False  # the callback raised, so PortAudio stopped calling it (not JACK going away)
        # The side a one-way stream lacks is still handed over, as an empty (blocksize, 0) array.
        self._no_input = np.zeros((spec.blocksize, 0), dtype=np.float32)
        self._no_output = np.zeros((spec.blocksize, 0), dtype=np.float32)
        common = dict(device=device.index, samplerate=spec.samplerate, blocksize=spec.blocksize,
                      latency=spec.latency, dtype="float32")
        try:
            if spec.inputs and spec.outputs:
                self._stream = sd.Stream(channels=(spec.inputs, spec.outputs), callback=self._duplex, **common)
            elif spec.inputs:
                self._stream = sd.InputStream(channels=spec.inputs, callback=self._input_only, **common)
            else:
                self._stream = sd.OutputStream(channels=spec.outputs, callback=self._output_only, **common)
        except (sd.PortAudioError, ValueError) as exc:
            raise AudioDeviceError(f"{NAME}: cannot open {device.describe()} at {spec.samplerate} Hz, "
                                   f"{spec.blocksize} frames, {spec.inputs} in / {spec.outputs} out: {exc}") from exc

    # -- PortAudio's callback thread ----------------------------------------------------------------
    # status is a CallbackFlags; int() of it is not supported, its _flags is the PortAudio int.
    # An exception propagates: sounddevice prints it and PortAudio stops calling back (active False).
    def _duplex(self, indata: np.ndarray, outdata: np.ndarray, frames: int, time, status) -> None:
        try:
            self._callback(indata, outdata, status._flags)
        except BaseException:
            self._aborted = True
            raise

    def _input_only(self, indata: np.ndarray, frames: int, time, status) -> None:
        try:
            self._callback(indata, self._no_output, status._flags)
        except BaseException:
            self._aborted = True
            raise

    def _output_only(self, outdata: np.ndarray, frames: int, time, status) -> None:
        try:
            self._callback(self._no_input, outdata, status._flags)
        except BaseException:
            self._aborted = True
            raise

    # -- AudioStream ----------------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self._stream.start()
        except self._sd.PortAudioError as exc:
            raise AudioDeviceError(f"{NAME}: cannot start {self._device.describe()}: {exc}") from exc
        self._started = True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._on_jack and self._started and self._jack_gone():
            # Pa_CloseStream would wait ten minutes for a JACK cycle that never comes: leave it.
            log.warning("%s: not closing %s: its JACK server has gone", NAME, self._device.name)
            return
        try:
            with portaudio_closing():
                self._stream.close(ignore_errors=True)
        except Exception as exc:  # noqa: BLE001 - close never raises; a dying device may fail any way
            log.warning("%s: closing %s failed: %s", NAME, self._device.name, exc)

    @property
    def active(self) -> bool:
        if self._closed:
            return False
        active = bool(self._stream.active)
        if not active and self._on_jack and self._started:
            self._jack_gone()
        return active

    @property
    def latency(self) -> tuple[float, float]:
        latency = self._stream.latency
        if isinstance(latency, tuple):
            return float(latency[0]), float(latency[1])
        return (float(latency), 0.0) if self._spec.inputs else (0.0, float(latency))

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
            gone = not self._stream.active and not self._stream.stopped
        except Exception:  # noqa: BLE001
            return False
        if gone:
            mark_portaudio_jack_lost(f"the JACK server went away under the stream on {self._device.name}")
        return gone


class SoundDeviceBackend:
    name = NAME

    def __init__(self) -> None:
        self._sd = load_sounddevice()

    def devices(self) -> list[DeviceInfo]:
        check_portaudio_usable(NAME)
        sd = self._sd
        hostapis = [api["name"] for api in sd.query_hostapis()]
        return [
            DeviceInfo(index=d["index"], name=d["name"], hostapi=hostapis[d["hostapi"]],
                       max_inputs=d["max_input_channels"], max_outputs=d["max_output_channels"],
                       default_samplerate=float(d["default_samplerate"]))
            for d in sd.query_devices()
        ]

    def open(self, spec: StreamSpec, callback: AudioCallback) -> SoundDeviceStream:
        devices = self.devices()
        sd = self._sd
        default = sd._lib.Pa_GetDefaultOutputDevice() if spec.outputs else sd._lib.Pa_GetDefaultInputDevice()
        device = resolve_device(NAME, devices, spec, default)
        return SoundDeviceStream(sd, spec, device, callback)

    def rescan(self) -> None:
        """Terminate and re-initialise PortAudio so it lists the devices (and the JACK server) as
        they are now. Every stream must be closed first. PortAudio counts initialisations (PyAudio's
        too, in the same process), so it is terminated until it says it is no longer initialised and
        initialised the same number of times again."""
        check_portaudio_can_reinitialise(NAME)
        sd = self._sd
        held = 0
        with quiet_stderr():
            while sd._lib.Pa_Terminate() != PA_NOT_INITIALIZED:
                held += 1
            try:
                for _ in range(max(held, 1)):
                    sd._check(sd._lib.Pa_Initialize(), "Error initializing PortAudio")
            except sd.PortAudioError as exc:
                raise AudioDeviceError(f"{NAME}: re-initialising PortAudio failed: {exc}") from exc
        if held == 0:  # nobody held PortAudio (sounddevice had terminated it): its exit handler must
            sd._initialized = 1  # terminate the one we started
