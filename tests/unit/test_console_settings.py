"""The [console] profile section, per-radio keying options, and patch-group VOX rules (pure)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from app.config.schema import Profile
from app.console.patches import PatchGroups
from app.console.settings import ConsoleSettings, RadioKeying, console_settings


def profile(**extra) -> Profile:
    data = {"position": {"name": "POS 1"},
            "radios": [{"id": "fire", "name": "FIRE", "kind": "sim", "talk_permit": True, "key_up_delay_ms": 250,
                        "busy_lockout": True}, {"id": "ems", "name": "EMS", "kind": "sim"}],
            "inputs": [{"id": "foot", "kind": "sim"}, {"id": "hs", "kind": "sim", "action": "headset-ptt"},
                       {"id": "mic", "kind": "sim"}]}
    data.update(extra)
    return Profile.model_validate(data)


def test_defaults_and_classes_from_the_inputs():
    s = console_settings(profile(console={"ptt_class": {"mic": "desk"}, "latching": ["console"]}))
    assert (s.tot_s, s.tot_warning_s, s.priority) == (60.0, 10.0, ("console", "headset", "footswitch", "desk"))
    assert s.source_class("foot") == "footswitch" and s.source_class("hs") == "headset"
    assert s.source_class("mic") == "desk" and s.source_class("keyboard") == "console"
    assert s.latching == frozenset({"console"})
    assert s.radio("fire") == RadioKeying(True, 250, True) and s.radio("ems") == RadioKeying()
    assert s.patch_hang_s == 2.0  # the audio mix's patch hang: one setting for sound and keying


@pytest.mark.parametrize("console, words", [
    ({"ptt_priority": ["console", "console"]}, "each class may appear once"),
    ({"tot_s": 10, "tot_warning_s": 10}, "must be less than tot_s"),
    ({"latching": ["pedal"]}, "latching"),
    ({"tot_s": 0}, "tot_s"),
    ({"ptt_class": {"foot": "knee"}}, "ptt_class"),
])
def test_bad_console_section_names_the_field(console, words):
    with pytest.raises(ValidationError) as err:
        profile(console=console)
    assert words in str(err.value)


def test_unknown_source_is_console_class():
    assert ConsoleSettings().source_class("gui-button") == "console"


def test_patch_vox_keys_the_others_and_hangs():
    groups = PatchGroups(hang_s=2.0)
    groups.set("p1", ("a", "b", "c"))
    g = groups.carrier("a", True, now=10.0)
    assert groups.to_key(g, {"a"}, 10.0) == ("b", "c")
    groups.carrier("a", False, now=11.0)
    assert groups.to_key(g, set(), 12.9) == ("b", "c")  # hang
    assert groups.to_key(g, set(), 13.0) == ()
    groups.carrier("b", True, now=14.0)  # b answers: a and c are keyed, never b itself
    assert groups.to_key(g, {"b"}, 14.0) == ("a", "c")
    assert groups.to_key(g, {"b", "c"}, 14.0) == ("a",)  # a member with carrier is not keyed


def test_a_channel_is_in_one_group_at_a_time():
    groups = PatchGroups(hang_s=1.0)
    groups.set("p1", ("a", "b", "c"))
    groups.set("p2", ("d", "e"))
    assert groups.set("p3", ("c", "d")) == ["p1", "p2"]
    assert groups.get("p1").members == ("a", "b")
    assert groups.get("p2") is None  # one member left: dissolved
    assert groups.group_of("d").id == "p3"
    assert groups.remove("p3") and groups.group_of("d") is None


def test_a_surface_control_bound_to_headset_ptt_keys_in_the_headset_class():
    from app.config.schema import Profile
    from app.console.input_map import ptt_source_classes
    from app.console.settings import console_settings

    profile = Profile.model_validate({
        "schema_version": 1, "position": {"name": "P"},
        "radios": [{"id": "fire", "name": "FIRE", "kind": "sim"}],
        "inputs": [{"id": "surface", "kind": "midi", "port": "X-Touch", "bindings": [
            {"note": 60, "action": "headset-ptt"}, {"note": 61, "action": "ptt"}]}],
    })
    classes = console_settings(profile).source_classes
    sources = ptt_source_classes(profile.inputs)
    assert sorted(sources.values()) == ["footswitch", "headset"]
    for source, expected in sources.items():
        assert classes[source] == expected
