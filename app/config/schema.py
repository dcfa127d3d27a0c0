"""The position profile: one TOML file describing one dispatch position.

Every model forbids unknown keys, so a misspelt setting is an error instead of a silently ignored default.
Models are strict (no "48000" -> 48000, no "yes" -> True): a profile is typed by hand and a coerced
typo on something like `live` is worse than a clear error. Pure pydantic: no Qt, no I/O.
"""

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

CURRENT_SCHEMA_VERSION = 1

# Listed in the order error messages show them.
RADIO_KINDS = ("sim", "serial", "hamlib", "tone-remote")
INPUT_KINDS = ("sim", "serial-line", "midi", "evdev", "keyboard")
PHONE_KINDS = ("sim", "none")

# Always taken, even when the section is absent, so adding the link later never collides with a radio or input.
RESERVED_IDS = {"ali": "the ALI link", "phone": "the phone system"}

SAMPLERATES = (8000, 16000, 22050, 32000, 44100, 48000)

_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_UNIT_ID_RE = re.compile(r"^[0-9A-Fa-f]{4}$")


# --- reusable field types ------------------------------------------------------------------------


def _check_device_id(value: str) -> str:
    if not _ID_RE.fullmatch(value):
        raise ValueError(
            f"invalid id {value!r}: use 1-32 lower-case letters, digits, '-' or '_', starting with a letter or digit"
        )
    return value


def _check_unit_id(value: str) -> str:
    if not _UNIT_ID_RE.fullmatch(value):
        raise ValueError(f"invalid unit id {value!r}: expected 4 hex digits, e.g. '1A2F'")
    return value.upper()


def _list_to_tuple(value: Any) -> Any:
    # TOML has only arrays; strict mode would refuse a list where a tuple is declared.
    return tuple(value) if isinstance(value, list) else value


def _check_samplerate(value: int) -> int:
    if value not in SAMPLERATES:
        choices = ", ".join(str(rate) for rate in SAMPLERATES)
        raise ValueError(f"unsupported sample rate {value}: expected one of {choices}")
    return value


def _false_means_none(value: Any) -> Any:
    # TOML has no null; `false` is the natural way to switch an optional timer off.
    return None if value is False else value


