"""Field spans for the ALI inspector: the same text the parser reads, on every sample and on fuzz.

The parser's result (``parse_frame``) and its own line/offset rules are the reference; the spans
must agree with them. A few spans are also checked by hand against the sample text.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from app.ali.framing import Frame, printable
from app.ali.layouts import Layout, load_layout
from app.ali.parse import LINE_BREAK, _header_and_lines, parse_frame
from app.ali.samples import decode_sample_file, render, unrender
from app.ali.spans import CHECK, HEADER, POSITION, FieldSpan, field_spans, frame_text, frames_in
from tests.unit.test_ali_parse import _warren_text

SAMPLES = Path(__file__).resolve().parents[1] / "data/ali-samples"
L30W = load_layout("30w")
WARREN = load_layout("warren")
RAW = load_layout("raw")
NO_HEADER_30W = dataclasses.replace(L30W, header_width=0, position=None)


def sample_payload(name: str) -> str:
    """The payload of the first frame in a sample file (the text itself when it has no STX)."""
    data = decode_sample_file((SAMPLES / name).read_text(encoding="utf-8"))
    return frames_in(data, bcc=True).frames[0].payload.decode("latin-1")


def _frame(payload: str) -> Frame:
    data = payload.encode("latin-1")
    return Frame(b"\x02" + data + b"\x03", data, None, None)


def parser_cuts(payload: str, layout: Layout):
    """The parser's own cut for each place: its line rule for line layouts, its body rule for offsets."""
    if layout.type == "lines":
        _header, lines = _header_and_lines(payload, layout.header_width)
        return lambda span: lines[span.line][span.start:span.stop] if span.line < len(lines) else ""
    body = LINE_BREAK.sub("\r", payload[layout.header_width:])
    return lambda span: body[span.start:span.stop]


def assert_consistent(payload: str, layout: Layout) -> list[FieldSpan]:
    spans = field_spans(payload, layout)
    entry = parse_frame(_frame(payload), layout)
    cut = parser_cuts(payload, layout)
    by_name: dict[str, list[FieldSpan]] = {}
    for span in spans:
        assert 0 <= span.start <= span.stop <= len(payload), span
        shown = payload[span.start:span.stop]
        if layout.type == "offsets":  # after the header, a CR LF in the payload is one character to the parser
            width = layout.header_width
            shown = shown[:max(0, width - span.start)] + LINE_BREAK.sub("\r", payload[max(span.start, width):span.stop])
        assert shown == span.text, span
        by_name.setdefault(span.name, []).append(span)

    if entry["kind"] in ("heartbeat", "status"):
        return spans  # the parser does not read these with a layout (the inspector shows them unread)

    # Header and position: what parse_frame reports.
    header = by_name.get(HEADER, [])
    assert (header[0].value if header else None) == entry["header"]
    position = by_name.get(POSITION, [])
    assert (position[0].value if position else None) == entry["position"]

    # Checks: a failed one is exactly what makes the frame unparsed.
    checks = by_name.get(CHECK, [])
    assert [s.text for s in checks] == [cut(c.span) for c in layout.checks]
    assert any(s.error for s in checks) == (entry["kind"] == "unparsed")

    # Fields: one span per part, at the parser's place, with the parser's value and error.
    record = entry["record"]
    for spec in layout.fields:
        parts = by_name[spec.name]
        assert [s.text for s in parts] == [cut(p) for p in spec.parts]
        if entry["kind"] != "ali":
            assert all(s.value is None and s.error is None for s in parts)
            continue
        if spec.converter == "list":
            items = [s.value for s in parts]
            assert (items if any(v is not None for v in items) else None) == record[spec.name]
        else:
            assert all(s.value == record[spec.name] for s in parts)
        for s in parts:
            if s.error:
                assert any(e.startswith(f"{spec.name}: {s.error} at ") for e in entry["errors"]), (s, entry["errors"])
    converted = [e for e in entry["errors"] if not e.startswith(("block check", "does not fit"))]
    assert len(converted) == len({s.name for s in spans if s.error and s.name != CHECK})

    # Tail: the PSAP lines and agency lines give the record's psap and agencies.
    if entry["kind"] == "ali" and layout.tail is not None:
        defined = {spec.name for spec in layout.fields}
        if "psap" not in defined:
            psap = by_name.get("psap", [])
            assert (psap[0].value if psap else None) == record["psap"]
            assert all(s.value == record["psap"] for s in psap)
        if "agencies" not in defined:
            agencies = [s.value for s in by_name.get("agencies", [])]
            assert (agencies if any(v is not None for v in agencies) else None) == record["agencies"]
    return spans


# ---- every sample, every layout -----------------------------------------------------------------

ALL_SAMPLES = sorted(p.name for p in SAMPLES.glob("*.txt"))


def test_samples_are_there():
    assert len(ALL_SAMPLES) >= 30


