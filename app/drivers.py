"""Builds hardware drivers from a position profile.

Each builder returns a ``Built`` record: the driver (or None with the reason it could not be made),
so a device the profile names but this machine cannot drive shows as FAULT with a clear reason
instead of stopping the console.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from hardware.events import EventSink


SIM_PHONE_URL = "sim://phone"
ALI_URL_FORMS = "a device path, COM3, socket://HOST:PORT, rfc2217://HOST:PORT or tcp-listen://HOST:PORT"


@dataclass
class Built:
    id: str
    label: str
    kind: str  # status kind: radio, input, ali, phone
    driver_kind: str  # the profile's kind
    driver: Any = None
    problem: str = ""  # why there is no driver
    stoppers: list[Callable[[], None]] = field(default_factory=list)  # extra clean-up (close a pty)


def _sim_signal_encoder(samplerate: int) -> Callable[[str, str], Any]:
    """What a simulated radio whose profile decodes MDC1200 puts in its audio: the unit's PTT ID or emergency."""

    def encode(what: str, unit: str) -> Any:
        from app.dsp.mdc1200 import encode_mdc1200
        from app.dsp.mdc1200_meaning import EMERGENCY, PTT_ID_PRE

        op, arg = EMERGENCY if what == "emergency" else PTT_ID_PRE
        return encode_mdc1200(op, arg, unit, samplerate=samplerate)

    return encode


def build_radio(cfg: Any, sink: EventSink, *, samplerate: int = 48000) -> Built:
    built = Built(cfg.id, cfg.name, "radio", cfg.kind)
    if cfg.kind == "sim":
        from hardware.sim.radio import SimulatedRadio

        built.driver = SimulatedRadio(
            cfg.id, sink,
            bursts_per_minute=cfg.bursts_per_minute,
            burst_seconds=tuple(cfg.burst_seconds),
            seed=cfg.seed,
            jitter_ms=cfg.jitter_ms,
            unit_ids=tuple(cfg.unit_ids),
            emergencies_per_hour=cfg.emergencies_per_hour,
            samplerate=samplerate,
            signal_encoder=_sim_signal_encoder(samplerate) if "mdc1200" in cfg.decoders else None,
        )
    elif cfg.kind == "hamlib":
        from hardware.radio.rigctld import RigctldRadio

        try:
            built.driver = RigctldRadio(
                cfg.id, sink, host=cfg.host, port=cfg.port, poll_ms=cfg.poll_ms,
                channels=[(c.name, c.freq_hz, c.mode) for c in cfg.channels],
            )
        except ValueError as err:  # a channel listed twice
            built.problem = str(err)
    elif cfg.kind == "tone-remote":
        built.problem = "a tone-remote radio keys through the sound device: built with the audio service"
    elif cfg.kind == "serial":
        from hardware.radio.serial_line import SerialLineRadio

        built.driver = SerialLineRadio(
            cfg.id, sink, url=cfg.url, ptt_line=cfg.ptt_line, ptt_active_high=cfg.ptt_active_high,
            carrier_line=cfg.carrier_line, carrier_active_high=cfg.carrier_active_high, debounce_ms=cfg.debounce_ms,
        )
    else:
        built.problem = f"no driver for radio kind '{cfg.kind}' in this version"
    return built


def attach_tone_remote(built: Built, cfg: Any, sink: EventSink, audio: Any) -> None:
    """Give a tone-remote radio (built by ``build_radio``) its driver, which keys through ``audio``
    (the position's AudioService, so it is made once that exists)."""
    from app.audio.tone_remote import ToneRemoteRadio

    try:
        built.driver = ToneRemoteRadio(cfg.id, sink, audio, function_hz=cfg.function_hz, monitor_hz=cfg.monitor_hz,
                                       guard_hz=cfg.guard_hz, functions=cfg.functions)
        built.problem = ""
    except ValueError as err:  # a function tone outside the voice band, a guard tone the engine cannot send
        built.problem = str(err)