DeviceId = Annotated[str, AfterValidator(_check_device_id)]
UnitId = Annotated[str, AfterValidator(_check_unit_id)]
NonEmptyStr = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
PositiveHz = Annotated[float, Field(gt=0)]
FloatPair = Annotated[tuple[float, float], BeforeValidator(_list_to_tuple)]
MidiNumber = Annotated[int, Field(ge=0, le=127)]
# Signaling decoders a radio's receive audio can run (app/dsp/signaling.py KINDS but TTY, which is the phone's).
DecoderKind = Literal["mdc1200", "dtmf", "qc2", "zvei1", "ccir", "eea", "eia"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# --- position, storage, audio --------------------------------------------------------------------


class Position(_Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    # The view shown first when the console starts.
    role: Literal["dispatcher", "calltaker", "technician"] = "dispatcher"
    site: str = ""


class Storage(_Strict):
    # "" means <user data dir>/<slug of position name>.sqlite3 (see app.config.paths.storage_path).
    path: str = ""


# Endpoint names with a fixed meaning in [audio.channels], and which side of the device each is on.
# Any other name is a radio's audio port, named by a radio's rx_input (input side) or tx_output (output side).
AUDIO_OUTPUT_ENDPOINTS = ("headset_left", "headset_right", "select_speaker", "unselect_speaker", "phone_tx")
AUDIO_INPUT_ENDPOINTS = ("headset_mic", "headset_mic2", "desk_mic", "phone_rx")


class Mix(_Strict):
    """How console state becomes what the operator hears (app/dsp/mixplan.py has the exact rules)."""

    # Unselected channels: "speaker" = the unselect speaker; "headset" = the headset, unselect_db quieter.
    unselect: Literal["speaker", "headset"] = "speaker"
    unselect_db: Annotated[float, Field(ge=-60, le=0)] = -9.0
    # Selected audio in one ear (select_ear), unselected in the other.
    split_ears: bool = False
    select_ear: Literal["left", "right"] = "left"
    # Radio audio in the headset drops this much while a phone call is up.
    duck_db: Annotated[float, Field(ge=-60, le=0)] = -12.0
    # The operator hears their own transmitted voice and tones this much quieter; false = no sidetone.
    sidetone_db: Annotated[
        Union[Annotated[float, Field(ge=-60, le=0)], None], BeforeValidator(_false_means_none)
    ] = -12.0
    select_speaker_with_headset: bool = False
    headset_db: Annotated[float, Field(ge=-60, le=12)] = 0.0
    select_speaker_db: Annotated[float, Field(ge=-60, le=12)] = 0.0
    unselect_speaker_db: Annotated[float, Field(ge=-60, le=12)] = 0.0
    # A patch keeps carrying a channel's audio this long after its carrier drops.
    patch_hang_s: Annotated[float, Field(ge=0, le=30)] = 2.0


class Audio(_Strict):
    backend: Literal["sounddevice", "pyaudio", "null"] = "null"
    # Name substring or index; "" is the system default.
    device: str = ""
    samplerate: Annotated[int, AfterValidator(_check_samplerate)] = 48000
    blocksize: Annotated[int, Field(ge=16, le=4096)] = 128
    latency: Union[Literal["low", "high"], float] = "low"
    # Logical endpoint (headset_left, desk_mic, ...) -> 1-based channel on the device's input or output side.
    channels: dict[str, Annotated[int, Field(ge=1, le=256)]] = Field(default_factory=dict)
    # The line alignment level (dBFS) of the 1004 Hz test tone; tone-remote and alert levels are relative to it.
    test_level_dbfs: Annotated[float, Field(ge=-40, le=-3)] = -10.0
    # Instant recall keeps this many minutes of each radio's receive audio in memory (0 = off).
    recall_minutes: Annotated[float, Field(ge=0, le=30)] = 10.0
    # When the sound system can only come back in a fresh process, the console restarts itself after
    # this many seconds (never during a call); 0 = only when the operator presses RESTART.
    restart_after_s: Annotated[float, Field(ge=0, le=600)] = 10.0
    # "separate": a real sound device runs in an audio process of its own, so the GUI can never make
    # the callback wait (and a sound server that died is reconnected without restarting the console);
    # "inline": on a thread of the console (diagnosis). The null device always runs inline.
    process: Literal["separate", "inline"] = "separate"
    # In the audio process: lock its memory and run the threads that share the callback's GIL just
    # below the callback's realtime priority, where the system allows it (hardware/audio/realtime.py).
    realtime: bool = True
    mix: Mix = Field(default_factory=Mix)

    @field_validator("device", mode="before")
    @classmethod
    def _index_as_text(cls, value: Any) -> Any:
        # `device = 3` is what people type for "device index 3"; keep it as text like the name form.
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        return value

    @field_validator("latency", mode="before")
    @classmethod
    def _latency_word_or_seconds(cls, value: Any) -> Any:
        if value in ("low", "high") and isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1:
            return float(value)
        raise ValueError(f"expected 'low', 'high' or seconds (0 < x <= 1), got {value!r}")


# --- radios --------------------------------------------------------------------------------------


class Vox(_Strict):
    """Software carrier for a radio with no COR line: its receive level opens and closes the channel."""

    enabled: bool = False
    threshold_dbfs: Annotated[float, Field(ge=-90, le=0)] = -40.0  # RMS of the rx_input
    attack_ms: Annotated[float, Field(ge=0, le=2000)] = 30.0  # above the threshold this long opens
    hang_ms: Annotated[float, Field(ge=0, le=10000)] = 800.0  # below it this long closes


class _RadioBase(_Strict):
    id: DeviceId
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=24)]
    # On the air: technician tests refuse to key it without confirmation.
    live: bool = False
    # The radio's audio on the sound device: [audio.channels] names ("" = none).
    rx_input: str = ""
    tx_output: str = ""
    # Starting volume (dB) and ear (-1 left .. +1 right) of this channel; the operator changes them live.
    volume_db: Annotated[float, Field(ge=-60, le=12)] = 0.0
    pan: Annotated[float, Field(ge=-1, le=1)] = 0.0
    # Keying: a talk-permit tone once the channel is up; the channel shows keyed this long after the
    # radio confirmed; refuse to key while it receives (a second press within the override window keys).
    talk_permit: bool = False
    key_up_delay_ms: Annotated[int, Field(ge=0, le=3000)] = 0
    busy_lockout: bool = False
    # Carrier from the receive audio (app/audio/vox.py); it replaces any carrier the driver reports.
    vox: Vox = Field(default_factory=Vox)
    # Signaling decoded live on the receive audio (app/audio/dsp_worker.py); needs an rx_input.
    decoders: list[DecoderKind] = Field(default_factory=list)

    @model_validator(mode="after")
    def _vox_hears_something(self) -> "_RadioBase":
        if self.vox.enabled and not self.rx_input:
            raise ValueError("vox.enabled needs an rx_input: the carrier comes from the receive audio")
        if self.decoders and not self.rx_input:
            raise ValueError("decoders need an rx_input: signaling is decoded from the receive audio")
        if len(set(self.decoders)) != len(self.decoders):
            raise ValueError(f"each decoder may be listed once, got {self.decoders}")
        return self


