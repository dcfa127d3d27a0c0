"""[audio] in the profile: mix options, channel sides and clashes, and the map the engine is built from."""

from pathlib import Path

import pytest

from app.audio.endpoints import audio_map
from app.config import ProfileError, load_demo_profile, load_profile

MINIMAL = '[position]\nname = "TEST-1"\n'


def problems(tmp_path: Path, text: str) -> list[tuple[str, str]]:
    path = tmp_path / "p.toml"
    path.write_text(MINIMAL + text, encoding="utf-8")
    with pytest.raises(ProfileError) as caught:
        load_profile(path)
    return [(p.field, p.message) for p in caught.value.problems]


def radio(rid: str, rx: str = "", tx: str = "") -> str:
    return f'[[radios]]\nid = "{rid}"\nname = "{rid.upper()}"\nkind = "sim"\nrx_input = "{rx}"\ntx_output = "{tx}"\n'


def test_demo_profile_maps_every_radio_both_ways() -> None:
    profile = load_demo_profile()
    amap = audio_map(profile.audio.channels,
                     [(r.id, r.name, r.kind, r.rx_input, r.tx_output) for r in profile.radios])
    assert set(amap.radio_rx) == set(amap.radio_tx) == {r.id for r in profile.radios}
    assert amap.endpoints.headset_left == 0 and amap.endpoints.headset_right == 1
    assert amap.endpoints.headset_mics == (0,) and amap.endpoints.desk_mic == 1 and amap.endpoints.phone_rx == 2
    assert amap.n_in == 9 and amap.n_out == 11
    assert amap.input_labels[3] == "FIRE DISP RX" and amap.output_labels[0] == "Headset L"
    assert amap.recall_inputs == (3, 4, 5, 6, 7, 8)


def test_mix_options_load_and_sidetone_false_means_none(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(MINIMAL + '[audio.mix]\nunselect = "headset"\nunselect_db = -6.0\nsidetone_db = false\n',
                    encoding="utf-8")
    mix = load_profile(path).audio.mix
    assert mix.unselect == "headset" and mix.unselect_db == -6.0 and mix.sidetone_db is None


def test_mix_values_out_of_range_name_the_field(tmp_path: Path) -> None:
    found = problems(tmp_path, '[audio.mix]\nduck_db = 6.0\nunselect = "floor"\n')
    fields = [f for f, _ in found]
    assert fields == ["audio.mix.unselect", "audio.mix.duck_db"] or sorted(fields) == sorted(
        ["audio.mix.unselect", "audio.mix.duck_db"])


def test_rx_input_on_an_output_endpoint_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, "[audio.channels]\nheadset_left = 1\n" + radio("a", rx="headset_left"))
    assert found == [("radios[0].rx_input", "'headset_left' is an output channel; rx_input needs an input")]


def test_one_port_for_two_radios_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, "[audio.channels]\nline = 1\n" + radio("a", tx="line") + radio("b", tx="line"))
    assert found == [("radios[1].tx_output", "'line' is already radios[0].tx_output; each radio needs its own")]


def test_a_name_used_as_input_and_output_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, "[audio.channels]\nport = 1\n" + radio("a", rx="port") + radio("b", tx="port"))
    assert found == [("radios[1].tx_output", "'port' is an input channel; tx_output needs an output")]


def test_two_names_on_one_channel_number_are_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, "[audio.channels]\nheadset_mic = 2\ndesk_mic = 2\n")
    assert found == [("audio.channels.desk_mic", "input channel 2 is already 'headset_mic'")]


def test_inputs_and_outputs_may_share_a_number(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(MINIMAL + "[audio.channels]\nheadset_left = 1\nheadset_mic = 1\n", encoding="utf-8")
    assert load_profile(path).audio.channels == {"headset_left": 1, "headset_mic": 1}


def test_an_unused_free_name_is_refused(tmp_path: Path) -> None:
    found = problems(tmp_path, "[audio.channels]\nspare = 4\n")
    assert len(found) == 1 and found[0][0] == "audio.channels.spare"
    assert "neither a known endpoint" in found[0][1]


def test_radio_volume_and_pan_are_checked(tmp_path: Path) -> None:
    found = problems(tmp_path, radio("a") + "pan = 1.5\nvolume_db = 20.0\n")
    assert sorted(f for f, _ in found) == ["radios[0].pan", "radios[0].volume_db"]


def test_recall_and_test_level_ranges(tmp_path: Path) -> None:
    found = problems(tmp_path, "[audio]\nrecall_minutes = 45.0\ntest_level_dbfs = 3.0\n")
    assert sorted(f for f, _ in found) == ["audio.recall_minutes", "audio.test_level_dbfs"]
