"""What is plugged into this machine: serial ports, sound devices per audio backend, MIDI ports.

Each list is made fresh on every call, so calling again is how hot-plug is seen. The device libraries
(pyserial's list_ports, sounddevice/PyAudio, python-rtmidi) load on use; a library or sound system
that is missing is reported as a problem line, never raised, so the inventory always comes back.

Sound devices: PortAudio lists what it found when it was initialised. ``rescan_audio=True``
re-initialises it (``AudioBackend.rescan``) to see cards plugged in since, which is only safe in a
process with no stream open; the Technician view lists audio in a child process for that reason
(``python -m hardware.discovery`` prints this module's JSON).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

AUDIO_BACKENDS = ("sounddevice", "pyaudio")
MIDI_APIS = {"alsa": "API_LINUX_ALSA", "jack": "API_UNIX_JACK", "coremidi": "API_MACOSX_CORE",
             "winmm": "API_WINDOWS_MM"}
MIDI_CLIENT = "dispatch-console-inventory"


@dataclass(frozen=True, slots=True)
class SerialPortInfo:
    device: str  # what a profile's url names: /dev/ttyUSB0, COM3
    description: str = ""
    vid: int | None = None  # USB vendor id, None for a port that is not USB
    pid: int | None = None
    serial_number: str = ""
    manufacturer: str = ""
    product: str = ""
    location: str = ""  # USB bus path: tells two identical adapters apart
    hwid: str = ""

    @property
    def usb_id(self) -> str:
        """"0403:6001" for a USB adapter, "" otherwise."""
        if self.vid is None or self.pid is None:
            return ""
        return f"{self.vid:04x}:{self.pid:04x}"


@dataclass(frozen=True, slots=True)
class AudioDeviceInfo:
    backend: str  # sounddevice | pyaudio | null
    index: int
    name: str
    hostapi: str
    max_inputs: int
    max_outputs: int
    default_samplerate: float


@dataclass(frozen=True, slots=True)
class MidiPortInfo:
    api: str  # alsa | jack | coremidi | winmm
    direction: str  # "in" (a surface or footswitch sends) | "out" (we send, e.g. LEDs)
    index: int
    name: str


@dataclass(frozen=True, slots=True)
class Discovery:
    serial_ports: tuple[SerialPortInfo, ...] = ()
    audio_devices: tuple[AudioDeviceInfo, ...] = ()
    midi_ports: tuple[MidiPortInfo, ...] = ()
    problems: tuple[str, ...] = ()  # "midi jack: JACK server not running?": what could not be listed
    scanned_wall: float = 0.0

    def as_dict(self) -> dict:
        return {
            "serial_ports": [{**asdict(p), "usb_id": p.usb_id} for p in self.serial_ports],
            "audio_devices": [asdict(d) for d in self.audio_devices],
            "midi_ports": [asdict(m) for m in self.midi_ports],
            "problems": list(self.problems),
            "scanned_wall": self.scanned_wall,
        }


def list_serial_ports() -> tuple[list[SerialPortInfo], list[str]]:
    """Serial ports with their USB identity; (ports, problems)."""
    try:
        from serial.tools import list_ports
    except ImportError as err:
        return [], [f"serial: pyserial is not installed ({err})"]
    try:
        found = list_ports.comports()
    except Exception as err:  # noqa: BLE001 - a platform enumeration failure is reported, not raised
        return [], [f"serial: cannot list ports: {err}"]
    ports = [SerialPortInfo(
        device=str(p.device), description=_text(p.description), vid=p.vid, pid=p.pid,
        serial_number=_text(p.serial_number), manufacturer=_text(p.manufacturer), product=_text(p.product),
        location=_text(p.location), hwid=_text(p.hwid),
    ) for p in found]
    return sorted(ports, key=lambda p: p.device), []


def _text(value: object) -> str:
    return "" if value in (None, "n/a") else str(value)


def list_audio_devices(backends: Sequence[str] = AUDIO_BACKENDS, *,
                       rescan: bool = False) -> tuple[list[AudioDeviceInfo], list[str]]:
    """Every device each backend sees; (devices, problems)."""
    from hardware.audio.base import AudioDeviceError, open_backend, quiet_stderr

    devices: list[AudioDeviceInfo] = []
    problems: list[str] = []
    for name in backends:
        try:
            with quiet_stderr():  # PortAudio's ALSA probe prints dozens of lines on a machine without cards
                backend = open_backend(name)
                if rescan:
                    backend.rescan()
                listed = backend.devices()
        except (AudioDeviceError, ImportError, OSError) as err:
            problems.append(f"audio {name}: {err}")
            continue
        except Exception as err:  # noqa: BLE001 - a library failing in an unexpected way is a finding too
            problems.append(f"audio {name}: {type(err).__name__}: {err}")
            continue
        devices.extend(AudioDeviceInfo(name, d.index, d.name, d.hostapi, d.max_inputs, d.max_outputs,
                                       float(d.default_samplerate)) for d in listed)
        if not listed:
            problems.append(f"audio {name}: no devices")
    return devices, problems


def midi_apis_here() -> list[str]:
    """The MIDI APIs to look at on this platform (the ones python-rtmidi may have been built with)."""
    if sys.platform.startswith("linux"):
        return ["alsa", "jack"]
    if sys.platform == "darwin":
        return ["coremidi", "jack"]
    if sys.platform == "win32":
        return ["winmm"]
    return ["jack"]


def list_midi_ports(apis: Sequence[str] | None = None) -> tuple[list[MidiPortInfo], list[str]]:
    """MIDI input and output ports per API; (ports, problems). No ports are opened."""
    try:
        import rtmidi
    except ImportError as err:
        return [], [f"midi: python-rtmidi is not installed ({err})"]
    from hardware.audio.base import quiet_stderr

    compiled = set(rtmidi.get_compiled_api())
    ports: list[MidiPortInfo] = []
    problems: list[str] = []
    for api_name in apis if apis is not None else midi_apis_here():
        api = getattr(rtmidi, MIDI_APIS.get(api_name, ""), None)
        if api is None or api not in compiled:
            problems.append(f"midi {api_name}: this python-rtmidi was built without it")
            continue
        for direction, kind in (("in", rtmidi.MidiIn), ("out", rtmidi.MidiOut)):
            client = None
            try:
                with quiet_stderr():  # ALSA and JACK print their own complaints before raising
                    client = kind(api, MIDI_CLIENT)
                    names = client.get_ports()
            except Exception as err:  # noqa: BLE001 - rtmidi raises its own SystemError subclasses
                problems.append(f"midi {api_name} {direction}: {err}")
                break  # the other direction would fail the same way
            finally:
                if client is not None:
                    try:
                        client.delete()
                    except Exception:  # noqa: BLE001, S110 - a client that never opened
                        pass
            ports.extend(MidiPortInfo(api_name, direction, i, str(n)) for i, n in enumerate(names))
    return ports, problems


def discover(*, audio_backends: Sequence[str] = AUDIO_BACKENDS, rescan_audio: bool = False,
             midi_apis: Sequence[str] | None = None, audio: bool = True) -> Discovery:
    """One inventory scan of everything; ``audio=False`` skips the sound devices."""
    serial_ports, problems = list_serial_ports()
    audio_devices: list[AudioDeviceInfo] = []
    if audio:
        audio_devices, audio_problems = list_audio_devices(audio_backends, rescan=rescan_audio)
        problems += audio_problems
    midi_ports, midi_problems = list_midi_ports(midi_apis)
    return Discovery(tuple(serial_ports), tuple(audio_devices), tuple(midi_ports),
                     tuple(problems + midi_problems), time.time())


def discovery_from_dict(data: dict) -> Discovery:
    """The inverse of ``Discovery.as_dict`` (what a child process printed)."""
    return Discovery(
        tuple(SerialPortInfo(**{k: v for k, v in p.items() if k != "usb_id"}) for p in data.get("serial_ports", ())),
        tuple(AudioDeviceInfo(**d) for d in data.get("audio_devices", ())),
        tuple(MidiPortInfo(**m) for m in data.get("midi_ports", ())),
        tuple(data.get("problems", ())),
        float(data.get("scanned_wall", 0.0)),
    )


if __name__ == "__main__":  # a fresh process: PortAudio lists the devices as they are now
    print(json.dumps(discover().as_dict()))