class SimRadio(_RadioBase):
    kind: Literal["sim"]
    bursts_per_minute: Annotated[float, Field(ge=0)] = 4.0
    burst_seconds: FloatPair = (1.5, 6.0)
    seed: int | None = None
    jitter_ms: Annotated[float, Field(ge=0)] = 3.0
    unit_ids: list[UnitId] = Field(default_factory=list)
    # A unit presses its emergency button at random this often (0 = never; the demo's technician can inject one).
    emergencies_per_hour: Annotated[float, Field(ge=0, le=3600)] = 0.0

    @field_validator("burst_seconds")
    @classmethod
    def _ordered_positive(cls, value: tuple[float, float]) -> tuple[float, float]:
        shortest, longest = value
        if not 0 < shortest <= longest:
            raise ValueError(f"expected [min, max] with 0 < min <= max, got [{shortest}, {longest}]")
        return value


class SerialRadio(_RadioBase):
    kind: Literal["serial"]
    url: NonEmptyStr  # pyserial URL or device path
    ptt_line: Literal["rts", "dtr"] = "rts"
    ptt_active_high: bool = True
    carrier_line: Literal["cts", "dsr", "cd", "ri", "none"] = "cts"
    carrier_active_high: bool = True
    debounce_ms: Annotated[float, Field(ge=0, le=1000)] = 20.0


class HamlibChannel(_Strict):
    name: NonEmptyStr
    freq_hz: Annotated[int, Field(gt=0)]
    mode: NonEmptyStr = "FM"


class HamlibRadio(_RadioBase):
    kind: Literal["hamlib"]
    host: NonEmptyStr = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 4532
    poll_ms: Annotated[int, Field(ge=20, le=10000)] = 200
    channels: list[HamlibChannel] = Field(default_factory=list)


class ToneRemoteRadio(_RadioBase):
    kind: Literal["tone-remote"]
    tx_output: NonEmptyStr  # an audio.channels key: the line to the base station
    function_hz: PositiveHz = 1950.0
    monitor_hz: PositiveHz = 2050.0
    guard_hz: PositiveHz = 2175.0
    functions: dict[str, PositiveHz] = Field(default_factory=dict)  # function name -> tone Hz


Radio = Annotated[Union[SimRadio, SerialRadio, HamlibRadio, ToneRemoteRadio], Field(discriminator="kind")]


# --- inputs (PTT sources and the like) -----------------------------------------------------------


# What an input's control does: a plain action, or "<verb>:<radio id>" (app/console/input_map.py acts on them).
INPUT_ACTIONS = ("ptt", "headset-ptt", "talk-back", "monitor", "jackbox", "alert1", "alert2", "alert3")
RADIO_ACTION_VERBS = ("select", "itx", "volume", "monitor", "alert1", "alert2", "alert3")
_ACTION_FORMS = ("ptt, headset-ptt, talk-back, jackbox, monitor[:<radio id>], select:<radio id>, "
                 "itx:<radio id> (instant transmit), volume:<radio id> (a MIDI fader), alert1|alert2|alert3[:<radio id>]")