@pytest.mark.parametrize("name", ALL_SAMPLES)
@pytest.mark.parametrize("layout", [L30W, WARREN, RAW, NO_HEADER_30W], ids=["30w", "warren", "raw", "30w-noheader"])
def test_spans_agree_with_the_parser_on_every_sample(name, layout):
    assert_consistent(sample_payload(name), layout)


@pytest.mark.parametrize("line_end", ["\r", "\r\n", "\n"])
def test_spans_agree_with_the_parser_on_warren_with_any_line_end(line_end):
    payload = "207" + _warren_text(line_end)
    spans = assert_consistent(payload, WARREN)
    assert parse_frame(_frame(payload), WARREN)["kind"] == "ali"
    [ani] = [s for s in spans if s.name == "ani"]
    # Offset 34 of the body sits after two line ends; with CR LF each is two characters of the payload.
    assert ani.start == 3 + 33 + (2 if line_end == "\r\n" else 0)
    assert payload[ani.start:ani.stop] == "801-555-0120" and ani.value == "8015550120"
    agencies = [s for s in spans if s.name == "agencies"]
    assert [s.value for s in agencies] == ["DEMO SHERIFF" + " " * 11 + "555-0171", "DEMO FIRE", "DEMO EMS"]


# ---- by hand --------------------------------------------------------------------------------------

def _one(spans: list[FieldSpan], name: str, part: int = 0) -> FieldSpan:
    return next(s for s in spans if s.name == name and s.part == part)


def test_wph2_sample_spans_by_hand():
    payload = sample_payload("capture-wph2-tmobile.txt")
    assert payload.startswith("2122\r\n(719) 511-4551 WPH2")
    spans = field_spans(payload, L30W)

    ani = _one(spans, "ani")
    assert (ani.start, ani.stop) == (6, 20) and payload[6:20] == "(719) 511-4551"
    assert ani.value == "7195114551" and ani.error is None and ani.where == "line 1 cols 0-13"

    header, position = _one(spans, HEADER), _one(spans, POSITION)
    assert (header.start, header.stop, header.value) == (0, 4, "2122")
    assert (position.start, position.stop, position.value) == (1, 4, "122")

    # The wireless callback sits where a wireline record has its location: both read the same columns.
    callback, location = _one(spans, "callback"), _one(spans, "location")
    assert payload[callback.start:callback.stop] == "CALLBK=(719)555-0111" == callback.text
    assert (callback.start, callback.stop) == (location.start, location.stop)
    assert callback.value == "7195550111" and location.value is None

    pani = _one(spans, "pani")
    assert pani.text == "P#719-511-4551" and pani.value == "7195114551"

    street = [s for s in spans if s.name == "street"]
    assert [s.part for s in street] == [0, 1]
    assert street[0].text == "Dalby DR" + " " * 14 and street[1].text == " " * 20
    assert all(s.value == "Dalby DR" for s in street)

    psap = _one(spans, "psap")
    assert psap.text == "PSAP=CSPD--COLORADO SPRINGS WIRELESS" and psap.value == "CSPD--COLORADO SPRINGS WIRELESS"
    agencies = [s for s in spans if s.name == "agencies"]
    assert [s.value for s in agencies] == ["VERIFY PD", "VERIFY FD", "VERIFY EMS"]
    assert agencies[-1].text == "VERIFY EMS         " and agencies[-1].stop == len(payload)


def test_check_that_fails_marks_the_frame_and_fields_carry_no_value():
    payload = sample_payload("spillman-kb-warren-style.txt")
    spans = field_spans(payload, WARREN)
    lec = next(s for s in spans if s.name == CHECK and s.value == "LEC")
    assert lec.error is not None and lec.error.startswith("expected 'LEC', found ")
    assert all(s.value is None for s in spans if s.name not in (CHECK, HEADER, POSITION))
    assert _one(spans, HEADER).value == "207" and _one(spans, POSITION).value == "07"


def test_conversion_error_is_on_the_field_that_failed():
    payload = sample_payload("sylkserver-aliquery-30w-wireless-handmade.txt")
    layout = dataclasses.replace(L30W, header_width=0, position=None)
    spans = assert_consistent(payload, layout)
    latitude = _one(spans, "latitude")
    assert latitude.text == "7190521    " and latitude.value is None
    assert latitude.error == "7.19052e+06 is outside -90..90"


def test_header_width_override_moves_the_lines():
    payload = sample_payload("capture-resd.txt")
    glued = payload.replace("2517\r\n", "2517", 1)  # a CPE that puts the header in front of line 1
    spans = assert_consistent(glued, L30W)
    ani = _one(spans, "ani")
    assert ani.start == 4 and ani.text == "(719) 555-0114"
    wide = dataclasses.replace(L30W, header_width=5, position=(1, 5))
    spans = assert_consistent(glued, wide)
    assert _one(spans, HEADER).text == "2517(" and _one(spans, POSITION).value == "517("


def test_raw_layout_and_empty_text_have_no_spans():
    assert field_spans("2517\rANYTHING", RAW) == []
    assert all(s.start == s.stop == 0 for s in field_spans("", L30W))
    assert all(s.start == s.stop == 0 for s in field_spans("", WARREN))


