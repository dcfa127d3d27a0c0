"""A radio behind Hamlib's ``rigctld``: PTT, channel (frequency + mode) and carrier over its TCP protocol.

Every command is sent in rigctld's Extended Response form with ``|`` as the separator, so each one is
answered by exactly one line that echoes the command and ends with ``RPRT n`` (0 = done, negative =
Hamlib's error code)::

    |T 1            ->  set_ptt: 1|RPRT 0
    |\\get_dcd       ->  get_dcd:|DCD: 0|RPRT 0

So every acknowledgement is read and checked; a keyed state is reported only after ``RPRT 0``.

The radio has its own thread (``RigctldRadio``). ``key`` and ``tune`` never block the caller: they
hand the request to that thread. The wanted PTT state is one value, not a queue, so an unkey overtakes
a key that was not sent yet, and it is served before any other queued command (a tune waiting behind
it sends ``T 0`` first). Carrier comes from polling ``get_dcd`` every ``poll_ms`` (``get_ptt`` when the
rig cannot tell DCD), which doubles as the check that rigctld still answers. A command not answered
within ``timeout_s`` drops the connection (its state is unknown) and reports the link DOWN naming
host:port and the command; the thread reconnects with backoff.

On every connect the radio's PTT is read first: a radio found keyed (a previous run died while
transmitting; rigctld keeps the rig keyed) is unkeyed before anything else, and that is logged and
reported in the LinkChanged UP detail.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hardware.events import CarrierChanged, EventSink, KeyStateChanged, LinkChanged, LinkState, now
from hardware.worker import DriverThread

log = logging.getLogger(__name__)

SEPARATOR = "|"
RPRT_OK = 0
RIG_ENIMPL = -4  # Hamlib: function not implemented
RIG_ENAVAIL = -11  # Hamlib: function not available
BACKOFF_S = (0.25, 5.0)  # first retry, longest wait between retries
MAX_LINE = 4096


class RigctldError(OSError):
    """rigctld did not answer a command (closed, refused, timed out, garbled): the link is unusable."""


@dataclass(frozen=True)
class Reply:
    """One Extended Response: the echoed command, ``key: value`` records and the RPRT code."""

    echo: str
    values: dict[str, str]
    code: int

    @property
    def ok(self) -> bool:
        return self.code == RPRT_OK


@dataclass(frozen=True)
class RigChannel:
    name: str
    freq_hz: int
    mode: str = "FM"
    passband_hz: int = 0  # 0 = the rig's normal passband for the mode


def parse_reply(line: str) -> Reply:
    """Parse one ``|``-separated Extended Response line; raises ValueError when it has no RPRT."""
    records = line.rstrip("\r\n").split(SEPARATOR)
    while records and records[-1] == "":
        records.pop()
    if not records or not records[-1].startswith("RPRT "):
        raise ValueError(f"no 'RPRT n' at the end of {line.strip()!r}")
    try:
        code = int(records[-1][5:].strip())
    except ValueError:
        raise ValueError(f"bad return code in {line.strip()!r}") from None
    values: dict[str, str] = {}
    for record in records[1:-1]:
        key, sep, value = record.partition(":")
        if sep:
            values[key.strip()] = value.strip()
    return Reply(records[0] if len(records) > 1 else "", values, code)


class RigctldClient:
    """One TCP connection to rigctld; ``command`` sends one line and returns its acknowledgement.

    Not thread-safe: only the radio's thread uses it.
    """

    def __init__(self, host: str, port: int, timeout_s: float = 1.0) -> None:
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self._sock: socket.socket | None = None
        self._buffer = b""

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def connect(self) -> None:
        self.close()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        except OSError as err:
            raise RigctldError(f"rigctld {self.address}: cannot connect: {err.strerror or err}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # one short line per command: send now
        self._sock = sock
        self._buffer = b""

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
            self._sock = None

    def command(self, text: str, timeout_s: float | None = None) -> Reply:
        """Send ``text`` (without the separator prefix) and read its one-line acknowledgement."""
        if self._sock is None:
            raise RigctldError(f"rigctld {self.address}: not connected (command {text!r})")
        deadline = time.monotonic() + (self.timeout_s if timeout_s is None else timeout_s)
        try:
            self._sock.sendall(f"{SEPARATOR}{text}\n".encode("ascii"))
            line = self._read_line(deadline, text)
        except RigctldError:
            self.close()
            raise
        except OSError as err:
            self.close()
            raise RigctldError(f"rigctld {self.address}: {err.strerror or err} (command {text!r})") from None
        try:
            return parse_reply(line)
        except ValueError as err:
            self.close()  # out of step with the server: start a clean connection
            raise RigctldError(f"rigctld {self.address}: {err} (command {text!r})") from None

    def _read_line(self, deadline: float, text: str) -> str:
        assert self._sock is not None
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RigctldError(
                    f"rigctld {self.address} did not answer {text!r} within {self.timeout_s:g} s")
            self._sock.settimeout(remaining)
            try:
                chunk = self._sock.recv(MAX_LINE)
            except socket.timeout:
                continue
            if not chunk:
                raise RigctldError(f"rigctld {self.address} closed the connection (command {text!r})")
            self._buffer += chunk
            if len(self._buffer) > MAX_LINE and b"\n" not in self._buffer:
                raise RigctldError(f"rigctld {self.address}: answer to {text!r} longer than {MAX_LINE} bytes")
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("ascii", errors="replace")


class RigctldRadio(DriverThread):
    """A transmitter/receiver behind rigctld. See the module docstring for the protocol and rules."""

    def __init__(
        self,
        device_id: str,
        sink: EventSink,
        *,
        host: str,
        port: int,
        poll_ms: int = 200,
        channels: Iterable[Sequence] = (),
        timeout_s: float = 1.0,
        backoff_s: tuple[float, float] = BACKOFF_S,
    ) -> None:
        super().__init__(device_id, sink)
        self.poll_s = poll_ms / 1000.0
        self.backoff_s = backoff_s
        self.channels: dict[str, RigChannel] = {}
        for entry in channels:
            channel = entry if isinstance(entry, RigChannel) else RigChannel(*entry)
            if channel.name in self.channels:
                raise ValueError(f"radio {device_id}: channel {channel.name!r} listed twice")
            self.channels[channel.name] = channel
        self._client = RigctldClient(host, port, timeout_s)
        self._lock = threading.Lock()
        self._want_keyed = False  # what the console last asked for
        self._keyed = False  # what rigctld last acknowledged (radio thread only)
        self._carrier = False
        self._dcd_supported = True
        self._tuned = ""
        self._link = LinkState.UNKNOWN

    @property
    def address(self) -> str:
        return self._client.address

    @property
    def keyed(self) -> bool:
        """The PTT state rigctld last acknowledged."""
        return self._keyed

    @property
    def tuned(self) -> str:
        """The channel rigctld last acknowledged both F and M for ("" when none)."""
        return self._tuned

    # -- what the console calls (any thread, never blocks) ------------------------------------
    def key(self, on: bool) -> None:
        with self._lock:
            self._want_keyed = on
        self.post(self._sync_ptt)

    def tune(self, channel_name: str) -> None:
        """Set the channel's frequency and mode; raises ValueError for a name not in the list."""
        channel = self.channels.get(channel_name)
        if channel is None:
            known = ", ".join(self.channels) or "none"
            raise ValueError(f"radio {self.device_id}: no channel {channel_name!r} (channels: {known})")
        self.post(self._tune, channel)

    # -- the radio's thread -----------------------------------------------------------------------
    def run_loop(self) -> None:
        wait_s = self.backoff_s[0]
        down_reason = ""
        while not self.stopping:
            try:
                self._connect()
            except RigctldError as err:
                reason = str(err)
                if reason != down_reason:
                    log.warning("%s: %s", self.device_id, reason)
                    self._set_link(LinkState.DOWN, reason)
                    down_reason = reason
                self._refuse_key(reason)
                self._serve_while_down(time.monotonic() + wait_s, reason)
                wait_s = min(wait_s * 2, self.backoff_s[1])
                continue
            wait_s = self.backoff_s[0]
            down_reason = ""
            try:
                self._serve()
            except RigctldError as err:
                down_reason = str(err)
                log.warning("%s: %s", self.device_id, down_reason)
                self._lost(down_reason)

    def on_exit(self) -> None:
        """Leave the transmitter unkeyed: ``T 0`` and wait (bounded) for its acknowledgement."""
        with self._lock:
            self._want_keyed = False
        if self._client.connected:
            try:
                reply = self._client.command("T 0")
                if not reply.ok:
                    log.error("%s: rigctld %s refused T 0 on stop (RPRT %d)", self.device_id, self.address, reply.code)
            except RigctldError as err:
                log.error("%s: could not unkey on stop: %s", self.device_id, err)
            self._client.close()
        elif self._keyed:
            log.error("%s: stopping while keyed and rigctld %s unreachable", self.device_id, self.address)
        if self._keyed:
            self._keyed = False
            self.emit(KeyStateChanged(self.device_id, False, now()))

    def _connect(self) -> None:
        self._client.connect()
        # A radio found keyed was left so by a run that died while transmitting: unkey it first.
        reply = self._client.command("t")
        found_keyed = reply.ok and reply.values.get("PTT", "0") not in ("0", "")
        detail = f"rigctld {self.address}"
        if found_keyed:
            unkey = self._client.command("T 0")
            if not unkey.ok:
                raise RigctldError(f"rigctld {self.address}: radio found keyed and T 0 refused (RPRT {unkey.code})")
            log.warning("%s: radio on rigctld %s was keyed at connect (PTT %s, left keyed by an earlier run); "
                        "unkeyed it", self.device_id, self.address, reply.values.get("PTT"))
            detail += "; found keyed at connect (left keyed earlier), unkeyed it"
        self._keyed = False
        self._dcd_supported = True
        self._set_link(LinkState.UP, detail)
        if found_keyed:
            self.emit(KeyStateChanged(self.device_id, False, now(), error=""))

    def _serve(self) -> None:
        next_poll = time.monotonic()
        while not self.stopping:
            self._sync_ptt()
            if time.monotonic() >= next_poll:
                self._poll()
                next_poll = time.monotonic() + self.poll_s
            self._wait_command(next_poll - time.monotonic())

    def _wait_command(self, timeout: float) -> None:
        """One queued command (or the poll time); a RigctldError from it ends the connection."""
        self.wait_command(max(0.0, timeout))

    def _serve_while_down(self, deadline: float, reason: str) -> None:
        while not self.stopping and time.monotonic() < deadline:
            self.wait_command(deadline - time.monotonic())
            self._refuse_key(reason)

    def _sync_ptt(self) -> None:
        """Make rigctld's PTT what the console last asked for; report only what it acknowledged."""
        if not self._client.connected:
            return
        with self._lock:
            want = self._want_keyed
        if want == self._keyed:
            return
        command = "T 1" if want else "T 0"
        reply = self._client.command(command)  # RigctldError: the caller drops the link
        if reply.ok:
            self._keyed = want
            self.emit(KeyStateChanged(self.device_id, want, now()))
            return
        error = f"rigctld {self.address} answered RPRT {reply.code} to {command!r}"
        log.warning("%s: %s", self.device_id, error)
        with self._lock:
            if self._want_keyed == want:
                self._want_keyed = self._keyed  # a refused request is dropped, not retried forever
        self.emit(KeyStateChanged(self.device_id, self._keyed, now(), error=error))

    def _tune(self, channel: RigChannel) -> None:
        if not self._client.connected:
            log.warning("%s: tune %r ignored: rigctld %s not connected", self.device_id, channel.name, self.address)
            return
        self._sync_ptt()  # a pending unkey goes first
        for command in (f"F {channel.freq_hz}", f"M {channel.mode} {channel.passband_hz}"):
            reply = self._client.command(command)
            if not reply.ok:
                log.error("%s: tune %r: rigctld %s answered RPRT %d to %r", self.device_id, channel.name,
                          self.address, reply.code, command)
                self._tuned = ""
                return
        self._tuned = channel.name
        log.info("%s: tuned to %s (%d Hz %s)", self.device_id, channel.name, channel.freq_hz, channel.mode)

    def _poll(self) -> None:
        if self._dcd_supported:
            reply = self._client.command("\\get_dcd")
            if reply.code in (RIG_ENIMPL, RIG_ENAVAIL):
                log.info("%s: rig has no DCD (RPRT %d); polling PTT to check the link", self.device_id, reply.code)
                self._dcd_supported = False
            elif reply.ok:
                active = reply.values.get("DCD", "0") not in ("0", "")
                if active != self._carrier:
                    self._carrier = active
                    self.emit(CarrierChanged(self.device_id, active, now()))
                return
        self._client.command("t")  # still answering?

    def _lost(self, reason: str) -> None:
        self._client.close()
        if self._carrier:
            self._carrier = False
            self.emit(CarrierChanged(self.device_id, False, now()))
        was_keyed = self._keyed
        self._keyed = False
        self._set_link(LinkState.DOWN, reason)
        if was_keyed:
            self.emit(KeyStateChanged(self.device_id, False, now(), error=reason))
        self._refuse_key(reason)

    def _refuse_key(self, reason: str) -> None:
        """A key request while the link is down fails at once with the reason; it is not kept for later."""
        with self._lock:
            refused = self._want_keyed
            self._want_keyed = False
        if refused:
            self.emit(KeyStateChanged(self.device_id, False, now(), error=f"not keyed: {reason}"))

    def _set_link(self, state: LinkState, detail: str) -> None:
        self._link = state
        self.emit(LinkChanged(self.device_id, state, detail, now()))
