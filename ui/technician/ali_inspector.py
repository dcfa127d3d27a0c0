"""The ALI spill inspector: paste, load or take a spill and see where the layout reads each field.

A technician bringing up a CPE link or writing a site layout checks here which characters each field
comes from. The spill is outside text: it is set as plain text, written in the sample notation
(``<STX>``, ``<CR>``, ``<0x1B>``), and the field colours are ExtraSelections over that plain text,
never markup. Reading is done by ``app.ali.parse`` and ``app.ali.spans``; this module only shows it.
"""

from __future__ import annotations

import bisect
import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QModelIndex, QPersistentModelIndex, QPoint, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTextEdit,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from app.ali.framing import Frame
from app.ali.layouts import Layout, LayoutError, available_layouts, load_layout, service_for
from app.ali.parse import LINE_BREAK, parse_frame
from app.ali.samples import unrender
from app.ali.spans import CHECK, FieldSpan, FrameText, field_spans, frame_text, frames_in, readable
from app.snapshots import AliLinkStats, CallsSnapshot, SpillView
from ui.theme.palette import field_tints, palette_for
from ui.theme.stylesheet import current_theme
from ui.widgets.plain import make_read_only, one_line, plain_label, plain_tooltip
from ui.widgets.tables import row_table
from ui.widgets.rows_model import Cell, Row, RowsModel
from ui.widgets.style import set_style_state
from ui.widgets.times import clock_text

Index = QModelIndex | QPersistentModelIndex
SPAN_HEADERS = ("Field", "Value", "Where", "Error")
MAX_CAPTURE_BYTES = 1 << 20  # about two thousand spills; cut a longer capture with head -c or dd
HINT = "Paste a spill (tokens such as <STX>2517<CR>… or plain lines), load a capture, or take the last received."


# ---- what is shown, as text (no Qt) -------------------------------------------------------------

def latest_spill(snapshot: CallsSnapshot) -> SpillView | None:
    """The active call's current spill; else the newest spill of any other call, or unassigned."""
    if snapshot.active is not None and snapshot.active.current_spill is not None:
        return snapshot.active.current_spill
    candidates = list(snapshot.unassigned_spills)
    candidates += [call.current_spill for call in (*snapshot.ringing, *snapshot.recent) if call.current_spill]
    return max(candidates, key=lambda spill: spill.received_wall, default=None)