def _check_action(value: str) -> str:
    verb, colon, radio = value.partition(":")
    if not colon and verb in INPUT_ACTIONS:
        return value
    if colon and verb in RADIO_ACTION_VERBS:
        if not _ID_RE.fullmatch(radio):
            raise ValueError(f"action {value!r}: {radio!r} is not a radio id")
        return value
    if not colon and verb in RADIO_ACTION_VERBS:
        raise ValueError(f"action {value!r} needs a radio: '{verb}:<radio id>'")
    raise ValueError(f"unknown action {value!r}: expected {_ACTION_FORMS}")


def action_radio(action: str) -> str:
    """The radio id an action names ("" for plain actions)."""
    return action.partition(":")[2]


def _check_evdev_key(value: str) -> str:
    from hardware.inputs.evdev_codes import key_code  # the kernel's key table (pure constants)

    key_code(value)
    return value.strip().upper()


InputAction = Annotated[str, AfterValidator(_check_action)]
EvdevKeyName = Annotated[str, AfterValidator(_check_evdev_key)]


class _InputBase(_Strict):
    id: DeviceId
    # What the input does (one of _ACTION_FORMS); MIDI surfaces and keypads with several controls give
    # each control its own action in a list instead (midi: bindings, evdev: keys).
    action: InputAction = "ptt"

    def bound_actions(self) -> list[tuple[str, str]]:
        """(field, action) for everything this input can do, for cross-checks and routing."""
        return [("action", self.action)]

    def _has_fader(self) -> bool:
        return False

    @model_validator(mode="after")
    def _volume_needs_a_fader(self) -> "_InputBase":
        if self.action.startswith("volume:") and not self._has_fader():
            raise ValueError(f"action {self.action!r} needs a fader: a MIDI 'cc' control")
        return self


class SimInput(_InputBase):
    kind: Literal["sim"]
    presses: list[FloatPair] = Field(default_factory=list)  # (start_s, hold_s)
    seed: int | None = None

    @field_validator("presses")
    @classmethod
    def _sane_presses(cls, value: list[tuple[float, float]]) -> list[tuple[float, float]]:
        for start_s, hold_s in value:
            if start_s < 0 or hold_s <= 0:
                raise ValueError(f"each press is [start_s >= 0, hold_s > 0], got [{start_s}, {hold_s}]")
        return value


class SerialLineInput(_InputBase):
    kind: Literal["serial-line"]
    url: NonEmptyStr
    line: Literal["cts", "dsr", "cd", "ri"] = "cts"
    active_high: bool = True
    debounce_ms: Annotated[float, Field(ge=0, le=1000)] = 10.0
    # A passive switch wired from RTS/DTR to the input line takes its power from them: hold both asserted.
    power: bool = False


class MidiBinding(_Strict):
    """One control of a MIDI surface: a note (pressed while on) or a CC (>= 64 pressed, or a fader)."""

    note: MidiNumber | None = None
    cc: MidiNumber | None = None
    channel: Annotated[int, Field(ge=1, le=16)] | None = None  # None = any channel
    action: InputAction
    # What the control's LED shows; "auto": selected for select:, transmit for ptt/itx:/talk-back/alerts,
    # receive for monitor.
    led: Literal["auto", "selected", "receive", "transmit", "none"] = "auto"

    @model_validator(mode="after")
    def _one_control(self) -> "MidiBinding":
        if (self.note is None) == (self.cc is None):
            raise ValueError("set exactly one of 'note' or 'cc'")
        if self.action.startswith("volume:") and self.cc is None:
            raise ValueError(f"action {self.action!r} needs a fader: use 'cc', not 'note'")
        return self

    def control_key(self) -> tuple[str, int, int | None]:
        return ("note", self.note, self.channel) if self.note is not None else ("cc", self.cc, self.channel)