def build_input(cfg: Any, sink: EventSink) -> Built:
    built = Built(cfg.id, cfg.id, "input", cfg.kind)
    if cfg.kind == "sim":
        from hardware.sim.footswitch import SimulatedFootswitch

        built.driver = SimulatedFootswitch(cfg.id, sink, presses=[tuple(p) for p in cfg.presses], seed=cfg.seed)
    elif cfg.kind == "midi":
        from hardware.inputs.midi import MidiInput, bindings_from

        controls = [(*b.control_key(), b.action.startswith("volume:")) for b in cfg.all_bindings()]
        built.driver = MidiInput(cfg.id, sink, port=cfg.port, bindings=bindings_from(controls), api=cfg.api)
    elif cfg.kind == "evdev":
        import sys

        if not sys.platform.startswith("linux"):
            built.problem = "evdev inputs need Linux; use a MIDI or serial-line footswitch here"
        else:
            from hardware.inputs.evdev import EvdevInput

            built.driver = EvdevInput(cfg.id, sink, device=cfg.device, keys=[k.key for k in cfg.all_keys()])
    elif cfg.kind == "keyboard":
        built.problem = ""  # the GUI is the device; nothing to drive
    elif cfg.kind == "serial-line":
        from hardware.inputs.serial_line import SerialLineInput

        built.driver = SerialLineInput(cfg.id, sink, url=cfg.url, line=cfg.line, active_high=cfg.active_high,
                                       debounce_ms=cfg.debounce_ms, power=cfg.power)
    else:
        built.problem = f"no driver for input kind '{cfg.kind}' in this version"
    return built


def build_phone_and_ali(profile: Any, sink: EventSink) -> tuple[Built | None, Built | None]:
    """The phone system (simulated or none) and the ALI line reader, which may read from it."""
    phone_cfg = getattr(profile, "phone", None)
    ali_cfg = getattr(profile, "ali", None)
    phone: Built | None = None
    link: Any = None
    if phone_cfg is not None and phone_cfg.kind == "sim":
        from hardware.sim.links import MemoryLink, PtyLink
        from hardware.sim.phone import DEFAULT_REBID_REQUEST, SimulatedPhoneSystem

        link = PtyLink() if phone_cfg.transport == "pty" else MemoryLink()
        phone = Built(phone_cfg.id, "Phone system (simulated)", "phone", "sim")
        phone.driver = SimulatedPhoneSystem(
            phone_cfg.id, sink, link,
            calls_per_minute=phone_cfg.calls_per_minute,
            abandon_after_s=phone_cfg.abandon_after_s,
            rebid_after_s=phone_cfg.rebid_after_s,
            jitter_ms=phone_cfg.jitter_ms,
            seed=phone_cfg.seed,
            with_bcc=ali_cfg.bcc if ali_cfg is not None else True,
            # The simulated CPE answers what this position's ALI settings make it send.
            expect_ack=ali_cfg.ack if ali_cfg is not None else False,
            rebid_request=(ali_cfg.rebid_request.encode("latin-1") if ali_cfg is not None and ali_cfg.rebid_request
                           else DEFAULT_REBID_REQUEST),
        )
        phone.stoppers.append(link.close)
    elif phone_cfg is not None and phone_cfg.kind != "none":
        phone = Built(phone_cfg.id, "Phone system", "phone", phone_cfg.kind,
                      problem=f"no driver for phone kind '{phone_cfg.kind}' in this version")

    if ali_cfg is None:
        return phone, None
    ali = Built(ali_cfg.id, "ALI link", "ali", "serial")
    from hardware.serial.reader import ByteStreamReader

    if ali_cfg.url == SIM_PHONE_URL:
        if link is None:
            ali.problem = f"{SIM_PHONE_URL} needs a [phone] with kind = \"sim\""
            return phone, ali
        if hasattr(link, "slave_path"):
            url = link.slave_path
            ali.driver = ByteStreamReader(ali_cfg.id, sink, _serial_opener(url, ali_cfg), describe=f"{url} (simulated)")
        else:
            ali.driver = ByteStreamReader(ali_cfg.id, sink, lambda: link.port, describe="simulated phone system")
    else:
        try:
            ali.driver = build_ali_reader(ali_cfg.id, ali_cfg.url, sink, ali_cfg)
        except ValueError as err:
            ali.problem = str(err)
    return phone, ali


def build_ali_reader(device_id: str, url: str, sink: EventSink, line: Any) -> Any:
    """The reader for an ALI ``url``: ``tcp-listen://HOST:PORT`` or any pyserial URL / device path.

    ``line`` has the serial settings (baudrate, bytesize, parity, stopbits; unused for tcp-listen).
    Both readers have ``send(data) -> bool``. Raises ValueError naming what is wrong with the URL.
    """
    if url.lower().startswith("tcp-listen:"):
        from hardware.net.tcp_listen import TcpListenReader

        return TcpListenReader(device_id, sink, url)
    from hardware.serial.reader import ByteStreamReader

    _check_serial_url(url)  # a mistyped scheme is a profile error, not a link to retry forever
    return ByteStreamReader(device_id, sink, _serial_opener(url, line), describe=url)


def _check_serial_url(url: str) -> None:
    """Raises ValueError when pyserial knows no handler for ``url``'s scheme (nothing is opened)."""
    try:
        import serial  # lazy: device library
    except ImportError:
        return  # opening the port will report it
    try:
        serial.serial_for_url(url, do_not_open=True)
    except ValueError as err:
        raise ValueError(f"ALI URL {url!r}: {err} (expected {ALI_URL_FORMS})") from None


