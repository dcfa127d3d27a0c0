"""The evdev input driver on real file descriptors: a FIFO carrying real ``struct input_event`` records
stands in for /dev/input/eventN, and a fake sysfs tree (a folder given as a parameter) for the
kernel's device names. Pulling the device is removing the node and closing its writer.
/dev/uinput, where present and writable, gives a real kernel input device too.
"""

from __future__ import annotations

import os
import stat
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from hardware.events import InputChanged, LinkChanged, LinkState
from hardware.inputs.evdev import EVENT, DeviceNotFound, EvdevInput, find_device
from hardware.inputs.evdev_codes import EV_KEY, EV_SYN, KEY_CODES, key_code
from tests.events import Recorder, is_link, is_input

ROOT = Path(__file__).resolve().parents[2]
F13, KEY_B, KEY_A = KEY_CODES["KEY_F13"], KEY_CODES["KEY_B"], KEY_CODES["KEY_A"]


def fake_sysfs(root: Path, devices: dict[int, str]) -> Path:
    """``root``/class/input/eventN/device/name for each N -> name, as the kernel lays it out."""
    for number, name in devices.items():
        folder = root / "class" / "input" / f"event{number}" / "device"
        folder.mkdir(parents=True)
        (folder / "name").write_text(name + "\n")
    return root


class FakeNode:
    """An event node: a FIFO at ``path`` whose writer the test holds (plug) or closes and removes (unplug)."""

    def __init__(self, path: Path, sysfs_entry: Path | None = None) -> None:
        self.path = path
        self.sysfs_entry = sysfs_entry  # the kernel drops the device's sysfs folder with its node
        self.fd: int | None = None

    def plug(self) -> None:
        # Made aside and renamed into place, so the driver never opens a FIFO without a writer.
        staging = self.path.with_name(self.path.name + ".new")
        os.mkfifo(staging)
        self.fd = os.open(staging, os.O_RDWR)
        os.rename(staging, self.path)
        if self.sysfs_entry is not None and not self.sysfs_entry.exists():
            self._aside().rename(self.sysfs_entry)

    def unplug(self) -> None:
        if self.sysfs_entry is not None:
            self.sysfs_entry.rename(self._aside())
        self.path.unlink()
        os.close(self.fd)
        self.fd = None

    def _aside(self) -> Path:
        return self.sysfs_entry.with_name(".gone-" + self.sysfs_entry.name)

    def send(self, *records: tuple[int, int, int]) -> float:
        sent = time.monotonic()
        os.write(self.fd, b"".join(EVENT.pack(0, 0, kind, code, value) for kind, code, value in records))
        return sent

    def key(self, code: int, value: int) -> float:
        return self.send((EV_KEY, code, value), (EV_SYN, 0, 0))


@pytest.fixture
def pedal(tmp_path):
    """(node, driver, recorder): a pedal found by name in a fake sysfs, on a FIFO event node."""
    sysfs = fake_sysfs(tmp_path / "sys", {1: "AT Translated Set 2 keyboard", 7: "PCsensor FootSwitch"})
    devroot = tmp_path / "dev-input"
    devroot.mkdir()
    node = FakeNode(devroot / "event7", sysfs / "class" / "input" / "event7")
    node.plug()
    recorder = Recorder()
    driver = EvdevInput("pedal", recorder, device="footswitch", keys=["KEY_F13", "key_b"],
                        sysfs=sysfs, devroot=devroot, rescan_s=0.05)
    driver.start()
    try:
        up = recorder.wait_for(is_link(LinkState.UP))
        assert str(devroot / "event7") in up.detail and "PCsensor FootSwitch" in up.detail
        yield node, driver, recorder
    finally:
        assert driver.stop(2.0)
        if node.fd is not None:
            os.close(node.fd)


