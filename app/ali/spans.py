"""Where a layout reads each field of a spill: character spans over a frame's text (pure; no Qt).

The Technician view's ALI inspector highlights these spans. ``field_spans`` walks a frame the way
``app.ali.parse`` reads it and reuses the parser's own pieces (line splitting, the header rule, field
reading, the PSAP/agency tail), so the text of every span is the text the parser read there; a test
holds the two together on every reference sample.

Offsets are characters of the payload (the bytes between STX and ETX, as Latin-1 text, with their
original line ends). Offset layouts count a CR LF pair as one character; their spans still cover both
bytes of it, so ``payload[start:stop]`` can differ from ``text`` only by such pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.ali.framing import ETX, STX, Frame, Framer, Garbage
from app.ali.layouts import FieldSpec, Layout, Span
# The parser's private steps, reused on purpose: a second copy of the rules could drift from the first.
from app.ali.parse import LINE_BREAK, _items, _read_field, _read_tail
from app.ali.samples import render_pieces

HEADER = "header"
POSITION = "position"
CHECK = "check"  # a layout's literal label; a mismatch means the frame is not this layout


@dataclass(frozen=True, slots=True)
class FieldSpan:
    name: str  # a record field name, or "header", "position", "check"
    start: int  # character offsets into the payload; start == stop when the text is not there
    stop: int
    text: str  # what the parser read at this place
    value: Any  # what the parser made of it (a list field: the item read here); None when blank
    error: str | None = None  # why the field did not convert, or why a check failed
    part: int = 0  # which part of a field read from several places
    where: str = ""  # the layout's own words for the place ("line 3 cols 17-30", "offset 126-129")


# ---- text positions -----------------------------------------------------------------------------

def _line_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, split exactly as parse._split_lines splits."""
    bounds = []
    pos = 0
    for match in LINE_BREAK.finditer(text):
        bounds.append((pos, match.start()))
        pos = match.end()
    bounds.append((pos, len(text)))
    if len(bounds) > 1 and pos == len(text):
        bounds.pop()  # a record that ends with a line end has no extra empty line
    return bounds


def _header_lines(text: str, width: int) -> list[tuple[int, int]]:
    """Bounds of the layout's lines, line 0 being the header, as parse._header_and_lines numbers them."""
    bounds = _line_bounds(text)
    if width == 0:
        return [(0, 0)] + bounds
    start, end = bounds[0]
    if end - start <= width:
        return bounds
    return [(start, start + width), (start + width, end)] + bounds[1:]


class _Reader:
    """Cuts a layout's places out of one payload, giving the text and where it sits."""

    def __init__(self, text: str, layout: Layout) -> None:
        self.text = text
        self.layout = layout
        if layout.type == "lines":
            self.lines = _header_lines(text, layout.header_width)
            first, last = self.lines[0]
            self.header = (first, last)
        else:
            width = min(layout.header_width, len(text))
            self.header = (0, width)
            # One body character per payload character, except a whole line end (CR LF) is one.
            self.body: list[str] = []
            self.body_at: list[tuple[int, int]] = []
            pos = width
            for match in LINE_BREAK.finditer(text, width):
                for index in range(pos, match.start()):
                    self.body.append(text[index])
                    self.body_at.append((index, index + 1))
                self.body.append("\r")
                self.body_at.append((match.start(), match.end()))
                pos = match.end()
            for index in range(pos, len(text)):
                self.body.append(text[index])
                self.body_at.append((index, index + 1))

    def place(self, span: Span) -> tuple[int, int, str]:
        """(start, stop, text read) for one place of the layout."""
        if self.layout.type == "lines":
            line = span.line or 0
            if line >= len(self.lines):
                return len(self.text), len(self.text), ""
            first, last = self.lines[line]
            start = min(first + span.start, last)
            stop = max(start, min(first + span.stop, last))
            return start, stop, self.text[start:stop]
        start = min(span.start, len(self.body))
        stop = max(start, min(span.stop, len(self.body)))
        if start == stop:
            at = self.body_at[start][0] if start < len(self.body) else len(self.text)
            return at, at, ""
        return self.body_at[start][0], self.body_at[stop - 1][1], "".join(self.body[start:stop])

    def cut(self, span: Span) -> str:
        return self.place(span)[2]


# ---- spans --------------------------------------------------------------------------------------

def _header_spans(reader: _Reader, layout: Layout) -> list[FieldSpan]:
    if layout.header_width == 0:
        return []
    first, last = reader.header
    header = reader.text[first:last]
    spans = [FieldSpan(HEADER, first, last, header, header or None, where=f"first {layout.header_width} characters")]
    if layout.position is not None:
        begin, end = layout.position
        start = min(first + begin, last)
        stop = max(start, min(first + end, last))
        text = reader.text[start:stop]
        spans.append(FieldSpan(POSITION, start, stop, text, text.strip() or None,
                               where=f"header cols {begin}-{end - 1}"))
    return spans


def _check_spans(reader: _Reader, layout: Layout) -> tuple[list[FieldSpan], bool]:
    spans = []
    fits = True
    for check in layout.checks:
        start, stop, found = reader.place(check.span)
        error = None
        if found != check.text:
            fits = False
            error = f"expected {check.text!r}, found {found!r}"
        spans.append(FieldSpan(CHECK, start, stop, found, check.text, error, where=check.span.describe()))
    return spans, fits


def _field_value(spec: FieldSpec, reader: _Reader) -> tuple[Any, str | None]:
    try:
        return _read_field(spec, reader.cut), None
    except ValueError as err:  # ConvertError, or a number too long for int()
        return None, str(err)


