"""Position profile: schema, loading, friendly errors, paths, `config check`."""

import os
import pickle
import sys
from pathlib import Path

import pytest

from app.config import (
    Problem,
    Profile,
    ProfileError,
    check_profile,
    config_dir,
    data_dir,
    default_profile_path,
    demo_profile_path,
    load_demo_profile,
    load_profile,
    storage_path,
)
from app.config.schema import SimRadio, ToneRemoteRadio

MINIMAL = '[position]\nname = "TEST-1"\n'


def write(tmp_path: Path, text: str, name: str = "position.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[Problem]:
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    assert caught.value.path == path
    return caught.value.problems


def only_problem(path: Path) -> Problem:
    problems = problems_of(path)
    assert len(problems) == 1, problems
    return problems[0]


# --- the demo profile ----------------------------------------------------------------------------


def test_demo_profile_loads_and_wires_everything_to_simulators() -> None:
    profile = load_demo_profile()
    assert profile.position.name == "DEMO-1"
    assert profile.position.site == "Demo County ECC"
    assert len(profile.radios) == 6
    assert all(isinstance(radio, SimRadio) for radio in profile.radios)
    assert len({radio.seed for radio in profile.radios}) == 6
    assert {source.id for source in profile.inputs} == {"footswitch", "keyboard"}
    assert profile.ali is not None and profile.ali.url == "sim://phone" and profile.ali.layout == "30w"
    assert profile.phone is not None and profile.phone.kind == "sim"
    assert profile.phone.calls_per_minute == 1.0
    assert profile.audio.backend == "null"
    assert {"headset_left", "headset_right", "select_speaker", "unselect_speaker", "headset_mic", "desk_mic"} <= set(
        profile.audio.channels
    )
    ids = profile.device_ids()
    assert len(ids) == len(set(ids))
    assert ids[-2:] == ["ali", "phone"]


def test_demo_profile_path_is_a_real_file() -> None:
    path = demo_profile_path()
    assert path.is_file() and path.name == "demo.toml"
    assert load_demo_profile().source_path == path.absolute()


def test_check_profile_on_demo_is_ok() -> None:
    code, lines = check_profile(demo_profile_path())
    assert code == 0
    assert lines == [f"OK: {demo_profile_path()} (position DEMO-1, 6 radios, 2 inputs)"]


# --- defaults and a fuller valid profile ---------------------------------------------------------


def test_minimal_profile_takes_defaults(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, MINIMAL))
    assert profile.schema_version == 1
    assert profile.position.role == "dispatcher"
    assert profile.audio.backend == "null" and profile.audio.samplerate == 48000 and profile.audio.latency == "low"
    assert profile.radios == [] and profile.inputs == []
    assert profile.ali is None and profile.phone is None
    assert profile.device_ids() == []


def test_every_device_kind_validates(tmp_path: Path) -> None:
    text = MINIMAL + """
[audio]
device = 3          # an index typed as a number is kept as text
latency = 0.02
[audio.channels]
radio_tx = 5
radio_rx = 3
[[radios]]
id = "sim-1"
name = "SIM"
kind = "sim"
burst_seconds = [1, 2]
unit_ids = ["1a2f"]
[[radios]]
id = "serial-1"
name = "SERIAL"
kind = "serial"
url = "loop://"
ptt_line = "dtr"
[[radios]]
id = "rig-1"
name = "RIG"
kind = "hamlib"
[[radios.channels]]
name = "FIRE"
freq_hz = 154_250_000
[[radios]]
id = "tone-1"
name = "TONE"
kind = "tone-remote"
tx_output = "radio_tx"
rx_input = "radio_rx"
[radios.functions]
F1 = 1950
F2 = 1850.0
[[inputs]]
id = "pedal"
kind = "sim"
presses = [[0.5, 1.0]]
[[inputs]]
id = "line"
kind = "serial-line"
url = "/dev/ttyUSB0"
line = "dsr"
[[inputs]]
id = "midi-1"
kind = "midi"
port = "nanoKONTROL"
cc = 64
channel = 1
[[inputs]]
id = "ev"
kind = "evdev"
device = "Foot Switch"
[[inputs]]
id = "kb"
kind = "keyboard"
action = "monitor"
[ali]
url = "tcp-listen://0.0.0.0:5001"
stopbits = 1.5
[phone]
kind = "none"
"""
    profile = load_profile(write(tmp_path, text))
    assert profile.audio.device == "3"
    assert profile.audio.latency == 0.02
    assert [radio.kind for radio in profile.radios] == ["sim", "serial", "hamlib", "tone-remote"]
    assert profile.radios[0].burst_seconds == (1.0, 2.0)
    assert profile.radios[0].unit_ids == ["1A2F"]
    tone = profile.radios[3]
    assert isinstance(tone, ToneRemoteRadio) and tone.functions == {"F1": 1950.0, "F2": 1850.0}
    assert [source.kind for source in profile.inputs] == ["sim", "serial-line", "midi", "evdev", "keyboard"]
    assert profile.device_ids()[-2:] == ["ali", "phone"]