# ---- fuzz: never raises, always agrees with the parser --------------------------------------------

_LINES = st.lists(st.text(st.characters(max_codepoint=255), max_size=40), max_size=16)
_ENDS = st.sampled_from(["\r", "\n", "\r\n"])


@st.composite
def _payloads(draw) -> str:
    kind = draw(st.sampled_from(["lines", "warren", "text", "sample"]))
    if kind == "sample":  # a real record with a stretch overwritten: fits the layout, fields may not convert
        text = sample_payload(draw(st.sampled_from(ALL_SAMPLES)))
        at = draw(st.integers(0, len(text)))
        junk = draw(st.text(st.sampled_from("0123456789 .-+()#=\r\nPCALBKSE"), max_size=12))
        return text[:at] + junk + text[at + len(junk):]
    if kind == "lines":
        end = draw(_ENDS)
        return end.join(draw(_LINES))
    if kind == "warren":
        text = "207" + _warren_text(draw(_ENDS))
        cut = draw(st.integers(0, len(text)))
        return text[:cut] + draw(st.text(st.characters(max_codepoint=255), max_size=20))
    return draw(st.text(st.characters(max_codepoint=255), max_size=300))


@settings(max_examples=300, deadline=None)
@given(_payloads(), st.sampled_from([L30W, WARREN, RAW, NO_HEADER_30W]), st.integers(0, 8))
def test_fuzz_spans_never_raise_and_agree_with_the_parser(payload, layout, width):
    assert_consistent(payload, layout)
    if layout.type != "raw":
        position = (0, min(width, 3)) if width else None
        assert_consistent(payload, dataclasses.replace(layout, header_width=width, position=position))


# ---- pasted text back to bytes --------------------------------------------------------------------

@given(st.binary(max_size=300))
def test_unrender_inverts_render(data):
    assert unrender(render(data)) == data
    if data:
        assert unrender(render(data, bcc_at=len(data) - 1)) == data


def test_unrender_takes_a_sample_broken_onto_lines_and_plain_lines():
    sample = "<STX>2517<CR><LF>\n(719) 555-0114 RESD<CR>\nX<ETX><BCC=0x05>\n"
    assert unrender(sample) == b"\x022517\r\n(719) 555-0114 RESD\rX\x03\x05"
    # Plain lines (no line-end tokens): each real line break is an LF.
    assert unrender("2517\n(719) 555-0114\nDOE<0x1B>") == b"2517\n(719) 555-0114\nDOE\x1b"
    # The calls view's text (printable) comes back with LF line ends.
    payload = b"2517\r(719) 555-0114 RESD\r\nA\x1bB"
    assert unrender(printable(payload)) == b"2517\n(719) 555-0114 RESD\nA\x1bB"


def test_unrender_names_a_character_that_is_not_a_byte():
    with pytest.raises(ValueError, match=r"'…' \(U\+2026\) at line 2 column 4 is not a single byte"):
        unrender("2517\nDOE…")


# ---- frames in a paste or capture -----------------------------------------------------------------

def test_frames_in_a_capture_with_noise_and_a_missing_check_byte():
    data = b"xx\x02H\x03K\r\n\x022517\rA\x03\x12\x02E130\x03"
    found = frames_in(data, bcc=True)
    assert [f.payload for f in found.frames] == [b"H", b"2517\rA", b"E130"]
    assert [f.bcc_ok for f in found.frames] == [True, False, None]
    assert [g.data for g in found.stray] == [b"xx", b"\r\n"]
    assert found.notes == ("the last frame has no check byte after <ETX>: not checked",)


def test_frames_in_text_without_stx_or_etx():
    [frame] = frames_in(b"2517\rA", bcc=True).frames
    assert frame.payload == b"2517\rA" and frame.bcc is None
    [frame] = frames_in(b"2517\rA\x03K", bcc=True).frames
    assert frame.payload == b"2517\rA" and frame.bcc_ok is False
    found = frames_in(b"\x022517\rA", bcc=False)
    assert [f.payload for f in found.frames] == [b"2517\rA"] and "no <ETX>" in found.notes[0]


@given(st.binary(max_size=200), st.booleans())
def test_frames_in_never_raises_and_frame_text_maps_every_byte(data, bcc):
    for frame in frames_in(data, bcc).frames:
        shown = frame_text(frame)
        assert len(shown.starts) == len(frame.raw) + 1
        assert list(shown.starts) == sorted(shown.starts) and shown.starts[-1] == len(shown.text)
        assert unrender(shown.text) == frame.raw  # the shown text can be pasted back as it is


def test_frame_text_puts_each_spill_line_on_its_own_line():
    frame = frames_in(b"\x022517\r\nAB\rC<b>\x1b\x03\x0d", bcc=True).frames[0]
    shown = frame_text(frame)
    assert shown.text == "<STX>2517<CR><LF>\nAB<CR>\nC<b><0x1B><ETX><BCC=0x0D>"
    start, stop = shown.of_payload(6, 8)  # "AB"
    assert shown.text[start:stop] == "AB"
