"""The input map: profile bindings -> console commands, held actions, lost devices, LEDs.

The console and audio service here only record what they were asked (the map is the thing under
test; the ConsoleService has its own tests). Profiles go through the real schema.
"""

from __future__ import annotations

import pytest

from app.config.schema import Profile
from app.console.input_map import ANY_CONTROL, Binding, InputMap, bindings_for, fader_db, ptt_source_classes
from app.console.surface_leds import SurfaceLeds
from app.snapshots import ChannelView, ConsoleSnapshot
from hardware.events import ControlValue, InputChanged, LinkChanged, LinkState

RADIOS = [{"id": "fire", "name": "Fire", "kind": "sim"}, {"id": "ems", "name": "EMS", "kind": "sim"}]
INPUTS = [
    {"id": "pedal", "kind": "sim", "action": "ptt"},
    {"id": "jack", "kind": "serial-line", "url": "loop://", "action": "jackbox"},
    {"id": "surface", "kind": "midi", "port": "nanoKONTROL", "bindings": [
        {"note": 60, "action": "ptt"},
        {"note": 61, "action": "ptt"},
        {"note": 62, "channel": 2, "action": "headset-ptt"},
        {"note": 40, "action": "select:fire"},
        {"note": 41, "action": "itx:ems"},
        {"note": 42, "action": "monitor:fire", "led": "receive"},
        {"note": 43, "action": "monitor"},
        {"note": 44, "action": "alert2"},
        {"note": 45, "action": "alert1:fire"},
        {"note": 46, "action": "talk-back"},
        {"cc": 7, "action": "volume:ems"},
        {"cc": 64, "action": "jackbox"},
    ]},
    {"id": "keys", "kind": "evdev", "device": "PCsensor", "keys": [
        {"key": "KEY_F13", "action": "ptt"}, {"key": "key_f14", "action": "itx:fire"}]},
]