def test_rebids_can_be_switched_off_with_false(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, MINIMAL + '[phone]\nkind = "sim"\nrebid_after_s = false\n'))
    assert profile.phone is not None and profile.phone.rebid_after_s is None


# --- schema errors -------------------------------------------------------------------------------


def test_missing_required_field_names_it(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, '[position]\nsite = "X"\n'))
    assert problem == Problem("position.name", "required field is missing")


def test_missing_position_table(tmp_path: Path) -> None:
    assert only_problem(write(tmp_path, "schema_version = 1\n")) == Problem("position", "required field is missing")


def test_wrong_type_names_field_and_expected_type(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, MINIMAL + '[audio]\nsamplerate = "abc"\n'))
    assert problem == Problem("audio.samplerate", "expected an integer, got 'abc'")


def test_numbers_in_quotes_are_not_coerced(tmp_path: Path) -> None:
    # Strict on purpose: a quoted number or "yes" for a bool is a typo, not a value.
    problems = problems_of(write(tmp_path, MINIMAL + '[audio]\nsamplerate = "48000"\n'))
    assert problems == [Problem("audio.samplerate", "expected an integer, got '48000'")]
    text = MINIMAL + '[[radios]]\nid = "r"\nname = "R"\nkind = "sim"\nlive = "yes"\n'
    assert only_problem(write(tmp_path, text)) == Problem("radios[0].live", "expected true or false, got 'yes'")


def test_unsupported_samplerate_lists_choices(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, MINIMAL + "[audio]\nsamplerate = 44000\n"))
    assert problem.field == "audio.samplerate"
    assert "44000" in problem.message and "48000" in problem.message


def test_unknown_radio_kind_lists_expected_kinds(tmp_path: Path) -> None:
    text = MINIMAL + '[[radios]]\nid = "r1"\nname = "R1"\nkind = "foo"\n'
    problem = only_problem(write(tmp_path, text))
    assert problem == Problem(
        "radios[0].kind", "unknown device kind 'foo' (expected one of: sim, serial, hamlib, tone-remote)"
    )


def test_missing_kind_is_reported_on_kind(tmp_path: Path) -> None:
    text = MINIMAL + '[[inputs]]\nid = "i1"\n'
    problem = only_problem(write(tmp_path, text))
    assert problem.field == "inputs[0].kind"
    assert problem.message.startswith("required field is missing")
    assert "serial-line" in problem.message


def test_error_inside_a_device_drops_pydantics_union_tag(tmp_path: Path) -> None:
    text = MINIMAL + '[[radios]]\nid = "r1"\nname = "R1"\nkind = "sim"\n'
    text += '[[radios]]\nid = "r2"\nname = "R2"\nkind = "hamlib"\nport = 70000\n'
    problem = only_problem(write(tmp_path, text))
    assert problem == Problem("radios[1].port", "must be at most 65535, got 70000")


def test_unknown_setting_is_an_error(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, MINIMAL + "[audio]\nsampelrate = 48000\n"))
    assert problem == Problem("audio.sampelrate", "unknown setting (check the spelling)")
    problem = only_problem(write(tmp_path, MINIMAL + "[audoi]\n"))
    assert problem == Problem("audoi", "unknown setting (check the spelling)")


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    text = '[position]\nrole = "boss"\n[audio]\nblocksize = 8\nlatency = "medium"\n'
    fields = [problem.field for problem in problems_of(write(tmp_path, text))]
    assert fields == ["position.name", "position.role", "audio.blocksize", "audio.latency"]


def test_invalid_id_and_long_name(tmp_path: Path) -> None:
    text = MINIMAL + '[[radios]]\nid = "Fire 1"\nname = "A NAME THAT IS FAR TOO LONG"\nkind = "sim"\n'
    problems = {problem.field: problem.message for problem in problems_of(write(tmp_path, text))}
    assert "invalid id 'Fire 1'" in problems["radios[0].id"]
    assert "at most 24 characters" in problems["radios[0].name"]


def test_midi_needs_exactly_one_of_note_or_cc(tmp_path: Path) -> None:
    text = MINIMAL + '[[inputs]]\nid = "m"\nkind = "midi"\nport = "x"\nnote = 60\ncc = 64\n'
    assert only_problem(write(tmp_path, text)) == Problem("inputs[0]", "set exactly one of 'note' or 'cc'")


def test_duplicate_id_names_both_places(tmp_path: Path) -> None:
    text = MINIMAL + '[[radios]]\nid = "fire-1"\nname = "FIRE"\nkind = "sim"\n'
    text += '[[inputs]]\nid = "fire-1"\nkind = "keyboard"\n'
    problem = only_problem(write(tmp_path, text))
    assert problem.field == "inputs[0].id"
    assert "'fire-1'" in problem.message and "radios[0].id" in problem.message and "inputs[0].id" in problem.message


def test_duplicate_id_with_ali_and_reserved_ids(tmp_path: Path) -> None:
    text = MINIMAL + '[[radios]]\nid = "link"\nname = "R"\nkind = "sim"\n'
    text += '[[inputs]]\nid = "phone"\nkind = "keyboard"\n'
    text += '[ali]\nid = "link"\nurl = "sim://phone"\n'
    problems = {problem.field: problem.message for problem in problems_of(write(tmp_path, text))}
    assert "reserved" in problems["inputs[0].id"]
    assert "radios[0].id" in problems["ali.id"]


