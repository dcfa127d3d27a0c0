"""The ALI link against real peers: a pseudo-terminal, socket:// to a server the test runs, tcp-listen://
with real client sockets, and the simulated phone system answering what the console sends back.

Waiting is on the driver's own events (a condition variable), never on sleeps.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from typing import Callable

import pytest

from app.ali.framing import Frame, Framer, Garbage
from hardware.events import BytesReceived, DeviceEvent, LinkChanged, LinkState
from hardware.net.tcp_listen import ListenUrlError, TcpListenReader, parse_listen_url
from hardware.serial.ports import LineSettings, open_port
from hardware.serial.reader import ByteStreamReader
from hardware.sim.links import MemoryLink, PtyLink
from hardware.sim.phone import SimulatedPhoneSystem
from hardware.sim.spills import DEMO_RECORDS, format_30w, frame

WAIT_S = 5.0
WPH1 = next(i for i, r in enumerate(DEMO_RECORDS) if r.cos == "WPH1")
RESD = next(i for i, r in enumerate(DEMO_RECORDS) if r.cos == "RESD")


class Recorder:
    """An event sink that keeps every event and lets a test wait for a condition on them."""

    def __init__(self) -> None:
        self.events: list[DeviceEvent] = []
        self._cond = threading.Condition()

    def __call__(self, event: DeviceEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[], object], what: str, timeout: float = WAIT_S):
        """Until ``predicate()`` holds: woken by each event, and every 20 ms for state that changes
        without one (a counter in the simulator)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                if time.monotonic() > deadline:
                    pytest.fail(f"timed out waiting for {what}; events: {self.events[-8:]}")
                self._cond.wait(0.02)

    @property
    def data(self) -> bytes:
        with self._cond:
            return b"".join(e.data for e in self.events if isinstance(e, BytesReceived))

    def links(self) -> list[LinkChanged]:
        with self._cond:
            return [e for e in self.events if isinstance(e, LinkChanged)]

    def count_links(self, state: LinkState) -> int:
        return sum(1 for e in self.links() if e.state is state)

    def state(self) -> LinkState | None:
        links = self.links()
        return links[-1].state if links else None


def framer_view(events: list[DeviceEvent]) -> tuple[list[bytes], list[Garbage]]:
    """What the console's framer makes of the events: bytes fed in order, flushed when the link goes down."""
    framer, frames, garbage = Framer(bcc=True), [], []
    for ev in events:
        items = framer.feed(ev.data) if isinstance(ev, BytesReceived) else \
            framer.flush() if isinstance(ev, LinkChanged) and ev.state is LinkState.DOWN else []
        for item in items:
            (frames.append(item.raw) if isinstance(item, Frame) else garbage.append(item))
    return frames, garbage


def spill(index: int = RESD) -> bytes:
    return frame(format_30w(DEMO_RECORDS[index], "2001"))


def same_record(a: bytes, b: bytes) -> bool:
    """Two spills of one record: equal but for the time stamp (a minute may turn between them) and so the check byte."""
    def strip(raw: bytes) -> bytes:
        return re.sub(rb"\d\d/\d\d \d\d:\d\d", b"", raw[:-1])
    return strip(a) == strip(b)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def drivers():
    started = []
    yield started.append
    for driver in started:
        assert driver.stop(), f"{driver.device_id} did not stop"