def value_text(value: Any, name: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return " | ".join(str(item) for item in value)
    if name == "class_of_service" and service_for(value):
        return f"{value} ({service_for(value)})"
    return str(value)


def field_label(span: FieldSpan, parts: int) -> str:
    if span.name == CHECK:
        return f"check {span.value!r}"
    return f"{span.name} ({span.part + 1}/{parts})" if parts > 1 else span.name


class LineIndex:
    """Line and column of a payload offset, lines counted from 0 as the layout files count them."""

    def __init__(self, payload: str) -> None:
        self.starts = [0] + [match.end() for match in LINE_BREAK.finditer(payload)]

    def at(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.starts, offset) - 1
        return line, offset - self.starts[line]

    def where(self, span: FieldSpan) -> str:
        if span.start == span.stop:
            return "not in the text"
        (line, first), (end_line, last) = self.at(span.start), self.at(span.stop - 1)
        return f"{line}:{first}-{last}" if line == end_line else f"{line}:{first}-{end_line}:{last}"


def span_rows(spans: list[FieldSpan], lines: LineIndex) -> list[Row]:
    parts = {span.name: 0 for span in spans}
    for span in spans:
        parts[span.name] += 1
    first_value: dict[str, Any] = {}
    rows = []
    for span in spans:
        tone = "warn" if span.error else ""
        shown = value_text(span.value, span.name)
        if span.name == CHECK:
            shown = "ok" if span.error is None else "MISMATCH"
        elif span.part > 0 and span.value == first_value.get(span.name):
            shown = "↳ same field"
        first_value.setdefault(span.name, span.value)
        read = f"{shown}\nread here: {span.text!r}"
        rows.append((
            Cell(field_label(span, parts[span.name]), tone),
            Cell(shown, tone, read),
            Cell(lines.where(span), tooltip=f"layout: {span.where}" if span.where else ""),
            Cell(span.error or "", "warn", span.error or ""),
        ))
    return rows


def describe(span: FieldSpan, lines: LineIndex, parts: int) -> list[str]:
    """Tooltip lines for one span under the mouse."""
    text = [f"{field_label(span, parts)} = {value_text(span.value, span.name)}",
            f"at {lines.where(span)} ({span.where})" if span.where else f"at {lines.where(span)}"]
    if span.error:
        text.append(f"ERROR: {span.error}")
    return text


# ---- widgets ------------------------------------------------------------------------------------

class SpanRows(RowsModel):
    """The span table; the field cell carries the field's tint so a row and its highlight match."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(SPAN_HEADERS, parent)
        self.tints: list[str] = []

    def set_spans(self, rows: list[Row], tints: list[str]) -> None:
        self.tints = tints
        self.set_rows(rows)
        if rows:  # a new tint with the same text is still a change
            self.dataChanged.emit(self.index(0, 0), self.index(len(rows) - 1, 0))

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role == Qt.ItemDataRole.BackgroundRole and index.isValid() and index.column() == 0
                and index.row() < len(self.tints) and self.tints[index.row()]):
            return QBrush(QColor(self.tints[index.row()]))
        return super().data(index, role)


class FrameView(QPlainTextEdit):
    """The chosen frame, one spill line per line; hovering a character names the field read there."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        make_read_only(self, object_name="inspectorFrame")
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)  # layouts are column-aligned
        self.describe_at: Callable[[int], list[str]] = lambda position: []

    def position_at(self, point: QPoint) -> int | None:
        """The text position of the character under ``point`` (viewport coordinates), None past a line's end."""
        cursor = self.cursorForPosition(point)
        position = cursor.position()
        block = cursor.block()
        if self.cursorRect(cursor).left() > point.x() and position > block.position():
            position -= 1  # the nearest boundary is right of the mouse: the character is the one before it
        if position >= block.position() + block.length() - 1:
            return None
        return position

    def viewportEvent(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            position = self.position_at(event.pos())
            lines = self.describe_at(position) if position is not None else []
            if lines:
                QToolTip.showText(event.globalPos(), plain_tooltip(*lines), self.viewport())
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)


def _titled(title: str, body: QWidget, *extra: QWidget) -> QWidget:
    box = QWidget()
    head = QHBoxLayout()
    head.addWidget(plain_label(title, object_name="panelTitle"))
    head.addStretch(1)
    for widget in extra:
        head.addWidget(widget)
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(6)
    column.addLayout(head)
    column.addWidget(body, 1)
    return box


def age_text(wall: float | None, now: float) -> str:
    if wall is None:
        return "never"
    seconds = max(0, int(now - wall))
    return f"{seconds} s ago" if seconds < 120 else f"{seconds // 60} min ago"


def link_text(stats: AliLinkStats, now: float) -> str:
    """The ALI link line: frames, heartbeat age, errors (the last one named)."""
    errors = f"{stats.errors} error{'s' if stats.errors != 1 else ''}"
    if stats.last_error:
        errors += f" (last: {one_line(stats.last_error)[:80]})"
    return (f"ALI LINK  ·  {stats.frames} frames, last {age_text(stats.last_frame_wall, now)}  ·  "
            f"{stats.heartbeats} heartbeats, last {age_text(stats.last_heartbeat_wall, now)}  ·  {errors}")


