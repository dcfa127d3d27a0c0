"""ALI frames -> records, driven by a layout (pure; no Qt, no I/O).

``parse_frame`` never raises: a frame that does not fit the layout comes back with kind
"unparsed" and the reason in ``errors``, and its ``raw`` text is always there to pop.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.ali.framing import Frame, Framer, Garbage, block_check
from app.ali.layouts import FIELD_NAMES, FieldSpec, Layout, Span, Tail, load_layout, service_for
from app.ali.samples import render

LINE_BREAK = re.compile(r"\r\n|\r|\n")
RECORD_KEYS: tuple[str, ...] = tuple(
    key for name in FIELD_NAMES for key in ((name, "service") if name == "class_of_service" else (name,))
)


class ConvertError(ValueError):
    """A field's text is not what its converter reads."""


# ---- converters: text slice -> value (None when blank) -------------------------------------------

def _text(text: str, spec: FieldSpec) -> str | None:
    return text.strip() or None


def _digits(text: str, spec: FieldSpec) -> str | None:
    value = text.strip()
    if value and not (value.isascii() and value.isdigit()):
        raise ConvertError("not digits")
    return value or None


def _phone10(text: str, spec: FieldSpec) -> str | None:
    value = text.strip()
    if not value:
        return None
    if not re.fullmatch(r"[0-9()\- .]+", value):
        raise ConvertError("not a phone number")
    digits = re.sub(r"\D", "", value)
    if not digits:
        return None  # a blank number written with its separators only, e.g. "   -   -    "
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10:
        raise ConvertError(f"phone number has {len(digits)} digits, not 10")
    return digits


def _callbk(text: str, spec: FieldSpec) -> str | None:
    value = text.strip()
    if not value.startswith("CALLBK="):
        return None  # wireline: these columns hold the location instead
    return _phone10(value[len("CALLBK="):], spec)


def _cos(text: str, spec: FieldSpec) -> str | None:
    return text.strip().upper() or None


def _in_range(value: float, spec: FieldSpec) -> None:
    if (spec.min is not None and value < spec.min) or (spec.max is not None and value > spec.max):
        low = "" if spec.min is None else f"{spec.min:g}"
        high = "" if spec.max is None else f"{spec.max:g}"
        raise ConvertError(f"{value:g} is outside {low}..{high}")


def _float(text: str, spec: FieldSpec) -> float | None:
    value = text.strip()
    if not value:
        return None
    if not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)", value):
        raise ConvertError("not a number")
    number = float(value)
    _in_range(number, spec)
    return number


def _int(text: str, spec: FieldSpec) -> int | None:
    value = text.strip()
    if not value:
        return None
    if not re.fullmatch(r"[+-]?\d+", value):
        raise ConvertError("not a whole number")
    number = int(value)
    _in_range(number, spec)
    return number


def _items(items: list[str]) -> list[str] | None:
    """One string per item; blank items stay as "" so police/fire/EMS keep their places."""
    stripped = [item.strip() for item in items]
    return stripped if any(stripped) else None


CONVERTERS: dict[str, Callable[[str, FieldSpec], Any]] = {
    "text": _text, "digits": _digits, "phone10": _phone10, "callbk": _callbk, "cos": _cos,
    "float": _float, "int": _int,
    # "list" and "slots" make lists; they are handled in _read_field
    "list": _text, "slots": _text,
}


# ---- reading a frame ----------------------------------------------------------------------------

def empty_record() -> dict[str, Any]:
    return dict.fromkeys(RECORD_KEYS)


