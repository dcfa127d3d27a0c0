"""Linux evdev inputs: a USB HID footswitch, headset button or keypad read from /dev/input/eventN.

Reads the device itself (not the GUI's key events), so a pedal keys the radio while another window has
the focus. Stdlib only: ``struct input_event`` records read with ``os.read``; EV_KEY value 1 is a press,
0 a release, 2 an auto-repeat (ignored, or a press when the key was already down at open).

``device`` is a path (/dev/input/event5, /dev/input/by-id/...) or part of the device's name as the
kernel reports it (/sys/class/input/eventN/device/name). A device that goes away (unplugged: ENODEV,
or end of file) releases its pressed keys, reports DOWN and is looked for again every ``rescan_s``;
no read permission is a FAULT naming the device and the fix, retried at the same pace (the rule may be
installed meanwhile).
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import struct
from collections.abc import Sequence
from pathlib import Path

from hardware.events import EventSink, InputChanged, LinkChanged, LinkState, now
from hardware.inputs.evdev_codes import EV_KEY, KEY_PRESS, KEY_RELEASE, KEY_REPEAT, key_code
from hardware.worker import DriverThread

RESCAN_S = 1.0
# struct input_event: struct timeval (two longs), __u16 type, __u16 code, __s32 value; native layout.
EVENT = struct.Struct("llHHi")
_READ_BYTES = EVENT.size * 64
_NAME_LEN = 256
EVIOCGNAME = (2 << 30) | (_NAME_LEN << 16) | (ord("E") << 8) | 0x06  # _IOC(_IOC_READ, 'E', 0x06, len)

PERMISSION_FIX = ("add the user to the 'input' group (sudo usermod -aG input $USER, then log in again) or "
                  "install packaging/linux/70-dispatch-console.rules with this device's USB IDs "
                  "(TAG+=\"uaccess\"), then replug it")


class DeviceNotFound(LookupError):
    pass


def find_device(spec: str, sysfs: str | Path = "/sys", devroot: str | Path = "/dev/input") -> tuple[Path, str]:
    """(event node, device name) for ``spec``: a path, or part of a name under ``sysfs``/class/input.

    An exact name (any case) wins over a name that only contains ``spec``; among equals the lowest
    eventN. Raises DeviceNotFound listing the names seen.
    """
    if spec.startswith("/"):
        path = Path(spec)
        if not path.exists():
            raise DeviceNotFound(f"{spec} does not exist")
        return path, device_name(path)
    names: list[tuple[int, str, str]] = []  # (event number, node name, device name)
    for entry in Path(sysfs, "class", "input").glob("event*"):
        try:
            number = int(entry.name[len("event"):])
            name = (entry / "device" / "name").read_text(errors="replace").strip()
        except (OSError, ValueError):
            continue
        names.append((number, entry.name, name))
    names.sort()
    wanted = spec.casefold()
    for exact in (True, False):
        for _number, node, name in names:
            if (name.casefold() == wanted) if exact else (wanted in name.casefold()):
                return Path(devroot, node), name
    seen = ", ".join(repr(name) for _n, _node, name in names) or "none"
    raise DeviceNotFound(f"no input device name contains {spec!r} (found: {seen})")


def device_name(path: Path) -> str:
    """The kernel's name of an event device (EVIOCGNAME), or "" when it cannot be asked."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        buf = bytearray(_NAME_LEN)
        fcntl.ioctl(fd, EVIOCGNAME, buf, True)
        return bytes(buf).split(b"\0", 1)[0].decode(errors="replace")
    except OSError:
        return ""  # not an input device (a FIFO in tests) or no permission
    finally:
        os.close(fd)


class EvdevInput(DriverThread):
    def __init__(self, device_id: str, sink: EventSink, *, device: str, keys: Sequence[str],
                 sysfs: str | Path = "/sys", devroot: str | Path = "/dev/input",
                 rescan_s: float = RESCAN_S) -> None:
        super().__init__(device_id, sink)
        self.device = device
        self.sysfs, self.devroot = sysfs, devroot
        self.rescan_s = rescan_s
        self._controls: dict[int, str] = {}  # event code -> control name (the key name as configured)
        for name in keys:
            self._controls.setdefault(key_code(name), name.strip().upper())
        self._pressed: set[int] = set()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._path = ""

    @property
    def path(self) -> str:
        """The event node open now ("" while none)."""
        return self._path

    def on_stop_requested(self) -> None:
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass

    def run_loop(self) -> None:
        reported: tuple[LinkState, str] | None = None
        while not self.stopping:
            state, detail, fd = self._open()
            if fd is not None:
                reported = None
                self.emit(LinkChanged(self.device_id, LinkState.UP, detail))
                try:
                    lost = self._read_until_lost(fd)
                finally:
                    os.close(fd)
                    self._path = ""
                if lost:
                    self._release_all()
                    self.emit(LinkChanged(self.device_id, LinkState.DOWN, lost))
                continue
            if (state, detail) != reported:
                reported = (state, detail)
                self.emit(LinkChanged(self.device_id, state, detail))
            self._sleep(self.rescan_s)

    def on_exit(self) -> None:
        self._release_all()
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

    # -- internals -----------------------------------------------------------------------------
    def _open(self) -> tuple[LinkState, str, int | None]:
        try:
            path, name = find_device(self.device, self.sysfs, self.devroot)
        except DeviceNotFound as err:
            return LinkState.DOWN, str(err), None
        label = f"{path} ({name})" if name else str(path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except PermissionError:
            return LinkState.FAULT, f"permission denied reading {label}: {PERMISSION_FIX}", None
        except OSError as err:
            return LinkState.DOWN, f"cannot open {label}: {err.strerror}", None
        self._path = str(path)
        return LinkState.UP, label, fd

    def _read_until_lost(self, fd: int) -> str:
        """Reads key events until the device goes ("" when asked to stop, else why it was lost)."""
        poller = select.poll()
        poller.register(fd, select.POLLIN | select.POLLPRI)
        poller.register(self._wake_r, select.POLLIN)
        pending = b""
        while not self.stopping:
            ready = dict(poller.poll())
            if self._wake_r in ready or self.stopping:
                return ""
            if fd not in ready:
                continue
            try:
                data = os.read(fd, _READ_BYTES)
            except BlockingIOError:
                continue
            except OSError as err:
                why = "unplugged" if err.errno in (errno.ENODEV, errno.EIO) else err.strerror
                return f"{self._path}: {why}"
            if not data:
                return f"{self._path}: device closed"
            t = now()
            pending += data
            whole = len(pending) - len(pending) % EVENT.size
            for _sec, _usec, kind, code, value in EVENT.iter_unpack(pending[:whole]):
                if kind == EV_KEY and code in self._controls:
                    self._key(code, value, t)
            pending = pending[whole:]
        return ""

    def _key(self, code: int, value: int, t: float) -> None:
        if value in (KEY_PRESS, KEY_REPEAT):
            if code in self._pressed:
                return  # auto-repeat of a held key
            self._pressed.add(code)
            self.emit(InputChanged(self.device_id, True, t, control=self._controls[code]))
        elif value == KEY_RELEASE and code in self._pressed:
            self._pressed.discard(code)
            self.emit(InputChanged(self.device_id, False, t, control=self._controls[code]))

    def _release_all(self) -> None:
        t = now()
        for code in sorted(self._pressed):
            self.emit(InputChanged(self.device_id, False, t, control=self._controls[code]))
        self._pressed.clear()

    def _sleep(self, seconds: float) -> None:
        """Waits ``seconds`` or until stop is asked."""
        select.select([self._wake_r], [], [], seconds)