def test_tone_remote_output_must_be_an_audio_channel(tmp_path: Path) -> None:
    text = MINIMAL + "[audio.channels]\nline_out = 3\n"
    text += '[[radios]]\nid = "t"\nname = "T"\nkind = "tone-remote"\ntx_output = "line_uot"\n'
    problem = only_problem(write(tmp_path, text))
    assert problem.field == "radios[0].tx_output"
    assert "'line_uot'" in problem.message and "line_out" in problem.message


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, "schema_version = 2\n" + MINIMAL))
    assert problem.field == "schema_version" and "newer" in problem.message


# --- file-level errors ---------------------------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    assert only_problem(tmp_path / "nope.toml") == Problem("(file)", "file not found")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    problem = only_problem(tmp_path)
    assert problem.field == "(file)" and "folder" in problem.message


def test_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[position]\nname = "Z\xfcrich"\n')
    problem = only_problem(path)
    assert problem.field == "(file)"
    assert "UTF-8" in problem.message and "line 2" in problem.message


def test_utf8_byte_order_mark_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_profile(path).position.name == "TEST-1"


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX permissions and non-root")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    path.chmod(0)
    try:
        problem = only_problem(path)
    finally:
        path.chmod(0o644)
    assert problem.field == "(file)" and "permission denied" in problem.message


def test_toml_syntax_error_keeps_line_and_column(tmp_path: Path) -> None:
    problem = only_problem(write(tmp_path, '[position]\nname = "DEMO\n'))
    assert problem.field == "(toml)"
    assert "line 2" in problem.message and "column" in problem.message


def test_str_of_error_has_one_line_per_problem_with_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, '[position]\nrole = "boss"\n', name="desk-7.toml")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    lines = str(caught.value).splitlines()
    assert lines == [f"{path}: {problem.field}: {problem.message}" for problem in caught.value.problems]
    assert len(lines) == 2 and all("desk-7.toml" in line for line in lines)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert copy.path == path and copy.problems == caught.value.problems


def test_check_profile_reports_each_problem_with_exit_code_2(tmp_path: Path) -> None:
    path = write(tmp_path, '[position]\nrole = "boss"\n')
    code, lines = check_profile(path)
    assert code == 2
    assert len(lines) == 2 and lines[0] == f"{path}: position.name: required field is missing"


def test_check_profile_singular_counts(tmp_path: Path) -> None:
    text = MINIMAL + '[[radios]]\nid = "r"\nname = "R"\nkind = "sim"\n[[inputs]]\nid = "k"\nkind = "keyboard"\n'
    path = write(tmp_path, text)
    assert check_profile(path) == (0, [f"OK: {path} (position TEST-1, 1 radio, 1 input)"])


# --- paths ---------------------------------------------------------------------------------------


def test_env_overrides_config_and_data_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCH_CONSOLE_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("DISPATCH_CONSOLE_DATA_DIR", str(tmp_path / "data"))
    assert config_dir() == tmp_path / "cfg"
    assert data_dir() == tmp_path / "data"
    assert default_profile_path() == tmp_path / "cfg" / "position.toml"
    assert not (tmp_path / "cfg").exists()  # asking for a path creates nothing


def test_platform_dirs_without_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPATCH_CONSOLE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("DISPATCH_CONSOLE_DATA_DIR", raising=False)
    assert "dispatch-console" in config_dir().parts
    assert "dispatch-console" in data_dir().parts


def test_storage_defaults_to_data_dir_and_slug(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPATCH_CONSOLE_DATA_DIR", str(tmp_path / "data"))
    assert storage_path(load_demo_profile()) == tmp_path / "data" / "demo-1.sqlite3"
    profile = load_profile(write(tmp_path, '[position]\nname = "Fire Disp #2"\n'))
    assert storage_path(profile) == tmp_path / "data" / "fire-disp-2.sqlite3"


def test_storage_and_lookup_paths_are_relative_to_profile(tmp_path: Path) -> None:
    folder = tmp_path / "profiles"
    folder.mkdir()
    text = MINIMAL + '[storage]\npath = "db/desk.sqlite3"\n[directory]\nfile = "dir.csv"\n'
    profile = load_profile(write(folder, text))
    assert storage_path(profile) == folder / "db" / "desk.sqlite3"
    assert profile.resolved_path(profile.directory.file) == folder / "dir.csv"
    assert profile.resolved_path(profile.registry.file) is None
    absolute = str(tmp_path / "elsewhere.csv")
    assert profile.resolved_path(absolute) == Path(absolute)


def test_profile_built_in_code_has_no_source() -> None:
    profile = Profile.model_validate({"position": {"name": "CODE"}})
    assert profile.source_path is None
    assert profile.resolved_path("x.csv") == Path("x.csv")


def test_permission_error_is_reported_even_as_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, MINIMAL)

    def refuse(self: Path) -> bytes:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_bytes", refuse)
    assert only_problem(path) == Problem("(file)", "permission denied (cannot read the file)")
