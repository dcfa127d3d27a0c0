"""Patch groups and their voice-operated keying (pure; no Qt).

A channel is in one group at a time. While a member has carrier, the other members are keyed so
they repeat it; after the last carrier in the group drops they stay keyed for the hang time (a
reply usually follows), then drop. A member that has carrier is never keyed by its own patch.
Times are ``time.monotonic()`` seconds, passed in so the rules can be tested without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class PatchGroup:
    id: str
    members: tuple[str, ...]
    talker: str = ""  # the member whose carrier is being repeated (the last one that started)
    hang_until: float = 0.0  # keep the others keyed until then after the last carrier dropped


class PatchGroups:
    def __init__(self, hang_s: float) -> None:
        self.hang_s = hang_s
        self._groups: dict[str, PatchGroup] = {}

    def groups(self) -> tuple[PatchGroup, ...]:
        return tuple(self._groups.values())

    def get(self, group_id: str) -> PatchGroup | None:
        return self._groups.get(group_id)

    def group_of(self, channel_id: str) -> PatchGroup | None:
        return next((g for g in self._groups.values() if channel_id in g.members), None)

    def set(self, group_id: str, members: tuple[str, ...]) -> list[str]:
        """Make ``group_id`` exactly ``members``, taking them out of other groups. Returns the ids of
        the other groups changed (a group left with fewer than two members is dissolved)."""
        changed = []
        for other in list(self._groups.values()):
            if other.id == group_id:
                continue
            rest = tuple(m for m in other.members if m not in members)
            if rest != other.members:
                changed.append(other.id)
                if len(rest) < 2:
                    del self._groups[other.id]
                else:
                    other.members = rest
        old = self._groups.get(group_id)
        self._groups[group_id] = PatchGroup(group_id, members, old.talker if old else "",
                                            old.hang_until if old else 0.0)
        return changed

    def remove(self, group_id: str) -> bool:
        return self._groups.pop(group_id, None) is not None

    def carrier(self, channel_id: str, active: bool, now: float) -> PatchGroup | None:
        """Note a carrier edge; returns the member's group (None when it is in none)."""
        group = self.group_of(channel_id)
        if group is None:
            return None
        if active:
            group.talker = channel_id
        else:
            group.hang_until = now + self.hang_s
        return group

    @staticmethod
    def to_key(group: PatchGroup, carriers: set[str], now: float) -> tuple[str, ...]:
        """The members the patch keys now, given which channels have carrier."""
        live = [m for m in group.members if m in carriers]
        if not live and now >= group.hang_until:
            return ()
        skip = set(live) | {group.talker}
        return tuple(m for m in group.members if m not in skip)