class AliInspector(QWidget):
    DEBOUNCE_MS = 200  # typing in the paste box re-reads after a pause, not per key

    def __init__(self, layout_name: str = "raw", *, bcc: bool = True, position: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aliInspector")
        self._position = position
        self._base: Layout | None = None
        self._layout_error = ""
        self._frames: tuple[Frame, ...] = ()
        self._shown: FrameText | None = None
        self._lines = LineIndex("")
        self._parts: dict[str, int] = {}
        self._received: tuple[str, list[str]] | None = None  # (text put in, what was known about it)
        self._notes: list[str] = []  # how the text was read: lenient framing, stray bytes
        self._following_click = False
        self.spans: list[FieldSpan] = []
        self.tints: dict[str, str] = {}

        self.layout_box = QComboBox(self)
        self.layout_box.setObjectName("inspectorLayout")
        for name in available_layouts():
            self.layout_box.addItem(name, name)
        if self.layout_box.findData(layout_name) < 0:
            label = layout_name if layout_name.isidentifier() else f"{Path(layout_name).name} (site file)"
            self.layout_box.addItem(label, layout_name)
        self.layout_box.setCurrentIndex(self.layout_box.findData(layout_name))
        self.layout_box.setToolTip(plain_tooltip("Layout the spill is read with (assets/layouts or the site's file)"))
        self.header_width = QSpinBox(self)
        self.header_width.setRange(0, 64)
        self.header_width.setToolTip(plain_tooltip("Characters before the first line end that are the header"))
        self.position_first = QSpinBox(self)
        self.position_first.setRange(-1, 63)
        self.position_first.setSpecialValueText("none")
        self.position_last = QSpinBox(self)
        self.position_last.setRange(0, 63)
        self.position_first.setToolTip(plain_tooltip("Header columns holding the position (from 0, last included)"))
        self.bcc_box = QCheckBox("Check byte after ETX", self)
        self.bcc_box.setChecked(bcc)
        self.capture_button = QPushButton("Load capture…", self)
        self.capture_button.setToolTip(
            plain_tooltip("A raw byte file, e.g. from: dispatch-console ali listen --raw-out"))
        self.last_button = QPushButton("Last received", self)
        self.last_button.setVisible(position is not None)
        self.link_label: QLabel = plain_label(object_name="viewHint")
        self.link_label.setVisible(position is not None)
        self._link = AliLinkStats()
        self._link_timer = QTimer(self)  # the heartbeat's age counts up between snapshots
        self._link_timer.setInterval(1000)
        self._link_timer.timeout.connect(self._show_link)

        self.input = QPlainTextEdit(self)
        self.input.setObjectName("inspectorInput")
        self.input.setPlaceholderText(HINT)
        self.input.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.frame_box = QComboBox(self)
        self.frame_box.setObjectName("inspectorFramePicker")
        self.banner: QLabel = plain_label(HINT, object_name="inspectorBanner")
        self.banner.setWordWrap(True)
        self.summary: QLabel = plain_label(object_name="viewHint")
        self.frame_view = FrameView(self)
        self.frame_view.describe_at = self._describe_at
        self.rows = SpanRows(self)
        self.table = row_table(self.rows, self, object_name="inspectorTable", single=True)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)  # long values elide; the tooltip has them
        header.resizeSection(1, 230)
        header.setStretchLastSection(True)
        self._build()

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(self.DEBOUNCE_MS)
        self._timer.timeout.connect(self.refresh)
        self.input.textChanged.connect(self._timer.start)
        self.layout_box.currentIndexChanged.connect(self._on_layout_chosen)
        for spin in (self.header_width, self.position_first, self.position_last):
            spin.valueChanged.connect(self.refresh)
        self.bcc_box.toggled.connect(self.refresh)
        self.frame_box.currentIndexChanged.connect(self._show_frame)
        self.capture_button.clicked.connect(self._choose_capture)
        self.last_button.clicked.connect(self.take_last_received)
        self.table.selectionModel().currentRowChanged.connect(self._on_row)
        self.frame_view.cursorPositionChanged.connect(self._on_text_click)
        if position is not None:
            position.calls_changed.connect(self._on_calls)
            self._on_calls(getattr(position, "calls", None))
            self._link_timer.start()
        self._on_layout_chosen()

    def _build(self) -> None:
        controls = QHBoxLayout()
        controls.setSpacing(8)
        controls.addWidget(plain_label("Layout", object_name="infoKey"))
        controls.addWidget(self.layout_box)
        controls.addSpacing(10)
        controls.addWidget(plain_label("Header width", object_name="infoKey"))
        controls.addWidget(self.header_width)
        controls.addSpacing(10)
        controls.addWidget(plain_label("Position cols", object_name="infoKey"))
        controls.addWidget(self.position_first)
        controls.addWidget(plain_label("to", object_name="infoKey"))
        controls.addWidget(self.position_last)
        controls.addSpacing(10)
        controls.addWidget(self.bcc_box)
        controls.addStretch(1)
        controls.addWidget(self.capture_button)
        controls.addWidget(self.last_button)

        frame_panel = QWidget(self)
        column = QVBoxLayout(frame_panel)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        column.addWidget(self.banner)
        column.addWidget(self.frame_view, 1)
        column.addWidget(self.summary)

        left = QSplitter(Qt.Orientation.Vertical, self)
        left.addWidget(_titled("SPILL TEXT", self.input, self.frame_box))
        left.addWidget(_titled("AS THE LAYOUT READS IT", frame_panel))
        left.setStretchFactor(0, 1)
        left.setStretchFactor(1, 3)
        left.setChildrenCollapsible(False)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(left)
        split.addWidget(_titled("FIELDS", self.table))
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        split.setSizes([2000, 3000])  # a 32-column spill needs less room than the table's four columns
        split.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(10)
        layout.addLayout(controls)
        layout.addWidget(self.link_label)
        layout.addWidget(split, 1)

    # -- sources ----------------------------------------------------------------------------------
    def set_text(self, text: str) -> None:
        """Put spill text in the paste box and read it now."""
        self.input.setPlainText(text)
        self.refresh()

    def load_capture(self, path: str | Path) -> bool:
        """Read a raw capture file; each frame in it can then be picked. False (and says why) on failure."""
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_CAPTURE_BYTES:
                raise ValueError(f"{size} bytes; the inspector reads captures up to {MAX_CAPTURE_BYTES} bytes "
                                 "(cut it with head -c or dd)")
            data = path.read_bytes()
        except (OSError, ValueError) as err:
            message = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
            self._show_nothing([f"cannot load capture {path}: {message}"], bad=True)
            return False
        self._received = None
        self.set_text(readable(data).text)
        return True

    def take_last_received(self) -> bool:
        """The newest spill this position received, as the calls view has it. False when there is none."""
        calls = getattr(self._position, "calls", None)
        spill = latest_spill(calls) if isinstance(calls, CallsSnapshot) else None
        if spill is None:
            self._show_nothing(["no spill received yet"], bad=False)
            return False
        how = (f"received {clock_text(spill.received_wall)} as {spill.kind}; line ends as the calls view "
               "keeps them (CR shown as a line break), no check byte")
        known = [how]
        if spill.bcc_ok is False:
            known.append("check byte was BAD when received")
        known += [f"when received: {error}" for error in spill.errors]
        self._received = (spill.raw_text, known)
        self.set_text(spill.raw_text)
        return True

    def _choose_capture(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load ALI capture", "",
                                              "Captures (*.bin *.raw *.cap);;All files (*)")
        if path:
            self.load_capture(path)

    def _on_calls(self, snapshot: Any) -> None:
        self.last_button.setEnabled(isinstance(snapshot, CallsSnapshot) and latest_spill(snapshot) is not None)
        if isinstance(snapshot, CallsSnapshot) and snapshot.ali != self._link:
            self._link = snapshot.ali
            self._show_link()

    def _show_link(self) -> None:
        if self._position is not None:
            self.link_label.setText(link_text(self._link, time.time()))

    # -- layout -----------------------------------------------------------------------------------
    def _on_layout_chosen(self) -> None:
        try:
            self._base = load_layout(self.layout_box.currentData())
            self._layout_error = ""
        except LayoutError as err:
            self._base, self._layout_error = None, str(err)
        base = self._base
        spins = (self.header_width, self.position_first, self.position_last)
        for spin in spins:
            spin.blockSignals(True)
        self.header_width.setValue(base.header_width if base else 0)
        self.position_first.setValue(base.position[0] if base and base.position else -1)
        self.position_last.setValue(base.position[1] - 1 if base and base.position else 0)
        for spin in spins:
            spin.blockSignals(False)
        self.refresh()

    def current_layout(self) -> Layout | None:
        """The chosen layout with the header width and position from the spin boxes."""
        if self._base is None:
            return None
        first = self.position_first.value()
        position = None if first < 0 else (first, max(first, self.position_last.value()) + 1)
        return dataclasses.replace(self._base, header_width=self.header_width.value(), position=position)

    # -- reading ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the paste box again with the current settings."""
        self._timer.stop()
        text = self.input.toPlainText()
        try:
            data = unrender(text)
        except ValueError as err:
            self._show_nothing([f"cannot read the text: {err}"], bad=True)
            return
        if not data.strip():
            self._show_nothing([HINT], bad=False)
            return
        found = frames_in(data, self.bcc_box.isChecked())
        self._notes = list(found.notes)
        if self._received is not None and self._received[0] == text:
            self._notes = self._received[1] + self._notes
        if found.stray:
            count = sum(len(item.data) for item in found.stray)
            self._notes.append(f"{count} byte(s) outside frames in {len(found.stray)} run(s), e.g. "
                               f"{found.stray[0].reason}: {readable(found.stray[0].data[:24]).text!r}")
        if found.frames != self._frames:
            self._set_frames(found.frames)
        self._show_frame()

    def _set_frames(self, frames: tuple[Frame, ...]) -> None:
        keep = self.frame_box.currentIndex()
        self._frames = frames
        self.frame_box.blockSignals(True)
        self.frame_box.clear()
        for number, frame in enumerate(frames, 1):
            first_line = LINE_BREAK.split(frame.payload.decode("latin-1"), maxsplit=2)
            preview = " ".join(part.strip() for part in first_line[:2])[:36]
            self.frame_box.addItem(one_line(f"{number}/{len(frames)} {frame.kind}: {preview}"))
        if not 0 <= keep < len(frames):
            keep = next((i for i, frame in enumerate(frames) if frame.kind == "ali"), 0)
        self.frame_box.setCurrentIndex(keep)
        self.frame_box.blockSignals(False)
        self.frame_box.setVisible(len(frames) > 1)

    @property
    def frame(self) -> Frame | None:
        index = self.frame_box.currentIndex()
        return self._frames[index] if 0 <= index < len(self._frames) else None

    def _show_frame(self) -> None:
        frame = self.frame
        if frame is None:
            return
        layout = self.current_layout()
        entry = parse_frame(frame, layout if layout is not None else "raw")
        payload = frame.payload.decode("latin-1")
        read = entry["kind"] in ("ali", "unparsed") and layout is not None
        spans = field_spans(payload, layout) if read else []
        problems = ([f"layout: {self._layout_error}"] if self._layout_error else []) + list(entry["errors"])
        notes = list(self._notes)
        if entry["kind"] in ("heartbeat", "status"):
            notes.append(f"a {entry['kind']} frame: no fields to read")
        self._render(frame, payload, spans, problems, notes, entry)

    def _render(self, frame: Frame, payload: str, spans: list[FieldSpan], problems: list[str], notes: list[str],
                entry: dict[str, Any]) -> None:
        self.spans = spans
        self._shown = frame_text(frame)
        self._lines = LineIndex(payload)
        self._parts = {}
        for span in spans:
            self._parts[span.name] = self._parts.get(span.name, 0) + 1
        self.frame_view.setPlainText(self._shown.text)  # sample notation: no control characters left
        self._paint()

        if problems:
            self._set_banner(problems + notes, "bad")
        elif entry["kind"] == "ali":
            check = "check byte OK" if frame.bcc_ok else "no check byte"
            read_fields = len({s.name for s in spans if s.name != CHECK})
            clean = f"Read cleanly with layout {self._base.name if self._base else '?'}: {read_fields} fields, {check}"
            self._set_banner([clean, *notes], "ok")
        else:
            self._set_banner(notes or [entry["kind"]], "note")
        check_byte = {True: "OK", False: "BAD", None: "none"}[frame.bcc_ok]
        self.summary.setText(one_line(
            f"frame {self.frame_box.currentIndex() + 1} of {len(self._frames)} · {entry['kind']} · "
            f"header {entry['header'] or '—'} · position {entry['position'] or '—'} · check byte {check_byte} · "
            f"{len(payload)} characters on {len(self._lines.starts)} lines · where = line:first-last column, from 0"))

    def _show_nothing(self, messages: list[str], bad: bool) -> None:
        self._frames = ()
        self.frame_box.clear()
        self.frame_box.setVisible(False)
        self.spans = []
        self._shown = None
        self.frame_view.setPlainText("")
        self.frame_view.setExtraSelections([])
        self.rows.set_spans([], [])
        self.summary.setText("")
        self._set_banner(messages, "bad" if bad else "note")

    def _set_banner(self, messages: list[str], state: str) -> None:
        # A PlainText label: each message made one safe line, the lines joined by real breaks.
        self.banner.setText("\n".join(one_line(message) for message in messages))
        set_style_state(self.banner, "state", state)

    # -- colours ----------------------------------------------------------------------------------
    def _paint(self) -> None:
        theme = current_theme()
        tints = field_tints(theme)
        names = [s.name for s in self.spans if s.name != CHECK]
        self.tints = {name: tints[i % len(tints)] for i, name in enumerate(dict.fromkeys(names))}
        rows = span_rows(self.spans, self._lines)
        self.rows.set_spans(rows, [self.tints.get(span.name, "") for span in self.spans])
        self.frame_view.setExtraSelections(self._selections(self._selected_row()))

    def highlight_ranges(self) -> list[tuple[int, int, str]]:
        """(start, end, field) of every highlight in the frame view's text, as painted."""
        shown = self._shown
        if shown is None:
            return []
        return [(*shown.of_payload(s.start, s.stop), s.name) for s in self.spans if s.stop > s.start]

    def _selections(self, selected: int | None) -> list[QTextEdit.ExtraSelection]:
        colours = palette_for(current_theme())
        out = []
        chosen = []
        for row, span in enumerate(self.spans):
            if span.stop == span.start:
                continue
            look = QTextCharFormat()
            if row == selected:
                look.setBackground(QColor(colours.accent))
                look.setForeground(QColor(colours.accent_text))
            elif span.error:
                look.setBackground(QColor(colours.warn_fill))
                look.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
                look.setUnderlineColor(QColor(colours.warn))
            elif span.name == CHECK:
                look.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DotLine)
                look.setUnderlineColor(QColor(colours.text_dim))
            else:
                look.setBackground(QColor(self.tints[span.name]))
            (chosen if row == selected else out).append(self._selection(span, look))
        # The chosen row's span is painted last, so a field sharing its columns cannot hide it.
        return out + chosen

    def _selection(self, span: FieldSpan, look: QTextCharFormat) -> QTextEdit.ExtraSelection:
        assert self._shown is not None
        start, stop = self._shown.of_payload(span.start, span.stop)
        cursor = QTextCursor(self.frame_view.document())
        cursor.setPosition(start)
        cursor.setPosition(stop, QTextCursor.MoveMode.KeepAnchor)
        selection = QTextEdit.ExtraSelection()
        selection.cursor = cursor
        selection.format = look
        return selection

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) and self._shown is not None:
            self._paint()  # the theme changed: tints are per theme

    # -- linking table and text -------------------------------------------------------------------
    def _selected_row(self) -> int | None:
        index = self.table.selectionModel().currentIndex() if self.table.selectionModel() else QModelIndex()
        return index.row() if index.isValid() and index.row() < len(self.spans) else None

    def select_field(self, row: int) -> None:
        self.table.selectRow(row)

    def _on_row(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.row() if current.isValid() else None
        self.frame_view.setExtraSelections(self._selections(row))
        if row is None or row >= len(self.spans) or self._shown is None or self._following_click:
            return
        span = self.spans[row]
        if span.stop > span.start:
            start, _stop = self._shown.of_payload(span.start, span.stop)
            cursor = QTextCursor(self.frame_view.document())
            cursor.setPosition(start)
            self._following_click = True
            self.frame_view.setTextCursor(cursor)
            self.frame_view.ensureCursorVisible()
            self._following_click = False

    def _on_text_click(self) -> None:
        """A click in the frame text picks the field there in the table."""
        if self._following_click or self._shown is None:
            return
        offset = self._payload_offset(self.frame_view.textCursor().position())
        hits = [row for row, span in enumerate(self.spans) if offset is not None and span.start <= offset < span.stop]
        if hits:
            self._following_click = True
            self.table.selectRow(hits[-1])
            self._following_click = False

    def _payload_offset(self, position: int) -> int | None:
        shown = self._shown
        if shown is None:
            return None
        raw = bisect.bisect_right(shown.starts, position) - 1
        offset = raw - 1  # the payload starts after STX
        return offset if 0 <= offset < len(self.frame.payload if self.frame else b"") else None

    def fields_at(self, position: int) -> list[FieldSpan]:
        offset = self._payload_offset(position)
        return [span for span in self.spans if offset is not None and span.start <= offset < span.stop]

    def _describe_at(self, position: int) -> list[str]:
        lines: list[str] = []
        for span in self.fields_at(position):
            lines += describe(span, self._lines, self._parts.get(span.name, 1))
        return lines
