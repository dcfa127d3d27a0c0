"""The default audio backend: a PortAudio callback stream through python-sounddevice.

sounddevice already hands the callback NumPy views of PortAudio's buffers; the wrapper here only
turns the status flags into an int and passes the views on (no copy, no allocation of its own).
"""

from __future__ import annotations

from types import ModuleType

import numpy as np

from hardware.audio.base import AudioCallback, AudioDeviceError, DeviceInfo, StreamSpec
from hardware.audio.portaudio_base import PortAudioBackendBase, PortAudioStreamBase

NAME = "sounddevice"
PA_NOT_INITIALIZED = -10000  # paNotInitialized: Pa_Terminate's answer once every reference is gone


def load_sounddevice() -> ModuleType:
    """Imported here, not at the top: importing sounddevice loads and initialises PortAudio."""
    import sounddevice

    return sounddevice


class SoundDeviceStream(PortAudioStreamBase):
    backend = NAME
    state_errors = (Exception,)

    def __init__(self, sd: ModuleType, spec: StreamSpec, device: DeviceInfo, callback: AudioCallback) -> None:
        super().__init__(spec, device, callback)
        self.start_errors = (sd.PortAudioError,)
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

    # -- PortAudioStreamBase ---------------------------------------------------------------------------
    def _start_native(self) -> None:
        self._stream.start()

    def _close_native(self) -> None:
        self._stream.close(ignore_errors=True)

    def _native_active(self) -> bool:
        return self._stream.active

    def _native_stopped(self) -> bool:
        return self._stream.stopped

    @property
    def latency(self) -> tuple[float, float]:
        latency = self._stream.latency
        if isinstance(latency, tuple):
            return float(latency[0]), float(latency[1])
        return (float(latency), 0.0) if self._spec.inputs else (0.0, float(latency))


class SoundDeviceBackend(PortAudioBackendBase):
    name = NAME

    def __init__(self) -> None:
        self._sd = load_sounddevice()

    # -- PortAudioBackendBase --------------------------------------------------------------------------
    def _list_devices(self) -> list[DeviceInfo]:
        sd = self._sd
        hostapis = [api["name"] for api in sd.query_hostapis()]
        return [
            DeviceInfo(index=d["index"], name=d["name"], hostapi=hostapis[d["hostapi"]],
                       max_inputs=d["max_input_channels"], max_outputs=d["max_output_channels"],
                       default_samplerate=float(d["default_samplerate"]))
            for d in sd.query_devices()
        ]

    def _default_index(self, *, output: bool) -> int | None:
        lib = self._sd._lib
        return lib.Pa_GetDefaultOutputDevice() if output else lib.Pa_GetDefaultInputDevice()

    def _open_stream(self, spec: StreamSpec, device: DeviceInfo, callback: AudioCallback) -> SoundDeviceStream:
        return SoundDeviceStream(self._sd, spec, device, callback)

    def _reinitialise(self) -> None:
        """PortAudio counts initialisations (PyAudio's too, in the same process), so it is terminated
        until it says it is no longer initialised and initialised the same number of times again."""
        sd = self._sd
        held = 0
        while sd._lib.Pa_Terminate() != PA_NOT_INITIALIZED:
            held += 1
        try:
            for _ in range(max(held, 1)):
                sd._check(sd._lib.Pa_Initialize(), "Error initializing PortAudio")
        except sd.PortAudioError as exc:
            raise AudioDeviceError(f"{NAME}: re-initialising PortAudio failed: {exc}") from exc
        if held == 0:  # nobody held PortAudio (sounddevice had terminated it): its exit handler must
            sd._initialized = 1  # terminate the one we started
