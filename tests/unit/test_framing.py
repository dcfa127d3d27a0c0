"""ALI framing: whole frames out of any split of the stream, and no byte ever lost."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from app.ali.framing import ETX, STX, Frame, Framer, Garbage, block_check, printable
from hardware.sim.spills import DEMO_RECORDS, format_30w, frame


def _feed_all(framer: Framer, chunks: list[bytes]) -> list[Frame | Garbage]:
    out: list[Frame | Garbage] = []
    for chunk in chunks:
        out.extend(framer.feed(chunk))
    return out


def test_heartbeat_with_its_real_check_byte():
    # From the capture: <STX>H<ETX> followed by 0x4B = 'H' XOR ETX.
    [item] = Framer(bcc=True).feed(b"\x02H\x03\x4b")
    assert isinstance(item, Frame)
    assert item.kind == "heartbeat" and item.bcc == 0x4B and item.bcc_ok is True


def test_status_frame_and_bad_check_byte_is_reported_not_dropped():
    [item] = Framer(bcc=True).feed(b"\x02E130\x03\x00")
    assert item.kind == "status" and item.bcc_ok is False and item.payload == b"E130"


def test_check_byte_may_be_stx():
    # Payload chosen so that the XOR over payload+ETX is 0x02 (STX): it must be taken as the check byte.
    payload = bytes([0x41, 0x41 ^ 0x03 ^ 0x02])
    assert block_check(payload + bytes([ETX])) == STX
    items = Framer(bcc=True).feed(bytes([STX]) + payload + bytes([ETX, STX]) + b"\x02H\x03\x4b")
    assert [type(i) for i in items] == [Frame, Frame]
    assert items[0].bcc_ok is True and items[1].kind == "heartbeat"


def test_no_check_byte_mode():
    [item] = Framer(bcc=False).feed(b"\x02ABC\x03")
    assert item.bcc is None and item.bcc_ok is None and item.raw == b"\x02ABC\x03"


def test_garbage_and_cut_frames_are_kept():
    items = Framer(bcc=False).feed(b"noise\x02partial\x02whole\x03")
    assert isinstance(items[0], Garbage) and items[0].data == b"noise"
    assert isinstance(items[1], Garbage) and items[1].data == b"\x02partial"
    assert isinstance(items[2], Frame) and items[2].payload == b"whole"


def test_link_lost_mid_frame_hands_back_the_partial_frame():
    framer = Framer()
    assert framer.feed(b"\x02half a spi") == []
    [item] = framer.flush()
    assert isinstance(item, Garbage) and item.data == b"\x02half a spi" and "mid-frame" in item.reason


def test_simulator_spills_validate():
    for record in DEMO_RECORDS:
        raw = frame(format_30w(record, "2001"))
        [item] = Framer(bcc=True).feed(raw)
        assert item.bcc_ok is True and item.kind == "ali" and item.raw == raw


def test_printable_shows_controls_as_tokens():
    assert printable(b"A\r\nB\x1b[31m\x00") == "A\nB<0x1B>[31m<0x00>"


valid_frames = st.lists(
    st.binary(min_size=1, max_size=60).map(lambda b: bytes(x for x in b if x not in (STX, ETX)) or b"X"),
    min_size=1, max_size=5,
).map(lambda payloads: [_bcc_frame(p) for p in payloads])


def _bcc_frame(payload: bytes) -> bytes:
    body = payload + bytes([ETX])
    return bytes([STX]) + body + bytes([block_check(body)])


@settings(max_examples=300, deadline=None)
@given(
    frames=valid_frames,
    noise=st.lists(st.binary(max_size=20).map(lambda b: bytes(x for x in b if x != STX)), min_size=6, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
)
def test_fuzz_no_byte_lost_and_valid_frames_survive_noise(frames, noise, cuts):
    stream = b"".join(noise[i % len(noise)] + f for i, f in enumerate(frames)) + noise[-1]
    points = sorted({c % (len(stream) + 1) for c in cuts})
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)])]
    framer = Framer(bcc=True)
    items = _feed_all(framer, chunks) + framer.flush()
    # Every byte fed comes back out, in order.
    assert b"".join(i.raw if isinstance(i, Frame) else i.data for i in items) == stream
    # Every valid frame arrives whole and checks out (noise has no STX, so it cannot cut one).
    good = [i.raw for i in items if isinstance(i, Frame) and i.bcc_ok]
    assert good == frames