class MidiInput(_InputBase):
    kind: Literal["midi"]
    port: NonEmptyStr  # substring of the MIDI port name (its output port of the same name drives LEDs)
    api: Literal["auto", "alsa", "jack", "coremidi", "winmm"] = "auto"  # rtmidi API; "auto" = the platform's
    # One control: note or cc (+ channel) with the input's action ...
    note: MidiNumber | None = None
    cc: MidiNumber | None = None
    channel: Annotated[int, Field(ge=1, le=16)] | None = None  # None = any channel
    # ... or a control surface: many controls, each with its own action.
    bindings: list[MidiBinding] = Field(default_factory=list)

    @model_validator(mode="after")
    def _note_xor_cc(self) -> "MidiInput":
        if self.bindings:
            mixed = [name for name in ("note", "cc", "channel", "action") if name in self.model_fields_set]
            if mixed:
                raise ValueError(f"with 'bindings', set {', '.join(repr(m) for m in mixed)} in each binding instead")
            seen: dict[tuple[str, int, int | None], int] = {}
            for j, binding in enumerate(self.bindings):
                key = binding.control_key()
                if key in seen:
                    raise ValueError(f"bindings[{j}] repeats bindings[{seen[key]}] ({key[0]} {key[1]})")
                seen[key] = j
        elif (self.note is None) == (self.cc is None):
            raise ValueError("set exactly one of 'note' or 'cc'")  # (or list controls in 'bindings')
        return self

    def _has_fader(self) -> bool:
        return self.cc is not None

    def all_bindings(self) -> list[MidiBinding]:
        """The bindings, the one-control form included."""
        if self.bindings:
            return list(self.bindings)
        return [MidiBinding(note=self.note, cc=self.cc, channel=self.channel, action=self.action)]

    def bound_actions(self) -> list[tuple[str, str]]:
        if self.bindings:
            return [(f"bindings[{j}].action", b.action) for j, b in enumerate(self.bindings)]
        return [("action", self.action)]


class EvdevKey(_Strict):
    key: EvdevKeyName  # e.g. "KEY_F13", "BTN_0" (hardware/inputs/evdev_codes.py) or the code as a number
    action: InputAction

    @field_validator("action")
    @classmethod
    def _no_fader(cls, value: str) -> str:
        if value.startswith("volume:"):
            raise ValueError(f"action {value!r} needs a fader: a MIDI 'cc' control")
        return value


class EvdevInput(_InputBase):
    kind: Literal["evdev"]
    device: NonEmptyStr  # /dev/input path or name substring
    key: EvdevKeyName = "KEY_F13"  # one key with the input's action ...
    keys: list[EvdevKey] = Field(default_factory=list)  # ... or several, each with its own action

    @model_validator(mode="after")
    def _key_or_keys(self) -> "EvdevInput":
        if self.keys:
            mixed = [name for name in ("key", "action") if name in self.model_fields_set]
            if mixed:
                raise ValueError(f"with 'keys', set {', '.join(repr(m) for m in mixed)} in each entry instead")
            seen: dict[str, int] = {}
            for j, entry in enumerate(self.keys):
                if entry.key in seen:
                    raise ValueError(f"keys[{j}] repeats keys[{seen[entry.key]}] ({entry.key})")
                seen[entry.key] = j
        return self

    def all_keys(self) -> list[EvdevKey]:
        return list(self.keys) if self.keys else [EvdevKey(key=self.key, action=self.action)]

    def bound_actions(self) -> list[tuple[str, str]]:
        if self.keys:
            return [(f"keys[{j}].action", k.action) for j, k in enumerate(self.keys)]
        return [("action", self.action)]


class KeyboardInput(_InputBase):
    kind: Literal["keyboard"]
    key: NonEmptyStr = "Space"  # Qt key name, e.g. "F12", "Space"


Input = Annotated[
    Union[SimInput, SerialLineInput, MidiInput, EvdevInput, KeyboardInput], Field(discriminator="kind")
]


# --- ALI link, phone system, lookup files --------------------------------------------------------


class Ali(_Strict):
    id: DeviceId = "ali"
    # pyserial URL / device path, "tcp-listen://HOST:PORT", or "sim://phone".
    url: NonEmptyStr
    baudrate: Annotated[int, Field(ge=50, le=921600)] = 9600
    bytesize: Annotated[int, Field(ge=5, le=8)] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: float = 1
    layout: NonEmptyStr = "raw"
    bcc: bool = True  # a block check byte follows ETX
    heartbeat_timeout_s: Annotated[float, Field(gt=0)] = 90.0
    # Reply ACK (0x06) to each good frame and NAK (0x15) to a bad block check, for CPE that expects it.
    ack: bool = False
    # The site's rebid request, sent to the CPE on the ALI port ("" = this site cannot rebid from here).
    # TOML escapes write control bytes, e.g. "\u0002RB\u0003".
    rebid_request: str = ""
    # This position's number in the spill header; spills for other positions are not attached to calls
    # here ("" = take every spill).
    position_id: str = ""

    @field_validator("rebid_request")
    @classmethod
    def _latin1(cls, value: str) -> str:
        try:
            value.encode("latin-1")
        except UnicodeEncodeError as err:
            raise ValueError(f"rebid_request must be single bytes (latin-1); {err.reason} at {err.start}") from None
        return value

    @field_validator("stopbits")
    @classmethod
    def _serial_stopbits(cls, value: float) -> float:
        if value not in (1, 1.5, 2):
            raise ValueError(f"expected 1, 1.5 or 2, got {value:g}")
        return value