class Server:
    """A TCP server playing a serial-over-IP box: the console connects to it with socket://."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(WAIT_S)
        self.url = f"socket://127.0.0.1:{self.listener.getsockname()[1]}"
        self.conn: socket.socket | None = None

    def accept(self) -> socket.socket:
        self.conn, _ = self.listener.accept()
        self.conn.settimeout(WAIT_S)
        return self.conn

    def recv_exactly(self, size: int) -> bytes:
        got = b""
        while len(got) < size:
            piece = self.conn.recv(size - len(got))
            if not piece:
                break
            got += piece
        return got

    def close(self) -> None:
        for sock in (self.conn, self.listener):
            if sock is not None:
                sock.close()


@pytest.fixture
def server():
    srv = Server()
    yield srv
    srv.close()


def socket_reader(url: str, sink, **kwargs) -> ByteStreamReader:
    return ByteStreamReader("ali", sink, lambda: open_port(url, LineSettings(), rts=None, dtr=None),
                            describe=url, backoff_s=(0.05, 0.2), **kwargs)


# -- ByteStreamReader over a real pseudo-terminal -----------------------------------------------

def test_pty_bytes_arrive_in_order_and_send_reaches_the_other_end(recorder, drivers):
    link = PtyLink()
    try:
        reader = ByteStreamReader("ali", recorder,
                                  lambda: open_port(link.slave_path, LineSettings(), rts=None, dtr=None))
        drivers(reader)
        reader.start()
        recorder.wait_for(lambda: recorder.state() is LinkState.UP, "the pty to open")
        sent = b"".join(bytes([n % 251]) * (n % 7 + 1) for n in range(3000))  # every byte value but 251..255
        for start in range(0, len(sent), 997):
            link.write(sent[start:start + 997])
        recorder.wait_for(lambda: len(recorder.data) >= len(sent), "every byte")
        assert recorder.data == sent

        assert reader.send(b"\x06\x02RB\x03") is True
        got = b""
        deadline = time.monotonic() + WAIT_S
        while len(got) < 5 and time.monotonic() < deadline:
            got += link.receive(16, 0.5)
        assert got == b"\x06\x02RB\x03"
    finally:
        link.close()


def test_send_on_a_link_that_is_down_is_false_not_an_exception(recorder, drivers):
    reader = ByteStreamReader("ali", recorder, lambda: open_port("/nonexistent/tty-ali", LineSettings()),
                              backoff_s=(0.05, 0.1))
    assert reader.send(b"\x06") is False  # not started
    drivers(reader)
    reader.start()
    recorder.wait_for(lambda: recorder.count_links(LinkState.DOWN) >= 2, "two failed opens")
    assert "cannot open" in recorder.links()[0].detail and reader.send(b"\x06") is False
    assert reader.thread.is_alive()


# -- ByteStreamReader over socket:// --------------------------------------------------------------

def test_socket_peer_close_goes_down_then_reconnects_and_send_reaches_the_peer(recorder, drivers, server):
    reader = socket_reader(server.url, recorder)
    drivers(reader)
    reader.start()
    conn = server.accept()
    recorder.wait_for(lambda: recorder.state() is LinkState.UP, "connected")
    conn.sendall(spill())
    recorder.wait_for(lambda: recorder.data == spill(), "the spill")

    assert reader.send(b"\x06") is True
    assert server.recv_exactly(1) == b"\x06"

    conn.close()  # the terminal server drops the connection
    recorder.wait_for(lambda: recorder.state() is LinkState.DOWN, "down after the peer closed")
    assert "read failed" in recorder.links()[-1].detail
    conn = server.accept()  # the reader reconnects by itself
    recorder.wait_for(lambda: recorder.count_links(LinkState.UP) == 2, "up again")
    conn.sendall(b"\x02H\x03\x4b")
    recorder.wait_for(lambda: recorder.data.endswith(b"\x02H\x03\x4b"), "the heartbeat after reconnect")
    assert reader.send(b"\x15") is True and server.recv_exactly(1) == b"\x15"


def test_cable_pulled_mid_frame_loses_only_that_frame(recorder, drivers, server):
    reader = socket_reader(server.url, recorder)
    drivers(reader)
    reader.start()
    conn = server.accept()
    # pyserial discards what arrived before its open() finished (reset_input_buffer): send once UP.
    recorder.wait_for(lambda: recorder.state() is LinkState.UP, "connected")
    whole, cut, after = spill(RESD), spill(WPH1), spill(RESD + 1)
    conn.sendall(whole + cut[:len(cut) // 2])
    recorder.wait_for(lambda: len(recorder.data) == len(whole) + len(cut) // 2, "a frame and a half")
    conn.close()
    recorder.wait_for(lambda: recorder.state() is LinkState.DOWN, "down mid-frame")
    conn = server.accept()
    recorder.wait_for(lambda: recorder.count_links(LinkState.UP) == 2, "reconnected")
    conn.sendall(after)
    recorder.wait_for(lambda: recorder.data.endswith(after), "the frame after the cut")

    frames, garbage = framer_view(recorder.events)
    assert frames == [whole, after]
    assert len(garbage) == 1 and garbage[0].data == cut[:len(cut) // 2] and "mid-frame" in garbage[0].reason


def test_send_to_a_peer_that_never_reads_returns_within_the_write_timeout(recorder, drivers, server):
    reader = socket_reader(server.url, recorder, write_timeout_s=0.3)
    drivers(reader)
    reader.start()
    conn = server.accept()
    recorder.wait_for(lambda: recorder.state() is LinkState.UP, "connected")
    block = b"\x06" * (1 << 20)
    for _ in range(64):  # far more than the socket buffers hold
        started = time.monotonic()
        sent = reader.send(block)
        took = time.monotonic() - started
        if not sent:
            break
    assert not sent, "the peer never reads, so a write must time out"
    assert took < 0.3 + 0.5  # the caller waited about one write time-out, not for ever
    # The timed-out write did not stop the reader: bytes from the peer still arrive.
    conn.sendall(b"\x02H\x03\x4b")
    recorder.wait_for(lambda: recorder.data == b"\x02H\x03\x4b", "a heartbeat after the timed-out write")
    assert reader.thread.is_alive() and recorder.state() is LinkState.UP


def test_send_from_many_threads_does_not_interleave_writes(recorder, drivers, server):
    reader = socket_reader(server.url, recorder)
    drivers(reader)
    reader.start()
    server.accept()
    recorder.wait_for(lambda: recorder.state() is LinkState.UP, "connected")
    messages = [bytes([0x02]) + f"RB{n:03d}".encode() + bytes([0x03]) for n in range(40)]
    threads = [threading.Thread(target=reader.send, args=(m,)) for m in messages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    got = server.recv_exactly(sum(map(len, messages)))
    assert sorted(got[i:i + 7] for i in range(0, len(got), 7)) == sorted(messages)


# -- TcpListenReader with real client sockets -------------------------------------------------------

@pytest.mark.parametrize("url, message", [
    ("tcp-listen://0.0.0.0", "the :PORT is missing"),
    ("tcp-listen://:5001", "the HOST is missing"),
    ("tcp-listen://host:50x1", "is not a number"),
    ("tcp-listen://host:70000", "is not a number"),
    ("tcp-listen://::1:5001", "IPv6 address goes in brackets"),
    ("tcp-listen://[zz]:5001", "is not an IPv6 address"),
    ("tcp-listen://host:5001/path", "only HOST:PORT"),
    ("tcp-listen://bad_host!:5001", "not a host name"),
    ("socket://host:5001", "not a tcp-listen:// URL"),
])
def test_listen_url_errors_say_what_is_wrong(url, message):
    with pytest.raises(ListenUrlError, match=message) as err:
        parse_listen_url(url)
    assert repr(url) in str(err.value)


def test_listen_url_forms():
    assert str(parse_listen_url("tcp-listen://0.0.0.0:5001")) == "0.0.0.0:5001"
    assert str(parse_listen_url("tcp-listen://[::1]:5001")) == "[::1]:5001"
    assert parse_listen_url("TCP-LISTEN://cpe-gw.example:5001").host == "cpe-gw.example"


def listen(recorder, drivers, **kwargs) -> tuple[TcpListenReader, int]:
    reader = TcpListenReader("ali", recorder, "tcp-listen://127.0.0.1:0", backoff_s=(0.05, 0.2), **kwargs)
    drivers(reader)
    reader.start()
    recorder.wait_for(lambda: any("no connection" in e.detail for e in recorder.links()), "listening")
    return reader, reader.bound_port


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT_S)


def test_listen_connect_data_disconnect_reconnect(recorder, drivers):
    reader, port = listen(recorder, drivers)
    first = recorder.links()[0]
    assert first.state is LinkState.DOWN and first.detail == f"listening on 127.0.0.1:{port}, no connection"
    assert reader.send(b"\x06") is False  # nobody connected

    client = connect(port)
    recorder.wait_for(lambda: recorder.state() is LinkState.UP, "a connection")
    assert f"connected from 127.0.0.1:{client.getsockname()[1]}" in recorder.links()[-1].detail
    client.sendall(spill()[:40])
    client.sendall(spill()[40:])
    recorder.wait_for(lambda: recorder.data == spill(), "the spill")
    assert reader.send(b"\x06\x02RB\x03") is True
    assert client.recv(16) == b"\x06\x02RB\x03"

    client.close()
    recorder.wait_for(lambda: recorder.state() is LinkState.DOWN, "down after the peer closed")
    assert "closed the connection" in recorder.links()[-1].detail and "no connection" in recorder.links()[-1].detail

    again = connect(port)
    recorder.wait_for(lambda: recorder.count_links(LinkState.UP) == 2, "the next connection")
    again.sendall(b"\x02H\x03\x4b")
    recorder.wait_for(lambda: recorder.data.endswith(b"\x02H\x03\x4b"), "data on the next connection")
    again.close()


def test_listen_new_connection_replaces_a_half_open_one(recorder, drivers):
    reader, port = listen(recorder, drivers)
    old = connect(port)
    recorder.wait_for(lambda: recorder.state() is LinkState.UP, "the first connection")
    old.sendall(b"\x02H\x03\x4b")
    recorder.wait_for(lambda: recorder.data == b"\x02H\x03\x4b", "data on the first connection")

    new = connect(port)  # the CPE came back after a glitch; the old socket was never closed
    recorder.wait_for(lambda: recorder.count_links(LinkState.UP) == 2, "the replacing connection")
    assert "replaces the connection from 127.0.0.1:" in recorder.links()[-1].detail
    assert recorder.count_links(LinkState.DOWN) == 1  # replaced, not dropped: the link stayed up
    assert old.recv(16) == b""  # the old connection was closed by the console

    new.sendall(spill())
    recorder.wait_for(lambda: recorder.data == b"\x02H\x03\x4b" + spill(), "data on the new connection")
    assert reader.send(b"\x06") is True and new.recv(1) == b"\x06"
    old.close()
    new.close()


def test_listen_port_in_use_is_down_with_the_reason_then_retried(recorder, drivers):
    squatter = socket.create_server(("127.0.0.1", 0))
    port = squatter.getsockname()[1]
    reader = TcpListenReader("ali", recorder, f"tcp-listen://127.0.0.1:{port}", backoff_s=(0.05, 0.1))
    drivers(reader)
    reader.start()
    recorder.wait_for(lambda: recorder.count_links(LinkState.DOWN) >= 2, "retries")
    assert all(f"cannot listen on 127.0.0.1:{port}" in e.detail for e in recorder.links())
    squatter.close()
    recorder.wait_for(lambda: "no connection" in recorder.links()[-1].detail, "listening once the port is free")
    client = connect(port)
    recorder.wait_for(lambda: recorder.state() is LinkState.UP, "a connection")
    client.close()


def test_listen_stop_is_prompt_with_a_peer_connected(recorder):
    reader = TcpListenReader("ali", recorder, "tcp-listen://127.0.0.1:0")
    reader.start()
    recorder.wait_for(lambda: reader.bound_port is not None and recorder.links(), "listening")
    client = connect(reader.bound_port)
    recorder.wait_for(lambda: recorder.state() is LinkState.UP, "a connection")
    started = time.monotonic()
    assert reader.stop(timeout=2.0)
    assert time.monotonic() - started < 1.5  # well before the 2 s timeout
    assert client.recv(16) == b""  # the console closed its end
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", reader.bound_port), timeout=1.0)
    client.close()


# -- the simulated phone system hears the console -------------------------------------------------------

def phone_and_reader(recorder, drivers, link, **phone_kwargs) -> tuple[SimulatedPhoneSystem, ByteStreamReader]:
    phone = SimulatedPhoneSystem("phone", recorder, link, calls_per_minute=0, heartbeat_s=0, rebid_after_s=None,
                                 seed=5, **phone_kwargs)
    def opener():
        if isinstance(link, PtyLink):
            return open_port(link.slave_path, LineSettings(), rts=None, dtr=None)
        return link.port

    reader = ByteStreamReader("ali", recorder, opener)
    for driver in (reader, phone):
        drivers(driver)
        driver.start()
    recorder.wait_for(lambda: recorder.count_links(LinkState.UP) == 2, "phone and reader up")
    return phone, reader


def frames_received(recorder) -> list[bytes]:
    return framer_view(recorder.events)[0]


def answer(phone: SimulatedPhoneSystem, recorder, record_index: int) -> bytes:
    phone.ring(record_index)
    phone.answer()
    recorder.wait_for(lambda: len(frames_received(recorder)) == 1, "the spill after answer")
    return frames_received(recorder)[0]


@pytest.mark.parametrize("transport", ["memory", "pty"])
def test_rebid_request_turns_phase_one_into_phase_two(recorder, drivers, transport):
    link = PtyLink() if transport == "pty" else MemoryLink()
    try:
        phone, reader = phone_and_reader(recorder, drivers, link)
        first = answer(phone, recorder, WPH1)
        assert b"WPH1" in first
        # The request split in two writes and surrounded by other bytes is still found.
        assert reader.send(b"xx\x02R") and reader.send(b"B\x03yy")
        recorder.wait_for(lambda: len(frames_received(recorder)) == 2, "the rebid spill")
        rebid = frames_received(recorder)[1]
        assert b"WPH2" in rebid and b"CALLBK=(719)555-0153" in rebid
        # Asked again, a Phase II call sends the same record again.
        assert reader.send(b"\x02RB\x03")
        recorder.wait_for(lambda: len(frames_received(recorder)) == 3, "the second rebid")
        assert same_record(frames_received(recorder)[2], rebid)
        assert phone.rebid_requests_received == 2
    finally:
        link.close()


def test_site_rebid_request_and_wireline_rebid_resends_the_same_record(recorder, drivers):
    link = MemoryLink()
    phone, reader = phone_and_reader(recorder, drivers, link, rebid_request=b"\x1bREBID\r")
    first = answer(phone, recorder, RESD)
    assert reader.send(b"\x02RB\x03")  # not this site's request: ignored
    assert reader.send(b"\x1bREBID\r")
    recorder.wait_for(lambda: len(frames_received(recorder)) == 2, "the rebid spill")
    assert same_record(frames_received(recorder)[1], first)
    assert phone.rebid_requests_received == 1


def test_nak_resends_the_last_frame_once_and_ack_is_counted(recorder, drivers):
    link = MemoryLink()
    phone, reader = phone_and_reader(recorder, drivers, link)
    first = answer(phone, recorder, RESD)
    assert reader.send(b"\x15")
    recorder.wait_for(lambda: len(frames_received(recorder)) == 2, "the re-sent frame")
    assert frames_received(recorder)[1] == first
    assert reader.send(b"\x15")  # a second NAK of the same frame: not sent a third time
    assert reader.send(b"\x06")
    recorder.wait_for(lambda: phone.acks_received == 1, "the ACK counted")
    assert phone.naks_received == 2 and phone.frames_resent == 1
    # A marker after the replies were handled: a third copy would have come before it.
    phone.send_raw(b"\x02H\x03\x4b")
    recorder.wait_for(lambda: len(frames_received(recorder)) == 3, "the marker")
    assert frames_received(recorder) == [first, first, b"\x02H\x03\x4b"]


def test_expect_ack_resends_an_unacknowledged_spill_once(recorder, drivers):
    link = MemoryLink()
    phone, reader = phone_and_reader(recorder, drivers, link, expect_ack=True, ack_timeout_s=1.0)
    first = answer(phone, recorder, RESD)
    recorder.wait_for(lambda: len(frames_received(recorder)) == 2, "the re-send after no ACK")
    assert frames_received(recorder)[1] == first and phone.frames_resent == 1

    phone.ring(WPH1)
    phone.answer()
    recorder.wait_for(lambda: len(frames_received(recorder)) == 3, "the next call's spill")
    assert reader.send(b"\x06")
    recorder.wait_for(lambda: phone.ack_checks == 2, "the second spill's ACK check", timeout=WAIT_S + 1.0)
    assert phone.acks_received == 1 and phone.frames_resent == 1  # acknowledged in time: not re-sent
    assert len(frames_received(recorder)) == 3