def _spans_of_field(spec: FieldSpec, reader: _Reader, fits: bool) -> list[FieldSpan]:
    value, error = _field_value(spec, reader) if fits else (None, None)
    spans = []
    for index, part in enumerate(spec.parts):
        start, stop, text = reader.place(part)
        shown = value
        if spec.converter == "list":
            shown = value[index] if isinstance(value, list) and index < len(value) else None
        spans.append(FieldSpan(spec.name, start, stop, text, shown, error, index, part.describe()))
    return spans


def _tail_spans(reader: _Reader, layout: Layout) -> list[FieldSpan]:
    tail = layout.tail
    if tail is None or layout.type != "lines":
        return []
    lines = reader.lines[tail.from_line:]
    texts = [reader.text[a:b] for a, b in lines]
    start = next((i for i, line in enumerate(texts) if line.startswith(tail.psap_prefix)), None)
    if start is None:
        return []
    psap, _agencies = _read_tail(tail, [reader.text[a:b] for a, b in reader.lines])
    after = lines[start + 1:]
    count = min(tail.agency_lines, len(after))
    defined = {spec.name for spec in layout.fields}
    spans = []
    if "psap" not in defined:
        for part, (a, b) in enumerate([lines[start], *after[:len(after) - count]]):
            spans.append(FieldSpan("psap", a, b, reader.text[a:b], psap, part=part,
                                   where=f"line starting {tail.psap_prefix!r}" if part == 0 else "its next line"))
    if "agencies" not in defined:
        agency_lines = after[len(after) - count:]
        items = _items([reader.text[a:b] for a, b in agency_lines])
        for part, (a, b) in enumerate(agency_lines):
            spans.append(FieldSpan("agencies", a, b, reader.text[a:b], items[part] if items else None, part=part,
                                   where=f"agency line {part + 1} of {tail.agency_lines}"))
    return spans


def field_spans(payload: str, layout: Layout) -> list[FieldSpan]:
    """Every place ``layout`` reads in ``payload``: header, position, checks, fields, PSAP and agency lines.

    Never raises. When a check fails the parser reads no field; the field spans are still given
    (value None, no error) to show where the layout would have read.
    """
    reader = _Reader(payload, layout)  # a raw layout reads like an offset layout with no fields: header only
    checks, fits = _check_spans(reader, layout)
    spans = _header_spans(reader, layout) + checks
    for spec in layout.fields:
        spans.extend(_spans_of_field(spec, reader, fits))
    if fits:
        spans.extend(_tail_spans(reader, layout))
    return spans


# ---- pasted or captured bytes -> frames ---------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Inspected:
    frames: tuple[Frame, ...]
    stray: tuple[Garbage, ...]  # bytes outside any frame
    notes: tuple[str, ...] = ()  # how the text was read, when it was not plain STX ... ETX framing


def frames_in(data: bytes, bcc: bool) -> Inspected:
    """The frames a technician's text or capture holds, framed as the live link frames them.

    Lenient where a paste is usually short of a real link: text with no STX at all is read as one
    frame's payload, and a last frame whose check byte is missing is still a frame (unchecked).
    """
    if STX not in data:
        if ETX not in data:
            return Inspected((Frame(bytes([STX]) + data + bytes([ETX]), data, None, None),), (),
                             ("no <STX> in the text: all of it is read as one frame",))
        data = bytes([STX]) + data
    framer = Framer(bcc=bcc)
    items = framer.feed(data)
    notes: list[str] = []
    held = framer.pending
    if held[:1] == bytes([STX]) and held[-1:] == bytes([ETX]):
        items.append(Frame(held, held[1:-1], None, None))
        notes.append("the last frame has no check byte after <ETX>: not checked")
    else:
        items += framer.flush()
    frames = tuple(item for item in items if isinstance(item, Frame))
    stray = tuple(item for item in items if isinstance(item, Garbage))
    if not frames:
        # An STX but no ETX: read what follows the STX, so a cut-off paste can still be looked at.
        body = data[data.index(STX) + 1:]
        frames = (Frame(bytes([STX]) + body + bytes([ETX]), body, None, None),)
        notes.append("no <ETX> in the text: read from <STX> to the end")
    return Inspected(frames, stray, tuple(notes))


# ---- how a frame is shown -----------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class FrameText:
    """A frame written in sample notation, one spill line per text line, and where each byte landed."""

    text: str
    starts: tuple[int, ...]  # starts[i] = position in ``text`` of raw byte i; one more entry for the end

    def of_payload(self, start: int, stop: int) -> tuple[int, int]:
        """Text positions of payload offsets [start, stop) (the payload begins after STX)."""
        last = len(self.starts) - 1
        return self.starts[min(start + 1, last)], self.starts[min(stop + 1, last)]


def readable(data: bytes, bcc_at: int | None = None) -> FrameText:
    """Bytes in sample notation with a line break after each line end, so spill lines read as lines.

    The breaks follow <CR>/<LF> tokens only, so ``unrender`` drops them again: ``unrender(text) == data``.
    """
    pieces = render_pieces(data, bcc_at)
    starts = []
    position = 0
    for index, piece in enumerate(pieces):
        starts.append(position)
        ends_line = data[index] == 0x0A or (data[index] == 0x0D and data[index + 1:index + 2] != b"\n")
        if ends_line and index != bcc_at and index != len(data) - 1:
            pieces[index] = piece + "\n"
        position += len(pieces[index])
    starts.append(position)
    return FrameText("".join(pieces), tuple(starts))


def frame_text(frame: Frame) -> FrameText:
    """The whole frame (STX, text, ETX, check byte) in sample notation, one spill line per text line."""
    return readable(frame.raw, len(frame.raw) - 1 if frame.bcc is not None else None)
