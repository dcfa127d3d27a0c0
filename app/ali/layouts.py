"""ALI layouts: where each field sits in a spill, read from TOML data files (pure; no Qt).

A site supports a new CPE by writing a layout file, not code. Shipped layouts live in
``assets/layouts/`` (30w, warren, raw); ``load_layout`` also takes a path to a site's own file,
which may start from a shipped one with ``extends = "30w"`` and override fields by name.
The file format is described at the top of ``assets/layouts/30w.toml`` and ``warren.toml``.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

# The record every layout fills; a layout may only name these.
FIELD_NAMES: tuple[str, ...] = (
    "ani", "callback", "pani", "class_of_service", "date", "time", "name", "house_number", "house_suffix",
    "prefix_directional", "street", "location", "community", "state", "esn", "company_id", "latitude",
    "longitude", "uncertainty_m", "confidence_pct", "psap", "agencies",
)
# Kept in step with app.ali.parse.CONVERTERS (a test checks it); listed here so a bad file fails at load.
CONVERTER_NAMES = frozenset({"text", "digits", "phone10", "callbk", "cos", "float", "int", "list", "slots"})
LAYOUT_TYPES = ("lines", "offsets", "raw")

_FIELD_KEYS = {"name", "line", "cols", "at", "len", "parts", "converter", "when", "unless", "min", "max",
               "slot_width"}
_TOP_KEYS = {"name", "description", "type", "extends", "header", "check", "field", "tail"}


class LayoutError(ValueError):
    """A layout file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Span:
    """Where text sits: (line, first col, last col incl.) for line layouts, (1-based at, len) for offsets."""

    line: int | None
    start: int  # 0-based index into the line (lines) or into the text after the header (offsets)
    stop: int  # exclusive

    def describe(self) -> str:
        if self.line is not None:
            return f"line {self.line} cols {self.start}-{self.stop - 1}"
        return f"offset {self.start + 1}-{self.stop}"


@dataclass(frozen=True, slots=True)
class FieldSpec:
    name: str
    parts: tuple[Span, ...]
    converter: str
    when: str | None = None  # slice must start with this (label such as "P#"), removed before converting
    unless: str | None = None  # field is null when the slice starts with this
    min: float | None = None
    max: float | None = None
    slot_width: int | None = None  # for "slots": width of each item

    def describe(self) -> str:
        return " + ".join(part.describe() for part in self.parts)


@dataclass(frozen=True, slots=True)
class Check:
    span: Span
    text: str


@dataclass(frozen=True, slots=True)
class Tail:
    """Free-text lines at the end of a line layout: PSAP name (may wrap) and the agency lines."""

    from_line: int
    psap_prefix: str
    agency_lines: int


@dataclass(frozen=True, slots=True)
class Layout:
    name: str
    type: str  # "lines", "offsets" or "raw"
    description: str = ""
    header_width: int = 0
    position: tuple[int, int] | None = None  # header slice [start, stop) holding the position
    checks: tuple[Check, ...] = ()
    fields: tuple[FieldSpec, ...] = ()
    tail: Tail | None = None
    source: str = ""  # where it was loaded from, for messages


def _layouts_dir():
    return resources.files("assets") / "layouts"


def available_layouts() -> list[str]:
    """Names of the shipped layouts."""
    return sorted(p.name[:-5] for p in _layouts_dir().iterdir()
                  if p.name.endswith(".toml") and p.name != "class_of_service.toml")


def _read_toml(name_or_path: str | Path) -> tuple[dict[str, Any], str, Path | None]:
    """(data, source for messages, folder for relative `extends`)."""
    text_name = str(name_or_path)
    looks_like_path = isinstance(name_or_path, Path) or text_name.endswith(".toml") or "/" in text_name \
        or "\\" in text_name
    try:
        if looks_like_path:
            path = Path(name_or_path)
            return tomllib.loads(path.read_text(encoding="utf-8")), str(path), path.parent
        resource = _layouts_dir() / f"{text_name}.toml"
        if not resource.is_file() or text_name == "class_of_service":
            known = ", ".join(available_layouts())
            raise LayoutError(f"no layout named {text_name!r} (shipped: {known}; or give a .toml file)")
        return tomllib.loads(resource.read_text(encoding="utf-8")), f"layout {text_name}", None
    except OSError as err:
        raise LayoutError(f"{text_name}: cannot read layout: {err.strerror or err}") from None
    except tomllib.TOMLDecodeError as err:
        raise LayoutError(f"{text_name}: not valid TOML: {err}") from None
    except UnicodeDecodeError:
        raise LayoutError(f"{text_name}: not UTF-8 text") from None