def test_find_device_by_name_and_path(tmp_path):
    sysfs = fake_sysfs(tmp_path / "sys", {2: "Jabra Engage 65 Consumer Control", 4: "Jabra Engage 65",
                                          9: "VEC USB Footpedal", 12: "jabra engage 65"})
    assert find_device("VEC", sysfs, "/dev/input") == (Path("/dev/input/event9"), "VEC USB Footpedal")
    # An exact name (any case) beats one that only contains it, whatever the numbers.
    assert find_device("Jabra Engage 65", sysfs, "/dev/input")[0] == Path("/dev/input/event4")
    assert find_device("Consumer", sysfs, "/dev/input")[0] == Path("/dev/input/event2")
    with pytest.raises(DeviceNotFound, match=r"no input device name contains 'olympus' \(found: 'Jabra"):
        find_device("olympus", sysfs, "/dev/input")
    with pytest.raises(DeviceNotFound, match="does not exist"):
        find_device(str(tmp_path / "event99"), sysfs)
    node = tmp_path / "event5"
    os.mkfifo(node)
    assert find_device(str(node), sysfs) == (node, "")  # a path needs no sysfs; a FIFO has no kernel name


def test_key_codes():
    assert key_code("KEY_F13") == 183 and key_code("key_f24") == 194 and key_code("KEY_F1") == 59
    assert key_code("KEY_B") == 48 and key_code("BTN_0") == 0x100 and key_code("0xb7") == 183
    with pytest.raises(ValueError, match="unknown key 'KEY_FOOT'"):
        key_code("KEY_FOOT")


def test_press_repeat_release_and_unbound_keys(pedal):
    node, _driver, recorder = pedal
    mark = recorder.mark()
    node.key(F13, 1)
    node.key(F13, 2)  # auto-repeat: still the same press
    node.key(KEY_A, 1)  # not bound
    node.key(F13, 0)
    node.key(KEY_B, 1)
    node.key(KEY_B, 0)
    recorder.wait_for(is_input("KEY_B", False), after=mark)
    edges = [(e.control, e.pressed) for e in recorder.since(mark)]
    assert edges == [("KEY_F13", True), ("KEY_F13", False), ("KEY_B", True), ("KEY_B", False)]


def test_a_record_split_across_reads_is_put_back_together(pedal):
    node, _driver, recorder = pedal
    record = EVENT.pack(0, 0, EV_KEY, F13, 1)
    mark = recorder.mark()
    os.write(node.fd, record[:10])
    os.write(node.fd, record[10:])
    recorder.wait_for(is_input("KEY_F13", True), after=mark)


def test_device_pulled_while_pressed_releases_then_down_then_found_again(pedal):
    node, driver, recorder = pedal
    node.key(F13, 1)
    recorder.wait_for(is_input("KEY_F13", True))

    mark = recorder.mark()
    node.unplug()
    down = recorder.wait_for(is_link(LinkState.DOWN), after=mark)
    after = recorder.since(mark)
    assert after[0] == InputChanged("pedal", False, after[0].t, control="KEY_F13"), "release first, then DOWN"
    assert after.index(down) == 1
    recorder.wait_for(lambda e: isinstance(e, LinkChanged) and "found:" in e.detail, after=mark)
    assert driver.path == ""

    mark = recorder.mark()
    node.plug()
    recorder.wait_for(is_link(LinkState.UP), after=mark)
    node.key(KEY_B, 1)
    recorder.wait_for(is_input("KEY_B", True), after=mark)


def test_stop_releases_a_held_key(pedal):
    node, driver, recorder = pedal
    node.key(F13, 1)
    recorder.wait_for(is_input("KEY_F13", True))
    mark = recorder.mark()
    assert driver.stop(2.0)
    assert [(e.control, e.pressed) for e in recorder.since(mark)] == [("KEY_F13", False)]


def test_missing_device_is_down_naming_it(tmp_path):
    recorder = Recorder()
    driver = EvdevInput("pedal", recorder, device=str(tmp_path / "event3"), keys=["KEY_F13"], rescan_s=0.05)
    driver.start()
    try:
        down = recorder.wait_for(is_link(LinkState.DOWN))
        assert "event3 does not exist" in down.detail
    finally:
        assert driver.stop(2.0)


