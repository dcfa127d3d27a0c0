"""Property-based fuzzing of the ALI link's framing and layouts (hypothesis).

The stream is built the way a real line delivers it: valid frames (with and without a check byte,
printable text with CR, CR LF or LF line ends), heartbeats and status frames, with garbage between them,
cut into chunks of any size as reads return them.

What "garbage" may contain, and why: any byte except STX. A byte that is not STX cannot start a frame,
so the framer can tell it from a spill; an ETX, CR, LF, NUL or 0xFF on its own is noise. Garbage may
also end in a frame cut off mid-way (STX and text but no ETX, as when a cable is pulled): the next STX
cuts it. What garbage may not contain is an STX ... ETX pair: that *is* a frame, indistinguishable
from a spill, and with a check byte it would swallow the next byte as its check.
"""

from __future__ import annotations

import json

from hypothesis import given, settings, strategies as st

from app.ali.framing import ETX, STX, Frame, Framer, Garbage, block_check
from app.ali.layouts import available_layouts, load_layout
from app.ali.parse import RECORD_KEYS, parse_frame, parse_stream
from hardware.sim.spills import DEMO_RECORDS, format_30w

LAYOUTS = {name: load_layout(name) for name in available_layouts()}
FUZZ = settings(max_examples=150, deadline=None)

# -- strategies ------------------------------------------------------------------------------------

line_ends = st.sampled_from([b"\r", b"\r\n", b"\n"])
text_lines = st.lists(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=40), min_size=1,
                      max_size=8)


@st.composite
def spill_payloads(draw) -> bytes:
    """Printable lines, each ended by its own CR, CR LF or LF (real spills mix them)."""
    lines = draw(text_lines)
    ends = draw(st.lists(line_ends, min_size=len(lines), max_size=len(lines)))
    return b"".join(line.encode("ascii") + end for line, end in zip(lines, ends))


@st.composite
def frames(draw, bcc: bool) -> tuple[bytes, bool | None]:
    """(raw frame, expected bcc_ok). The check byte is usually right; when wrong it is any byte at all,
    control bytes (STX, ETX, CR, LF) included: the framer must take it as the check byte regardless."""
    payload = draw(st.one_of(spill_payloads(), st.just(b"H"), st.sampled_from([b"E130", b"E001", b"\x06"])))
    body = payload + bytes([ETX])
    if not bcc:
        return bytes([STX]) + body, None
    good = block_check(body)
    check = draw(st.one_of(st.just(good), st.integers(0, 255), st.sampled_from([STX, ETX, 0x0A, 0x0D, 0x15])))
    return bytes([STX]) + body + bytes([check]), check == good


noise = st.binary(max_size=24).map(lambda b: bytes(x for x in b if x != STX))
cut_frame = st.binary(max_size=24).map(lambda b: bytes([STX]) + bytes(x for x in b if x not in (STX, ETX)))
garbage = st.tuples(noise, st.one_of(st.just(b""), cut_frame)).map(b"".join)


def _chunks(stream: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(stream) + 1) for c in cuts})
    return [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)])]


# -- framing ---------------------------------------------------------------------------------------

@FUZZ
@given(data=st.data(), bcc=st.booleans(), cuts=st.lists(st.integers(0, 2000), max_size=30))
def test_every_frame_survives_garbage_heartbeats_and_split_reads(data, bcc, cuts):
    sent = data.draw(st.lists(frames(bcc), min_size=1, max_size=6))
    gaps = data.draw(st.lists(garbage, min_size=len(sent) + 1, max_size=len(sent) + 1))
    stream = b"".join(gap + raw for gap, (raw, _) in zip(gaps, sent)) + gaps[-1]

    framer = Framer(bcc=bcc)
    items: list[Frame | Garbage] = []
    for chunk in _chunks(stream, cuts):
        items.extend(framer.feed(chunk))
    items.extend(framer.flush())

    # Not one byte lost or reordered: frames and garbage together are the stream.
    assert b"".join(i.raw if isinstance(i, Frame) else i.data for i in items) == stream
    # Every frame sent comes out whole, exact, in order, with its check judged right; nothing else is a frame.
    out = [i for i in items if isinstance(i, Frame)]
    assert [f.raw for f in out] == [raw for raw, _ in sent]
    assert [f.bcc_ok for f in out] == [ok for _, ok in sent]
    assert all(isinstance(i.data, bytes) and i.data for i in items if isinstance(i, Garbage))


