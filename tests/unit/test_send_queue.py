"""Writes to the ALI link never block the control thread, even when the far end stops reading."""

from __future__ import annotations

import socket
import threading

from hardware.serial.send_queue import MAX_QUEUED, SendQueue


def test_submit_returns_while_the_write_is_stuck_and_refuses_once_the_queue_is_full():
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    chunk = b"x" * 65536  # far more than the socket buffers: the first write blocks until the peer reads
    writing = threading.Event()

    def send(data: bytes) -> bool:
        writing.set()
        ours.sendall(data)
        return True

    sender = SendQueue("test", send, lambda: True)
    try:
        assert sender.submit(chunk)
        assert writing.wait(5)
        accepted = [sender.submit(chunk) for _ in range(MAX_QUEUED + 5)]
        assert accepted.count(True) == MAX_QUEUED and accepted[-1] is False
    finally:
        theirs.close()  # the stuck write fails; the thread drains and stops
        ours.close()
        sender.stop()


def test_nothing_is_queued_for_a_link_that_is_down():
    sent = []
    sender = SendQueue("test", lambda data: sent.append(data) or True, lambda: False)
    try:
        assert sender.submit(b"\x06") is False
    finally:
        sender.stop()
    assert sent == []


def test_bytes_go_out_in_order():
    ours, theirs = socket.socketpair()
    sender = SendQueue("test", lambda data: ours.sendall(data) or True, lambda: True)
    try:
        for byte in (b"\x06", b"\x15", b"\x02RB\x03"):
            assert sender.submit(byte)
        received = b""
        theirs.settimeout(5)
        while len(received) < 6:
            received += theirs.recv(64)
        assert received == b"\x06\x15\x02RB\x03"
    finally:
        sender.stop()
        ours.close()
        theirs.close()