PERMISSION_SCRIPT = textwrap.dedent("""
    import os, sys, threading
    sys.path.insert(0, sys.argv[1])
    from hardware.inputs.evdev import EvdevInput
    if os.getuid() == 0:
        os.setgid(65534)
        os.setgroups([])
        os.setuid(65534)
    got = threading.Event()
    def sink(event):
        print(event.state.value, event.detail, flush=True)
        got.set()
    driver = EvdevInput("pedal", sink, device=sys.argv[2], keys=["KEY_F13"])
    driver.start()
    got.wait(10)
    driver.stop(2)
""")


def test_permission_denied_is_a_fault_naming_the_device_and_the_fix():
    # A node the reading user may not open. As root, the reader drops to 'nobody' in a child process
    # (root may open anything); the folder is world-searchable so only the node's mode stops it.
    folder = Path(tempfile.mkdtemp(prefix="evdev-perm-"))
    try:
        folder.chmod(0o755)
        node = folder / "event4"
        os.mkfifo(node)
        node.chmod(0o600 if os.getuid() == 0 else 0)
        holder = os.open(node, os.O_RDWR)
        try:
            done = subprocess.run([sys.executable, "-c", PERMISSION_SCRIPT, str(ROOT), str(node)],
                                  capture_output=True, text=True, timeout=30)
        finally:
            os.close(holder)
        assert done.returncode == 0, done.stderr
        state, _, detail = done.stdout.strip().partition(" ")
        assert state == "fault"
        assert f"permission denied reading {node}" in detail
        assert "'input' group" in detail and "70-dispatch-console.rules" in detail
    finally:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()


def test_key_to_input_changed_latency(pedal, record_property):
    node, _driver, recorder = pedal
    delays = []
    for i in range(200):
        mark = recorder.mark()
        sent = node.key(F13, 1 - i % 2)
        event = recorder.wait_for(is_input("KEY_F13", i % 2 == 0), after=mark)
        delays.append(event.t - sent)
    delays.sort()
    median_ms, p99_ms = statistics.median(delays) * 1000, delays[197] * 1000
    record_property("evdev_latency_ms", {"median": round(median_ms, 3), "p99": round(p99_ms, 3)})
    print(f"evdev FIFO key -> InputChanged: median {median_ms:.3f} ms, p99 {p99_ms:.3f} ms")
    assert median_ms < 5 and p99_ms < 50


def _uinput_writable() -> bool:
    return os.path.exists("/dev/uinput") and os.access("/dev/uinput", os.W_OK) and stat.S_ISCHR(
        os.stat("/dev/uinput").st_mode)


@pytest.mark.skipif(not _uinput_writable(), reason="/dev/uinput is not available or not writable here")
def test_real_kernel_device_through_uinput():
    import fcntl

    UI_SET_EVBIT, UI_SET_KEYBIT = 0x40045564, 0x40045565
    UI_DEV_CREATE, UI_DEV_DESTROY = 0x5501, 0x5502
    name = f"dctest pedal {os.getpid()}"
    fd = os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, UI_SET_EVBIT, EV_KEY)
        fcntl.ioctl(fd, UI_SET_KEYBIT, F13)
        # struct uinput_user_dev: name[80], input_id (4 x u16), ff_effects_max, then 4 x 64 s32 abs arrays.
        setup = name.encode().ljust(80, b"\0") + bytes(8) + bytes(4) + bytes(4 * 64 * 4)
        os.write(fd, setup)
        fcntl.ioctl(fd, UI_DEV_CREATE)
        recorder = Recorder()
        driver = EvdevInput("pedal", recorder, device=name, keys=["KEY_F13"], rescan_s=0.05)
        driver.start()
        try:
            recorder.wait_for(is_link(LinkState.UP))
            os.write(fd, EVENT.pack(0, 0, EV_KEY, F13, 1) + EVENT.pack(0, 0, EV_SYN, 0, 0))
            recorder.wait_for(is_input("KEY_F13", True))
            mark = recorder.mark()
            fcntl.ioctl(fd, UI_DEV_DESTROY)
            recorder.wait_for(is_link(LinkState.DOWN), after=mark)
            assert recorder.since(mark)[0].pressed is False
        finally:
            assert driver.stop(2.0)
    finally:
        os.close(fd)