@FUZZ
@given(stream=st.binary(max_size=600), bcc=st.booleans(), cuts=st.lists(st.integers(0, 600), max_size=20))
def test_arbitrary_bytes_in_any_split_never_raise_and_come_back_out(stream, bcc, cuts):
    framer = Framer(bcc=bcc, max_frame=64)  # small, so the "no ETX within" path is taken too
    items: list[Frame | Garbage] = []
    for chunk in _chunks(stream, cuts):
        items.extend(framer.feed(chunk))
    items.extend(framer.flush())
    assert b"".join(i.raw if isinstance(i, Frame) else i.data for i in items) == stream
    assert framer.pending == b""


# -- layouts ---------------------------------------------------------------------------------------

def _assert_entry_shape(entry: dict) -> None:
    assert entry["kind"] in {"ali", "unparsed", "heartbeat", "status"}
    assert tuple(entry["record"]) == RECORD_KEYS
    json.dumps(entry)  # what `ali parse`/`ali listen` print


@FUZZ
@given(payload=st.binary(max_size=500), layout=st.sampled_from(sorted(LAYOUTS)), check=st.none() | st.integers(0, 255))
def test_every_layout_reads_arbitrary_frames_without_raising(payload, layout, check):
    raw = bytes([STX]) + payload + bytes([ETX]) + (b"" if check is None else bytes([check]))
    ok = None if check is None else block_check(payload + bytes([ETX])) == check
    entry = parse_frame(Frame(raw, payload, check, ok), LAYOUTS[layout])
    _assert_entry_shape(entry)
    assert entry["raw"]  # the text to pop is always there


@st.composite
def mangled_spills(draw) -> bytes:
    """A real 30W spill with characters overwritten, inserted or deleted, and its line ends swapped:
    text that nearly fits a layout reaches the field converters, where arbitrary bytes would not."""
    text = bytearray(format_30w(draw(st.sampled_from(DEMO_RECORDS)), "2001").encode("ascii"))
    end = draw(line_ends)
    text = bytearray(bytes(text).replace(b"\r\n", end))
    for _ in range(draw(st.integers(0, 6))):
        at = draw(st.integers(0, len(text)))
        byte = draw(st.one_of(st.integers(0x20, 0x7E), st.sampled_from([0x0D, 0x0A, 0x00, 0xFF, 0x2D, 0x2E])))
        action = draw(st.sampled_from(["set", "insert", "delete"]))
        if action == "insert" or at == len(text):
            text.insert(at, byte)
        elif action == "set":
            text[at] = byte
        else:
            del text[at]
    return bytes(x for x in text if x not in (STX, ETX))


@FUZZ
@given(payload=mangled_spills(), layout=st.sampled_from(sorted(LAYOUTS)))
def test_every_layout_reads_mangled_spills_without_raising(payload, layout):
    body = payload + bytes([ETX])
    entry = parse_frame(Frame(bytes([STX]) + body + bytes([block_check(body)]), payload, block_check(body), True),
                        LAYOUTS[layout])
    _assert_entry_shape(entry)
    assert not any(error.startswith("parser fault") for error in entry["errors"]), entry["errors"]


@FUZZ
@given(stream=st.binary(max_size=400), layout=st.sampled_from(sorted(LAYOUTS)), bcc=st.booleans())
def test_parse_stream_with_every_layout_never_raises(stream, layout, bcc):
    for entry in parse_stream(stream, LAYOUTS[layout], bcc=bcc):
        _assert_entry_shape(entry)