class SimPhone(_Strict):
    id: DeviceId = "phone"
    kind: Literal["sim"]
    calls_per_minute: Annotated[float, Field(ge=0)] = 1.5
    abandon_after_s: Annotated[float, Field(gt=0)] = 40.0
    seed: int | None = None
    transport: Literal["memory", "pty"] = "memory"
    # `false` turns rebids off.
    rebid_after_s: Annotated[Annotated[float, Field(gt=0)] | None, BeforeValidator(_false_means_none)] = 12.0
    jitter_ms: Annotated[float, Field(ge=0)] = 5.0


class NoPhone(_Strict):
    id: DeviceId = "phone"
    kind: Literal["none"]


Phone = Annotated[Union[SimPhone, NoPhone], Field(discriminator="kind")]


class LookupFile(_Strict):
    # CSV path; "" = none. Relative paths are relative to the profile file's folder.
    file: str = ""


class Directory(LookupFile):
    # How the Dial action transfers: "copy" puts the number on the clipboard for the phone set;
    # "dtmf" dials it on the phone line through the audio engine.
    dial: Literal["copy", "dtmf"] = "copy"


_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _check_hhmm(value: str) -> str:
    if not _HHMM_RE.fullmatch(value):
        raise ValueError(f"invalid time {value!r}: expected HH:MM on a 24-hour clock, e.g. '07:00'")
    return value


