"""What a technician's report holds: sections with a verdict, a reason and their figures (pure)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PASS, FAIL, SKIPPED = "PASS", "FAIL", "SKIPPED"
STATUSES = (PASS, FAIL, SKIPPED)
REPORT_FORMAT = 1  # bumped when the JSON's shape changes incompatibly


@dataclass(frozen=True)
class Section:
    """One step's outcome. ``data`` is JSON-shaped: dicts, lists, str, int, float, bool, None."""

    name: str  # stable id: "versions", "links", ... (the HTML anchor and the JSON key)
    title: str
    status: str  # PASS, FAIL or SKIPPED
    summary: str  # one line: what was found, or why it failed or was skipped
    data: Any = None
    seconds: float = 0.0  # how long the step took

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"section {self.name!r}: status {self.status!r} is not one of {', '.join(STATUSES)}")

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "status": self.status, "summary": self.summary,
                "seconds": round(self.seconds, 3), "data": self.data}


@dataclass
class Report:
    created_wall: float
    position: str = ""  # the position's name ("" without a profile)
    profile_path: str = ""
    sections: list[Section] = field(default_factory=list)
    cancelled: bool = False
    finished_wall: float | None = None

    @property
    def failed(self) -> list[Section]:
        return [s for s in self.sections if s.status == FAIL]

    def section(self, name: str) -> Section | None:
        return next((s for s in self.sections if s.name == name), None)

    def as_dict(self) -> dict[str, Any]:
        counts = {status: sum(1 for s in self.sections if s.status == status) for status in STATUSES}
        return {
            "report_format": REPORT_FORMAT,
            "created_wall": self.created_wall,
            "finished_wall": self.finished_wall,
            "position": self.position,
            "profile_path": self.profile_path,
            "cancelled": self.cancelled,
            "counts": counts,
            "sections": [s.as_dict() for s in self.sections],
        }
