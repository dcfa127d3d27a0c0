"""Sound devices: a PortAudio stream through sounddevice (default) or PyAudio, or a clock-driven
null device, all behind one small interface (``base``), and a supervisor that keeps the stream up.

Importing this package loads no device library; ``open_backend`` does, for the backend asked for.
"""

from hardware.audio.base import (
    INPUT_OVERFLOW,
    INPUT_UNDERFLOW,
    OUTPUT_OVERFLOW,
    OUTPUT_UNDERFLOW,
    PRIMING_OUTPUT,
    AudioBackend,
    AudioCallback,
    AudioDeviceError,
    AudioRestartRequired,
    AudioStream,
    DeviceInfo,
    StreamSpec,
    open_backend,
)

__all__ = [
    "INPUT_OVERFLOW", "INPUT_UNDERFLOW", "OUTPUT_OVERFLOW", "OUTPUT_UNDERFLOW", "PRIMING_OUTPUT",
    "AudioBackend", "AudioCallback", "AudioDeviceError", "AudioRestartRequired", "AudioStream", "DeviceInfo",
    "StreamSpec", "open_backend",
]
