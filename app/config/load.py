"""Reading a profile from disk, turning every failure into a list of plain-language problems.

A bad profile must never produce a traceback: the technician fixing it needs the field and what was wrong.
"""

import atexit
import contextlib
import functools
import re
import tomllib
from dataclasses import dataclass
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from app.config.migrate import MigrationError, migrate_profile_data
from app.config.schema import INPUT_KINDS, PHONE_KINDS, RADIO_KINDS, Profile

FILE_FIELD = "(file)"
TOML_FIELD = "(toml)"

# Which kinds a discriminated section accepts, for "kind is missing" (pydantic's error does not list them).
_KINDS_BY_SECTION = {"radios": RADIO_KINDS, "inputs": INPUT_KINDS, "phone": PHONE_KINDS}


@dataclass(frozen=True)
class Problem:
    field: str  # dotted path with list indices, e.g. "radios[1].kind"; "(file)" or "(toml)" for the file itself
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class ProfileError(Exception):
    """A profile that cannot be used, with every problem found in it."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.path = Path(path)
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(f"{self.path}: {problem}" for problem in self.problems)

    def __reduce__(self) -> tuple[Any, ...]:
        # Keep the error picklable despite the custom __init__ (it may cross a process boundary).
        return (type(self), (self.path, self.problems))


# --- loading -------------------------------------------------------------------------------------


def load_profile(path: str | Path) -> Profile:
    """Read and validate a profile. Raises ProfileError (only) when it cannot be used."""
    path = Path(path)
    text = _read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        # tomllib's message already ends with "(at line L, column C)".
        raise ProfileError(path, [Problem(TOML_FIELD, str(err))]) from None
    try:
        data, migration_notes = migrate_profile_data(data)
    except MigrationError as err:
        raise ProfileError(path, [Problem("schema_version", str(err))]) from None
    try:
        profile = Profile.model_validate(data)
    except ValidationError as err:
        raise ProfileError(path, problems_from_validation(err, data)) from None
    profile._source_path = path.absolute()
    profile._migration_notes = tuple(migration_notes)
    return profile


_A_FOLDER = "is a folder, not a profile file"


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problem = "file not found"
    except IsADirectoryError:
        problem = _A_FOLDER
    except PermissionError:
        # Windows refuses to open a folder with a permission error; name the real cause.
        problem = _A_FOLDER if path.is_dir() else "permission denied (cannot read the file)"
    except OSError as err:
        problem = f"cannot read the file: {err.strerror or err}"
    else:
        try:
            # utf-8-sig: tolerate the byte-order mark some Windows editors add.
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as err:
            line = raw.count(b"\n", 0, err.start) + 1
            problem = f"not UTF-8 text (byte 0x{raw[err.start]:02x} on line {line}); save the file as UTF-8"
    raise ProfileError(path, [Problem(FILE_FIELD, problem)])


# --- the demo profile ----------------------------------------------------------------------------

# Keeps a resource extracted to a temporary file (zip or frozen installs) alive until the process exits;
# for an ordinary install as_file hands back the real path and this holds nothing.
_resource_files = contextlib.ExitStack()
atexit.register(_resource_files.close)


@functools.cache
def demo_profile_path() -> Path:
    """The shipped demo profile, which wires every device to a simulator."""
    resource = files("assets").joinpath("profiles/demo.toml")
    return _resource_files.enter_context(as_file(resource))


def load_demo_profile() -> Profile:
    return load_profile(demo_profile_path())


# --- pydantic errors -> problems -----------------------------------------------------------------


def problems_from_validation(err: ValidationError, data: Any) -> list[Problem]:
    """One Problem per pydantic error, with TOML-style field paths and messages a technician can act on."""
    problems: list[Problem] = []
    for error in err.errors():
        nested = (error.get("ctx") or {}).get("problems")
        if nested:  # Profile's cross-checks already name their own fields
            problems.extend(Problem(field, message) for field, message in nested)
            continue
        field = field_path(error["loc"], data)
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            field = f"{field}.kind" if field else "kind"
        problems.append(Problem(field or "(profile)", _friendly_message(error)))
    return problems


def field_path(loc: tuple[int | str, ...], data: Any) -> str:
    """("radios", 0, "sim", "seed") -> "radios[0].seed".

    Pydantic puts the matched union tag into the location; it is dropped by walking the input alongside:
    a step naming the `kind` of the table we are in, rather than one of its keys, is that tag.
    """
    text = ""
    node = data
    for step in loc:
        if isinstance(step, int):
            text += f"[{step}]"
            node = node[step] if isinstance(node, list) and -len(node) <= step < len(node) else None
            continue
        if step == "[key]":  # pydantic's marker for an error in a dict key rather than its value
            continue
        if isinstance(node, dict) and step not in node and node.get("kind") == step:
            continue
        key = step if re.fullmatch(r"[A-Za-z0-9_-]+", step) else f'"{step}"'
        text = f"{text}.{key}" if text else key
        node = node.get(step) if isinstance(node, dict) else None
    return text


_TYPE_WORDS = {
    "int": "an integer",
    "float": "a number",
    "bool": "true or false",
    "string": "a string (in quotes)",
    "list": "a list",
    "tuple": "a list",
    "dict": "a table",
    "model": "a table",
    "model_attributes": "a table",
}


def _friendly_message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    got = describe_value(error.get("input"))

    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown setting (check the spelling)"
    if kind == "union_tag_invalid":
        expected = ", ".join(re.findall(r"'([^']*)'", str(ctx.get("expected_tags", ""))))
        return f"unknown device kind {str(ctx.get('tag'))!r} (expected one of: {expected})"
    if kind == "union_tag_not_found":
        section = next((step for step in error["loc"] if isinstance(step, str)), "")
        kinds = _KINDS_BY_SECTION.get(section)
        return "required field is missing" + (f" (one of: {', '.join(kinds)})" if kinds else "")
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}, got {got}"
    if kind == "int_from_float":
        return f"expected an integer, got {got}"
    for prefix, words in _TYPE_WORDS.items():
        if kind in (f"{prefix}_type", f"{prefix}_parsing"):
            return f"expected {words}, got {got}"
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else f"must be at least {ctx['min_length']} characters"
    if kind == "string_too_long":
        return f"too long: at most {ctx.get('max_length')} characters, got {len(str(error.get('input', '')))}"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length')} values, got {ctx.get('actual_length')}"
    if kind == "too_long":
        return f"expected at most {ctx.get('max_length')} values, got {ctx.get('actual_length')}"
    bounds = {
        "greater_than": "greater than {gt}",
        "greater_than_equal": "at least {ge}",
        "less_than": "less than {lt}",
        "less_than_equal": "at most {le}",
    }
    if kind in bounds:
        return f"must be {bounds[kind].format(**ctx)}, got {got}"
    return error["msg"]


def describe_value(value: Any) -> str:
    """A value as the TOML author would recognise it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