class Recorder:
    """Records each call made on it as (name, args)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __getattr__(self, name):
        return lambda *args: self.calls.append((name, *args))


def profile(inputs=INPUTS) -> Profile:
    return Profile.model_validate({"position": {"name": "P"}, "radios": RADIOS, "inputs": inputs})


@pytest.fixture
def mapped():
    console, audio = Recorder(), Recorder()
    return InputMap(bindings_for(profile().inputs), console, audio), console, audio


def press(m: InputMap, device: str, control: str, pressed: bool = True) -> None:
    m.on_input(InputChanged(device, pressed, control=control))


def test_bindings_use_the_drivers_control_names():
    got = {(b.device, b.control): (b.action, b.led) for b in bindings_for(profile().inputs)}
    assert got[("pedal", ANY_CONTROL)] == ("ptt", "none")
    assert got[("surface", "note62/ch2")] == ("headset-ptt", "transmit")
    assert got[("surface", "note40")] == ("select:fire", "selected")
    assert got[("surface", "note42")] == ("monitor:fire", "receive")
    assert got[("surface", "cc7")] == ("volume:ems", "none")
    assert got[("keys", "KEY_F14")] == ("itx:fire", "none")
    single = profile([{"id": "fs", "kind": "midi", "port": "x", "cc": 64, "channel": 3, "action": "headset-ptt"},
                      {"id": "foot", "kind": "evdev", "device": "/dev/input/event3"}])
    assert [(b.device, b.control, b.action) for b in bindings_for(single.inputs)] == [
        ("fs", "cc64/ch3", "headset-ptt"), ("foot", "KEY_F13", "ptt")]


def test_two_pedals_hold_one_ptt_together(mapped):
    m, console, _ = mapped
    press(m, "surface", "note60")
    press(m, "surface", "note61")
    press(m, "surface", "note60")  # a repeat changes nothing
    press(m, "surface", "note60", False)
    assert console.calls == [("ptt", "surface", True)]
    press(m, "surface", "note61", False)
    assert console.calls == [("ptt", "surface", True), ("ptt", "surface", False)]
    press(m, "surface", "note61", False)  # a release nobody pressed
    assert len(console.calls) == 2


def test_single_action_inputs_and_evdev_keys(mapped):
    m, console, audio = mapped
    press(m, "pedal", "ptt")
    press(m, "pedal", "ptt", False)
    press(m, "keys", "KEY_F14")
    press(m, "keys", "KEY_F14", False)
    press(m, "keys", "KEY_F15")  # not bound
    assert console.calls == [("ptt", "pedal", True), ("ptt", "pedal", False),
                             ("instant_transmit", "fire", "keys", True), ("instant_transmit", "fire", "keys", False)]
    assert audio.calls == []


def test_headset_ptt_is_its_own_source(mapped):
    m, console, _ = mapped
    press(m, "surface", "note62/ch2")
    press(m, "surface", "note60")
    assert console.calls == [("ptt", "surface:headset", True), ("ptt", "surface", True)]
    assert ptt_source_classes(profile().inputs) == {
        "pedal": "footswitch", "surface": "footswitch", "surface:headset": "headset", "keys": "footswitch"}
    legacy = profile([{"id": "hs", "kind": "serial-line", "url": "loop://", "action": "headset-ptt"}])
    assert ptt_source_classes(legacy.inputs) == {"hs": "headset"}


def test_press_actions_select_alerts_talk_back_volume(mapped):
    m, console, _ = mapped
    press(m, "surface", "note40")
    press(m, "surface", "note40", False)
    press(m, "surface", "note44")
    press(m, "surface", "note45")
    press(m, "surface", "note46")
    press(m, "surface", "note46", False)
    m.on_value(ControlValue("surface", "cc7", 1.0))
    m.on_value(ControlValue("surface", "cc7", 0.0))
    m.on_value(ControlValue("surface", "cc8", 0.5))  # not bound
    assert console.calls == [
        ("select_channel", "fire", True),
        ("send_alert", "alert2", ()), ("send_alert", "alert1", ("fire",)),
        ("talk_back", "surface", True), ("talk_back", "surface", False),
        ("set_volume", "ems", 12.0), ("set_volume", "ems", -60.0),
    ]
    assert fader_db(60 / 72) == 0.0 and fader_db(2.0) == 12.0


def test_monitor_holds_the_channels_selected_at_the_press(mapped):
    m, console, _ = mapped
    m.on_console(ConsoleSnapshot((ChannelView("fire", "Fire", "sim", selected=True),
                                  ChannelView("ems", "EMS", "sim", selected=True))))
    press(m, "surface", "note43")
    m.on_console(ConsoleSnapshot((ChannelView("fire", "Fire", "sim"), ChannelView("ems", "EMS", "sim"))))
    press(m, "surface", "note43", False)
    press(m, "surface", "note42")
    press(m, "surface", "note42", False)
    assert console.calls == [("monitor", "fire", True), ("monitor", "ems", True),
                             ("monitor", "fire", False), ("monitor", "ems", False),
                             ("monitor", "fire", True), ("monitor", "fire", False)]


def test_jackbox_goes_to_the_audio_service(mapped):
    m, console, audio = mapped
    ev = InputChanged("jack", False, control="cts")
    m.on_input(ev)
    cc = InputChanged("surface", True, control="cc64")
    m.on_input(cc)
    assert audio.calls == [("on_input", ev), ("on_input", cc)]
    assert console.calls == []


def test_a_lost_device_lets_go_of_everything_it_held(mapped):
    m, console, _ = mapped
    press(m, "surface", "note60")
    press(m, "surface", "note41")
    press(m, "pedal", "ptt")
    m.on_link(LinkChanged("surface", LinkState.UP))
    assert len(console.calls) == 3
    m.on_link(LinkChanged("surface", LinkState.DOWN, "unplugged"))
    assert sorted(console.calls[3:]) == [("instant_transmit", "ems", "surface", False), ("ptt", "surface", False)]
    assert m.held() == [("ptt", "pedal")]
    press(m, "surface", "note60", False)  # a late release after the loss does nothing more
    assert len(console.calls) == 5


class LedDriver:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bool]] = []

    def set_led(self, control: str, on: bool) -> None:
        self.sent.append((control, on))


def test_surface_leds_follow_the_console():
    driver = LedDriver()
    m = InputMap.from_profile(profile().inputs, Recorder(), drivers={"surface": driver, "pedal": object()})
    assert isinstance(m.leds, SurfaceLeds)
    fire, ems = ChannelView("fire", "Fire", "sim"), ChannelView("ems", "EMS", "sim")
    m.on_console(ConsoleSnapshot((fire, ems)))
    lit = dict(driver.sent)
    assert lit == {"note60": False, "note61": False, "note62/ch2": False, "note40": False, "note41": False,
                   "note42": False, "note43": False, "note44": False, "note45": False, "note46": False}
    driver.sent.clear()
    m.on_console(ConsoleSnapshot((fire, ems)))
    assert driver.sent == []  # only changes are sent
    from dataclasses import replace
    m.on_console(ConsoleSnapshot((replace(fire, selected=True, receiving=True), replace(ems, transmitting=True))))
    assert sorted(driver.sent) == sorted([
        ("note40", True),  # select:fire shows fire selected
        ("note42", True),  # monitor:fire shows fire receiving
        ("note41", True),  # itx:ems shows ems transmitting
        ("note60", True), ("note61", True), ("note62/ch2", True), ("note44", True), ("note46", True),  # any tx
        ("note43", True),  # monitor (no radio): any channel receiving
    ])
    driver.sent.clear()
    m.on_console(ConsoleSnapshot((replace(fire, selected=True), ems)))
    assert sorted(driver.sent) == sorted([("note42", False), ("note41", False), ("note60", False), ("note61", False),
                                          ("note62/ch2", False), ("note44", False), ("note46", False),
                                          ("note43", False)])


def test_binding_lookup_prefers_the_exact_control():
    m = InputMap([Binding("d", ANY_CONTROL, "ptt"), Binding("d", "KEY_A", "select:fire")], Recorder())
    assert m.binding("d", "KEY_A").action == "select:fire"
    assert m.binding("d", "KEY_B").action == "ptt"
    assert m.binding("other", "KEY_A") is None