def _merge(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """Child overrides base: scalars and tables replace; fields and checks replace by name / are appended."""
    merged = {**base, **{k: v for k, v in child.items() if k not in ("field", "extends")}}
    fields = {f.get("name"): f for f in base.get("field", [])}
    for field in child.get("field", []):
        fields[field.get("name")] = field
    merged["field"] = list(fields.values())
    merged.pop("extends", None)
    return merged


def _span(entry: dict[str, Any], layout_type: str, where: str) -> Span:
    if layout_type == "lines":
        line, cols = entry.get("line"), entry.get("cols")
        if not isinstance(line, int) or line < 0:
            raise LayoutError(f"{where}: needs line = <number from 0>")
        if (not isinstance(cols, list) or len(cols) != 2 or not all(isinstance(c, int) for c in cols)
                or not 0 <= cols[0] <= cols[1]):
            raise LayoutError(f"{where}: needs cols = [first, last] (0-based, last included)")
        return Span(line, cols[0], cols[1] + 1)
    at, length = entry.get("at"), entry.get("len", len(entry.get("text", "")) or None)
    if not isinstance(at, int) or at < 1 or not isinstance(length, int) or length < 1:
        raise LayoutError(f"{where}: needs at = <1-based position> and len = <characters>")
    return Span(None, at - 1, at - 1 + length)


def _number(value: Any, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LayoutError(f"{where}: must be a number")
    return float(value)


def _field(entry: Any, layout_type: str, where: str) -> FieldSpec:
    if not isinstance(entry, dict):
        raise LayoutError(f"{where}: must be a table")
    unknown = set(entry) - _FIELD_KEYS
    if unknown:
        raise LayoutError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    name = entry.get("name")
    if name not in FIELD_NAMES:
        raise LayoutError(f"{where}: name {name!r} is not one of {', '.join(FIELD_NAMES)}")
    where = f"{where} ({name})"
    converter = entry.get("converter", "text")
    if converter not in CONVERTER_NAMES:
        raise LayoutError(f"{where}: unknown converter {converter!r} (known: {', '.join(sorted(CONVERTER_NAMES))})")
    raw_parts = entry.get("parts", [entry])
    if not isinstance(raw_parts, list) or not raw_parts:
        raise LayoutError(f"{where}: parts must be a list of places")
    parts = tuple(_span(p if isinstance(p, dict) else {}, layout_type, f"{where} part {i}")
                  for i, p in enumerate(raw_parts))
    slot_width = entry.get("slot_width")
    if converter == "slots" and (not isinstance(slot_width, int) or slot_width < 1):
        raise LayoutError(f"{where}: converter 'slots' needs slot_width = <characters>")
    for key in ("when", "unless"):
        if key in entry and not isinstance(entry[key], str):
            raise LayoutError(f"{where}: {key} must be text")
    return FieldSpec(name, parts, converter, entry.get("when"), entry.get("unless"),
                     _number(entry.get("min"), f"{where}: min"), _number(entry.get("max"), f"{where}: max"),
                     slot_width)


def layout_from_dict(data: dict[str, Any], source: str = "layout") -> Layout:
    """Check and build a layout from parsed TOML (no `extends` resolution here)."""
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise LayoutError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}")
    layout_type = data.get("type")
    if layout_type not in LAYOUT_TYPES:
        raise LayoutError(f"{source}: type must be one of {', '.join(LAYOUT_TYPES)}, not {layout_type!r}")
    header = data.get("header", {})
    width = header.get("width", 0)
    if not isinstance(width, int) or width < 0:
        raise LayoutError(f"{source}: header.width must be a whole number of characters")
    position = header.get("position")
    if position is not None:
        if (not isinstance(position, list) or len(position) != 2 or not all(isinstance(c, int) for c in position)
                or not 0 <= position[0] <= position[1]):
            raise LayoutError(f"{source}: header.position must be [first, last] (0-based, last included)")
        position = (position[0], position[1] + 1)
    checks = []
    for i, entry in enumerate(data.get("check", [])):
        where = f"{source}: check {i}"
        if not isinstance(entry, dict) or not isinstance(entry.get("text"), str) or not entry["text"]:
            raise LayoutError(f"{where}: needs text = \"...\"")
        checks.append(Check(_span(entry, layout_type, where), entry["text"]))
    fields = tuple(_field(entry, layout_type, f"{source}: field {i}") for i, entry in enumerate(data.get("field", [])))
    if layout_type == "raw" and fields:
        raise LayoutError(f"{source}: a raw layout has no fields")
    names = [f.name for f in fields]
    if len(set(names)) != len(names):
        raise LayoutError(f"{source}: a field name appears twice")
    tail = None
    if "tail" in data:
        t = data["tail"]
        if layout_type != "lines":
            raise LayoutError(f"{source}: [tail] is for line layouts only")
        try:
            tail = Tail(int(t["from_line"]), str(t.get("psap_prefix", "PSAP=")), int(t.get("agency_lines", 0)))
        except (KeyError, TypeError, ValueError):
            raise LayoutError(f"{source}: [tail] needs from_line, psap_prefix and agency_lines") from None
    return Layout(str(data.get("name", source)), layout_type, str(data.get("description", "")), width, position,
                  tuple(checks), fields, tail, source)


def load_layout(name_or_path: str | Path) -> Layout:
    """A shipped layout by name ("30w", "warren", "raw") or a site's .toml file. Raises LayoutError."""
    data, source, folder = _read_toml(name_or_path)
    seen = {source}
    while "extends" in data:
        parent = data["extends"]
        if not isinstance(parent, str):
            raise LayoutError(f"{source}: extends must be a layout name or file")
        if folder is not None and parent.endswith(".toml") and not Path(parent).is_absolute():
            parent = str(folder / parent)
        base, base_source, base_folder = _read_toml(parent)
        if base_source in seen:
            raise LayoutError(f"{source}: extends loops back to {base_source}")
        seen.add(base_source)
        merged = _merge(base, data)
        if "extends" in base:
            merged["extends"] = base["extends"]
        data = merged
        folder = base_folder or folder
    return layout_from_dict(data, source)


@cache
def class_of_service_table() -> dict[str, str]:
    """Code -> meaning, from assets/layouts/class_of_service.toml."""
    data = tomllib.loads((_layouts_dir() / "class_of_service.toml").read_text(encoding="utf-8"))
    return {str(code).upper(): str(meaning) for code, meaning in data.get("codes", {}).items()}


def service_for(code: str | None) -> str | None:
    """What a class-of-service code means, or None for an unknown code."""
    if not code:
        return None
    return class_of_service_table().get(code.strip().upper())