class Calls(_Strict):
    # What tells the console a 9-1-1 line rings: the phone system's events ("phone"), a serial port's
    # modem line ("ri", see ring_url/ring_line), an ALI frame arriving when no call is ringing
    # ("frame"), or the call-taker's Ring button ("manual").
    ring_source: Literal["phone", "ri", "frame", "manual"] = "phone"
    ring_url: str = ""
    ring_line: Literal["RI", "CTS", "DSR", "CD"] = "RI"
    # Ask the CPE for a rebid every this many seconds while the location is wireless Phase I
    # (needs ali.rebid_request); `false` = only when the call-taker presses Rebid.
    auto_rebid_s: Annotated[Annotated[float, Field(ge=5)] | None, BeforeValidator(_false_means_none)] = None
    # Start times of the centre's shifts, for the statistics ("07:00" and "19:00" = two 12-hour shifts).
    shifts: list[Annotated[str, AfterValidator(_check_hhmm)]] = Field(default_factory=lambda: ["07:00", "19:00"])

    @field_validator("shifts")
    @classmethod
    def _shifts(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one shift start time is needed")
        if len(set(value)) != len(value):
            raise ValueError("shift start times must differ")
        return sorted(value)

    @model_validator(mode="after")
    def _ring_url_for_ri(self) -> "Calls":
        if self.ring_source == "ri" and not self.ring_url:
            raise ValueError("ring_source = \"ri\" needs ring_url: the serial port whose modem line rings")
        return self


# --- console keying rules -------------------------------------------------------------------------

PttClass = Literal["console", "headset", "footswitch", "desk"]


class Console(_Strict):
    """How PTT is arbitrated and timed (app/console/service.py has the rules)."""

    # PTT source classes, highest first: a higher class takes a channel over, a lower one is refused.
    ptt_priority: list[PttClass] = Field(default_factory=lambda: ["console", "headset", "footswitch", "desk"])
    # Input id -> class, for inputs whose action does not say it (action "ptt" is a footswitch,
    # "headset-ptt" the headset; on-screen buttons and the keyboard are "console").
    ptt_class: dict[DeviceId, PttClass] = Field(default_factory=dict)
    # Classes whose press toggles transmit (press to talk, press again to stop); same time-out timer.
    latching: list[PttClass] = Field(default_factory=list)
    # Transmit time-out timer and the warning before it fires.
    tot_s: Annotated[float, Field(ge=1, le=3600)] = 60.0
    tot_warning_s: Annotated[float, Field(ge=0, le=600)] = 10.0
    # A radio that has not confirmed a key in this time is marked failed to key and unkeyed.
    key_confirm_s: Annotated[float, Field(gt=0, le=30)] = 2.0
    # Busy-channel lockout: a second press this soon after a refusal keys anyway.
    lockout_override_s: Annotated[float, Field(ge=0, le=10)] = 1.0

    @field_validator("ptt_priority")
    @classmethod
    def _each_class_once(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError(f"each class may appear once, got {value}")
        return value

    @model_validator(mode="after")
    def _warning_before_time_out(self) -> "Console":
        if self.tot_warning_s >= self.tot_s:
            raise ValueError(f"tot_warning_s ({self.tot_warning_s:g}) must be less than tot_s ({self.tot_s:g})")
        return self


# --- signaling ------------------------------------------------------------------------------------


class Signaling(_Strict):
    """Live signaling: unit names, the MDC1200 emergency acknowledge, TTY on the phone line."""

    aliases: str = ""  # CSV of unit,name (relative to the profile); "" = unit IDs shown bare
    ack_emergency: bool = False  # acknowledging an MDC1200 emergency transmits the MDC1200 acknowledge
    phone_tty: bool = False  # decode TTY (Baudot) on phone_rx during a call (needs phone_rx)
    # A 5-tone sequence made of a unit's address followed by these digits is that unit's emergency
    # ("" = 5-tone never declares one), e.g. "9": "123459" is unit 12345's emergency.
    selcall_emergency: Annotated[str, StringConstraints(pattern=r"^[0-9A-F]{0,3}$")] = ""


# --- the profile ---------------------------------------------------------------------------------


class Profile(_Strict):
    schema_version: Annotated[int, Field(ge=1)] = CURRENT_SCHEMA_VERSION
    position: Position
    storage: Storage = Field(default_factory=Storage)
    audio: Audio = Field(default_factory=Audio)
    radios: list[Radio] = Field(default_factory=list)
    inputs: list[Input] = Field(default_factory=list)
    ali: Ali | None = None
    phone: Phone | None = None
    calls: Calls = Field(default_factory=Calls)
    directory: Directory = Field(default_factory=Directory)
    registry: LookupFile = Field(default_factory=LookupFile)
    console: Console = Field(default_factory=Console)
    signaling: Signaling = Field(default_factory=Signaling)

    # The file this profile was read from; set by app.config.load, None for profiles built in code.
    _source_path: Path | None = PrivateAttr(default=None)
    # What app.config.migrate did to read an older profile (empty for a current one).
    _migration_notes: tuple[str, ...] = PrivateAttr(default=())

    @property
    def migration_notes(self) -> tuple[str, ...]:
        return self._migration_notes

    @property
    def source_path(self) -> Path | None:
        return self._source_path

    @property
    def profile_dir(self) -> Path | None:
        return self._source_path.parent if self._source_path is not None else None

    def resolved_path(self, p: str) -> Path | None:
        """A path setting made usable: "" -> None, ~ expanded, relative -> against the profile's folder."""
        if not p:
            return None
        path = Path(p).expanduser()
        if path.is_absolute() or self.profile_dir is None:
            return path
        return self.profile_dir / path

    def device_ids(self) -> list[str]:
        """Every device id in the profile: radios, inputs, then the ALI link and phone system if present."""
        ids = [radio.id for radio in self.radios] + [source.id for source in self.inputs]
        if self.ali is not None:
            ids.append(self.ali.id)
        if self.phone is not None:
            ids.append(self.phone.id)
        return ids

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, value: int) -> int:
        if value > CURRENT_SCHEMA_VERSION:
            raise ValueError(
                f"profile is for a newer console (schema {value}); this version reads schema {CURRENT_SCHEMA_VERSION}"
            )
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> "Profile":
        problems = self._duplicate_id_problems() + self._audio_channel_problems() + self._input_action_problems()
        if self.signaling.phone_tty and "phone_rx" not in self.audio.channels:
            problems.append(("signaling.phone_tty", "TTY is decoded from the phone line: [audio.channels] needs phone_rx"))
        if problems:
            # One error carrying every problem: the loader reports each at its own field.
            summary = "; ".join(f"{field}: {message}" for field, message in problems)
            raise PydanticCustomError("profile_conflict", "{summary}", {"summary": summary, "problems": problems})
        return self

    def _input_action_problems(self) -> list[tuple[str, str]]:
        """Every radio an input's action names (select:fire, itx:fire...) is a radio of this profile."""
        radios = {radio.id for radio in self.radios}
        known = ", ".join(sorted(radios)) or "none defined"
        problems: list[tuple[str, str]] = []
        for i, source in enumerate(self.inputs):
            for where, action in source.bound_actions():
                radio = action_radio(action)
                if radio and radio not in radios:
                    problems.append((f"inputs[{i}].{where}",
                                     f"{action!r} names radio {radio!r}, which is not in [[radios]] (known: {known})"))
        return problems

    def _duplicate_id_problems(self) -> list[tuple[str, str]]:
        owners: dict[str, str] = {}  # id -> field that first used it
        places = [(f"radios[{i}].id", radio.id) for i, radio in enumerate(self.radios)]
        places += [(f"inputs[{i}].id", source.id) for i, source in enumerate(self.inputs)]
        problems: list[tuple[str, str]] = []
        for field, device_id in places:
            if device_id in RESERVED_IDS:
                problems.append((field, f"id {device_id!r} is reserved for {RESERVED_IDS[device_id]}; choose another"))
            elif device_id in owners:
                problems.append((field, f"duplicate id {device_id!r}: {owners[device_id]} and {field} both use it"))
            else:
                owners[device_id] = field
        for field, link in (("ali.id", self.ali), ("phone.id", self.phone)):
            if link is not None and link.id in owners:
                problems.append((field, f"duplicate id {link.id!r}: {owners[link.id]} and {field} both use it"))
            elif link is not None:
                owners[link.id] = field
        return problems

    def _audio_channel_problems(self) -> list[tuple[str, str]]:
        """Each [audio.channels] name is on one side of the device, used, and not sharing a channel number."""
        channels = self.audio.channels
        known = ", ".join(sorted(channels)) or "none defined"
        problems: list[tuple[str, str]] = []
        side = {name: "output" for name in channels if name in AUDIO_OUTPUT_ENDPOINTS}
        side.update({name: "input" for name in channels if name in AUDIO_INPUT_ENDPOINTS})
        users: dict[tuple[str, str], str] = {}  # (setting kind, name) -> radio field using it
        for i, radio in enumerate(self.radios):
            for setting, wanted in (("rx_input", "input"), ("tx_output", "output")):
                name = getattr(radio, setting)
                where = f"radios[{i}].{setting}"
                if not name:
                    continue
                if name not in channels:
                    problems.append((where, f"{name!r} is not in [audio.channels] (known: {known})"))
                    continue
                if side.setdefault(name, wanted) != wanted:
                    problems.append((where, f"{name!r} is an {side[name]} channel; {setting} needs an {wanted}"))
                    continue
                if (setting, name) in users:
                    problems.append((where, f"{name!r} is already {users[setting, name]}; each radio needs its own"))
                users[setting, name] = where
        typo = any("is not in [audio.channels]" in message for _, message in problems)
        for name in channels:
            if name not in side and not typo:  # after a misspelt reference, this would only repeat it
                fixed = ", ".join(AUDIO_OUTPUT_ENDPOINTS + AUDIO_INPUT_ENDPOINTS)
                problems.append((f"audio.channels.{name}",
                                 f"{name!r} is neither a known endpoint ({fixed}) nor a radio's rx_input/tx_output"))
        for wanted in ("input", "output"):
            taken: dict[int, str] = {}
            for name, number in channels.items():
                if side.get(name) != wanted:
                    continue
                if number in taken:
                    problems.append((f"audio.channels.{name}",
                                     f"{wanted} channel {number} is already {taken[number]!r}"))
                taken.setdefault(number, name)
        return problems