def _serial_opener(url: str, ali_cfg: Any) -> Callable[[], Any]:
    from hardware.serial.ports import LineSettings, open_port

    settings = LineSettings(ali_cfg.baudrate, ali_cfg.bytesize, ali_cfg.parity, ali_cfg.stopbits)
    # Nothing keys on the ALI line; leave RTS/DTR as the port's driver sets them.
    return lambda: open_port(url, settings, rts=None, dtr=None)


RING_LINE_ID = "ring"


def build_ring_line(calls_cfg: Any, sink: EventSink) -> Built | None:
    """The serial port whose modem line rings (``[calls] ring_source = "ri"``); None for other ring sources."""
    if calls_cfg is None or calls_cfg.ring_source != "ri":
        return None
    from hardware.serial.ports import open_port
    from hardware.serial.ring_line import RingLineWatcher

    url, line = calls_cfg.ring_url, calls_cfg.ring_line
    built = Built(RING_LINE_ID, f"Ring line ({line})", "phone", "ri")
    # Ring input only: leave RTS/DTR as the port's driver sets them.
    built.driver = RingLineWatcher(RING_LINE_ID, sink, lambda: open_port(url, rts=None, dtr=None),
                                   line=line, trunk=line, describe=url)
    return built


AUDIO_ID = "audio"


def build_audio(audio_cfg: Any, n_in: int, n_out: int, callback: Callable[..., None], sink: EventSink,
                sim_inputs: Callable[[Any], None] | None = None) -> Built:
    """The sound device, run by a supervisor thread that restarts it; ``callback`` is Engine.process."""
    built = Built(AUDIO_ID, "Sound device", "audio", audio_cfg.backend)
    if n_in == 0 and n_out == 0:
        built.problem = "no [audio.channels] defined: nothing to play or record"
        return built
    from hardware.audio.base import AudioDeviceError, StreamSpec, open_backend
    from hardware.audio.supervisor import AudioSupervisor

    try:
        backend = open_backend(audio_cfg.backend, input_source=sim_inputs if audio_cfg.backend == "null" else None)
    except (AudioDeviceError, ImportError, OSError) as err:
        built.problem = f"{audio_cfg.backend}: {err}"
        return built
    spec = StreamSpec(device=audio_cfg.device, samplerate=audio_cfg.samplerate, blocksize=audio_cfg.blocksize,
                      latency=audio_cfg.latency, inputs=n_in, outputs=n_out)
    built.driver = _AudioDriver(AudioSupervisor(backend, spec, callback, sink, device_id=AUDIO_ID))
    return built


def build_audio_process(audio_cfg: Any, n_in: int, n_out: int, engine_settings: dict[str, Any],
                        sink: EventSink, clock_capacity: int = 0) -> tuple[Built, Any]:
    """The sound device in its own process (app/audio/process.py); also the shared-memory block the
    engine must use (None when there is no device to run)."""
    built = Built(AUDIO_ID, "Sound device", "audio", audio_cfg.backend)
    if n_in == 0 and n_out == 0:
        built.problem = "no [audio.channels] defined: nothing to play or record"
        return built, None
    from app.audio.buffers import SharedBuffers
    from app.audio.engine import Engine
    from app.audio.host import HostConfig
    from app.audio.process import AudioProcess
    from hardware.audio.base import StreamSpec

    spec = StreamSpec(device=audio_cfg.device, samplerate=audio_cfg.samplerate, blocksize=audio_cfg.blocksize,
                      latency=audio_cfg.latency, inputs=n_in, outputs=n_out)
    layout = Engine.layout_for(n_in, n_out, audio_cfg.samplerate, clock_capacity=clock_capacity, **engine_settings)
    try:
        shared = SharedBuffers.create(layout)
    except OSError as err:  # no /dev/shm, or too small for instant recall
        built.problem = f"cannot make shared memory for the audio process ({layout.offsets()[1]} bytes): {err}"
        return built, None
    config = HostConfig(audio_cfg.backend, spec, layout, shared.name, AUDIO_ID, dict(engine_settings),
                        realtime=audio_cfg.realtime)
    built.driver = AudioProcess(config, shared, sink)
    built.stoppers.append(shared.close)
    return built, shared


class _AudioDriver:
    """The supervisor with the start/stop shape every driver has."""

    def __init__(self, supervisor: Any) -> None:
        self.supervisor = supervisor

    def start(self) -> None:
        self.supervisor.start()

    def stop(self, timeout: float = 2.0) -> bool:
        self.supervisor.stop(timeout)
        return True

    def stream_info(self) -> tuple[str, tuple[float, float], int]:
        s = self.supervisor
        return s.device_name, s.latency, s.restarts

