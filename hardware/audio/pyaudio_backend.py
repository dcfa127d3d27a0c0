"""The optional audio backend: the same PortAudio callback stream through PyAudio.

PyAudio differs from sounddevice in three ways that matter here:
- it hands the callback the input as a new ``bytes`` object; it is copied into a preallocated
  float32 array so the engine gets the same writable (blocksize, inputs) array as with sounddevice;
- it accepts any object with the buffer protocol as the returned output, so the callback returns
  one preallocated ``(numpy array, paContinue)`` tuple and PyAudio copies from the array (a
  ``memoryview`` is refused with TypeError, a NumPy array is accepted);
- it does not let the caller choose the suggested latency: ``PyAudio.open`` always asks PortAudio
  for the device's default *low* latency, so ``spec.latency`` is ignored (logged once per stream
  when it asks for something else).
"""

from __future__ import annotations

import logging
from types import ModuleType
from typing import Any

import numpy as np

from hardware.audio.base import (
    AudioCallback,
    AudioDeviceError,
    DeviceInfo,
    StreamSpec,
    quiet_stderr,
)
from hardware.audio.portaudio_base import PortAudioBackendBase, PortAudioStreamBase

log = logging.getLogger(__name__)

NAME = "pyaudio"


def load_pyaudio() -> ModuleType:
    """Imported here, not at the top: PyAudio is optional and loads PortAudio."""
    import pyaudio

    return pyaudio


class PyAudioStream(PortAudioStreamBase):
    backend = NAME
    start_errors = state_errors = inactive_errors = (OSError,)

    def __init__(self, pyaudio: ModuleType, audio: Any, spec: StreamSpec, device: DeviceInfo,
                 callback: AudioCallback) -> None:
        super().__init__(spec, device, callback)
        # PyAudio opens one channel count for both directions: an asymmetric duplex stream is opened
        # with the larger count and the engine's arrays are copied to/from the used columns.
        width = max(spec.inputs, spec.outputs)
        self._in = np.zeros((spec.blocksize, spec.inputs), dtype=np.float32)
        self._out = np.zeros((spec.blocksize, spec.outputs), dtype=np.float32)
        wide_in = self._in if spec.inputs in (0, width) else np.zeros((spec.blocksize, width), dtype=np.float32)
        wide_out = self._out if spec.outputs in (0, width) else np.zeros((spec.blocksize, width), dtype=np.float32)
        # PyAudio's input bytes are copied in here (an output-only stream gets no input bytes).
        self._in_bytes = memoryview(wide_in).cast("B") if spec.inputs else None
        self._in_used = None if wide_in is self._in else wide_in[:, : spec.inputs]  # views made once
        self._out_used = None if wide_out is self._out else wide_out[:, : spec.outputs]
        self._continue = (wide_out if spec.outputs else None, pyaudio.paContinue)
        if spec.latency != "low":
            log.info("%s: latency %r cannot be set through PyAudio; PortAudio's default low latency is used",
                     NAME, spec.latency)
        try:
            self._stream = audio.open(
                rate=spec.samplerate, channels=width, format=pyaudio.paFloat32,
                input=spec.inputs > 0, output=spec.outputs > 0,
                input_device_index=device.index if spec.inputs else None,
                output_device_index=device.index if spec.outputs else None,
                frames_per_buffer=spec.blocksize, start=False, stream_callback=self._on_block,
            )
        except (OSError, ValueError) as exc:
            raise AudioDeviceError(f"{NAME}: cannot open {device.describe()} at {spec.samplerate} Hz, "
                                   f"{spec.blocksize} frames, {spec.inputs} in / {spec.outputs} out "
                                   f"(PyAudio opens {width} channel(s) each way): {exc}") from exc

    # -- PortAudio's callback thread ----------------------------------------------------------------
    def _on_block(self, in_data: bytes | None, frame_count: int, time_info: dict, status: int) -> tuple:
        try:
            if in_data is not None:
                self._in_bytes[:] = in_data
                if self._in_used is not None:
                    np.copyto(self._in, self._in_used)
            self._callback(self._in, self._out, status)
            if self._out_used is not None:
                np.copyto(self._out_used, self._out)
        except BaseException:
            self._aborted = True
            raise
        return self._continue

    # -- PortAudioStreamBase ---------------------------------------------------------------------------
    def _start_native(self) -> None:
        self._stream.start_stream()

    def _close_native(self) -> None:
        self._stream.close()

    def _native_active(self) -> bool:
        return self._stream.is_active()

    def _native_stopped(self) -> bool:
        return self._stream.is_stopped()

    @property
    def latency(self) -> tuple[float, float]:
        return (float(self._stream.get_input_latency()) if self._spec.inputs else 0.0,
                float(self._stream.get_output_latency()) if self._spec.outputs else 0.0)


class PyAudioBackend(PortAudioBackendBase):
    name = NAME

    def __init__(self) -> None:
        self._pyaudio = load_pyaudio()
        with quiet_stderr():
            self._audio = self._pyaudio.PyAudio()

    # -- PortAudioBackendBase --------------------------------------------------------------------------
    def _list_devices(self) -> list[DeviceInfo]:
        audio = self._audio
        hostapis = [audio.get_host_api_info_by_index(i)["name"] for i in range(audio.get_host_api_count())]
        devices = []
        for index in range(audio.get_device_count()):
            info = audio.get_device_info_by_index(index)
            devices.append(DeviceInfo(index=index, name=info["name"], hostapi=hostapis[info["hostApi"]],
                                      max_inputs=int(info["maxInputChannels"]),
                                      max_outputs=int(info["maxOutputChannels"]),
                                      default_samplerate=float(info["defaultSampleRate"])))
        return devices

    def _default_index(self, *, output: bool) -> int | None:
        try:
            info = self._audio.get_default_output_device_info() if output else self._audio.get_default_input_device_info()
        except OSError:
            return None
        return int(info["index"])

    def _open_stream(self, spec: StreamSpec, device: DeviceInfo, callback: AudioCallback) -> PyAudioStream:
        width = max(spec.inputs, spec.outputs)
        if spec.inputs and spec.outputs and (device.max_inputs < width or device.max_outputs < width):
            raise AudioDeviceError(f"{NAME}: device {device.describe()} cannot give {spec.inputs} in / "
                                   f"{spec.outputs} out: PyAudio opens {width} channels each way")
        return PyAudioStream(self._pyaudio, self._audio, spec, device, callback)

    def _reinitialise(self) -> None:
        """PortAudio counts initialisations (sounddevice's too, in the same process), so it is
        terminated until it answers "not initialised" and initialised the same number of times again."""
        library = self._pyaudio.pa
        held = 0
        while _initialised(library):
            library.terminate()
            held += 1
        try:
            for _ in range(max(held, 1)):
                library.initialize()
        except OSError as exc:
            raise AudioDeviceError(f"{NAME}: re-initialising PortAudio failed: {exc}") from exc


def _initialised(library) -> bool:
    try:
        library.get_host_api_count()
    except OSError:
        return False
    return True