def _split_lines(text: str) -> list[str]:
    lines = LINE_BREAK.split(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # a record that ends with a line end has no extra empty line
    return lines


def _header_and_lines(text: str, width: int) -> tuple[str, list[str]]:
    """Line 0 is the header: the first line if it is at most `width` long, else its first `width` chars."""
    lines = _split_lines(text)
    if width == 0:
        return "", [""] + lines
    first = lines[0]
    if len(first) <= width:
        return first, lines
    return first[:width], [first[:width], first[width:]] + lines[1:]


def _read_field(spec: FieldSpec, cut: Callable[[Span], str]) -> Any:
    pieces = [cut(part) for part in spec.parts]
    if spec.converter == "list":
        return _items(pieces)
    joined = "".join(pieces)
    if spec.converter == "slots":
        width = spec.slot_width or len(joined) or 1
        return _items([joined[i:i + width] for i in range(0, len(joined), width)])
    if spec.unless is not None and joined.startswith(spec.unless):
        return None
    if spec.when is not None:
        if not joined.startswith(spec.when):
            return None
        joined = joined[len(spec.when):]
    return CONVERTERS[spec.converter](joined, spec)


def _read_tail(tail: Tail, lines: list[str]) -> tuple[str | None, list[str] | None]:
    """(psap, agencies): 'PSAP=' line, its wrapped continuation, then the last `agency_lines` lines."""
    rest = lines[tail.from_line:]
    start = next((i for i, line in enumerate(rest) if line.startswith(tail.psap_prefix)), None)
    if start is None:
        return None, None
    after = rest[start + 1:]
    count = min(tail.agency_lines, len(after))
    wrapped, agency_lines = after[:len(after) - count], after[len(after) - count:]
    names = [rest[start][len(tail.psap_prefix):], *wrapped]
    psap = " ".join(name.strip() for name in names if name.strip()) or None
    return psap, _items(agency_lines)


def _read_record(text: str, layout: Layout) -> tuple[str, dict[str, Any], list[str], bool]:
    """(header, record, errors, fits). Errors of single fields leave `fits` True."""
    record = empty_record()
    if layout.type == "lines":
        header, lines = _header_and_lines(text, layout.header_width)

        def cut(span: Span) -> str:
            return lines[span.line][span.start:span.stop] if span.line < len(lines) else ""
    else:
        header = text[:layout.header_width]
        body = LINE_BREAK.sub("\r", text[layout.header_width:])  # every line end is one character

        def cut(span: Span) -> str:
            return body[span.start:span.stop]

    errors = []
    for check in layout.checks:
        found = cut(check.span)
        if found != check.text:
            errors.append(f"does not fit layout {layout.name}: expected {check.text!r} at "
                          f"{check.span.describe()}, found {found!r}")
    if errors:
        return header, record, errors, False
    for spec in layout.fields:
        try:
            record[spec.name] = _read_field(spec, cut)
        except ConvertError as err:
            text_read = "".join(cut(part) for part in spec.parts)
            errors.append(f"{spec.name}: {err} at {spec.describe()}: {text_read!r}")
    if layout.tail is not None and layout.type == "lines":
        psap, agencies = _read_tail(layout.tail, lines)
        defined = {spec.name for spec in layout.fields}
        if "psap" not in defined:
            record["psap"] = psap
        if "agencies" not in defined:
            record["agencies"] = agencies
    record["service"] = service_for(record["class_of_service"])
    return header, record, errors, True


def _kind(frame: Frame) -> str:
    if frame.payload.lstrip()[:1] == b"\x06":
        return "status"  # ACK frames pass through like status frames
    return frame.kind


def parse_frame(frame: Frame, layout: Layout | str | Path) -> dict[str, Any]:
    """One frame as {kind, header, position, bcc_ok, raw, errors, record}. Never raises."""
    bcc_at = len(frame.raw) - 1 if frame.bcc is not None else None
    result: dict[str, Any] = {
        "kind": _kind(frame), "header": None, "position": None, "bcc_ok": frame.bcc_ok,
        "raw": render(frame.raw, bcc_at), "errors": [], "record": empty_record(),
    }
    if frame.bcc_ok is False:
        expected = block_check(frame.raw[1:-1])
        result["errors"].append(f"block check 0x{frame.bcc:02X} does not match 0x{expected:02X} (XOR of the frame)")
    if result["kind"] != "ali":
        return result
    try:
        if not isinstance(layout, Layout):
            layout = load_layout(layout)
        header, record, errors, fits = _read_record(frame.payload.decode("latin-1"), layout)
    except Exception as err:  # noqa: BLE001 - a fault here must still pop the raw text
        result["kind"] = "unparsed"
        result["errors"].append(f"parser fault: {type(err).__name__}: {err}")
        return result
    result["header"] = header or None
    if layout.position is not None:
        result["position"] = header[layout.position[0]:layout.position[1]].strip() or None
    result["errors"].extend(errors)
    if fits:
        result["record"] = record
    else:
        result["kind"] = "unparsed"
    return result


def garbage_entry(item: Garbage) -> dict[str, Any]:
    """Stray bytes as an "unparsed" entry shaped like a frame's (what `ali parse` and `ali listen` print)."""
    shown = render(item.data)
    if len(shown) > 60:
        shown = shown[:60] + "..."
    return {
        "kind": "unparsed", "header": None, "position": None, "bcc_ok": None, "raw": render(item.data),
        "errors": [f"{item.reason}: {len(item.data)} byte(s) {shown}"], "record": empty_record(),
    }


def parse_stream(data: bytes, layout: Layout | str | Path, bcc: bool = True) -> list[dict[str, Any]]:
    """Every frame and every stray byte of a captured stream, in order; nothing is dropped."""
    if not isinstance(layout, Layout):
        layout = load_layout(layout)
    framer = Framer(bcc=bcc)
    items = framer.feed(data) + framer.flush()
    return [parse_frame(item, layout) if isinstance(item, Frame) else garbage_entry(item) for item in items]
