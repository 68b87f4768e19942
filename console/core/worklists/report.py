# SPDX-License-Identifier: GPL-2.0-or-later
"""What ``careline worklist status`` and ``export`` show: counts and items, no PHI.

An item's line carries its id, list, kind, state, due window, attempts,
outcome and, when it is not offered, the blocker's code and words: what a
supervisor needs to see progress and why a patient is not being called,
without names, numbers, dates of birth or the clinical reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, field
from datetime import datetime

from console.core.records import dataclass
from console.core.store import Store
from console.core.worklists.calling import LASTING, Blocker
from console.core.worklists.store import WorklistStore

EXPORT_FIELDS = (
    "item_id",
    "list_id",
    "kind",
    "state",
    "due_from",
    "due_until",
    "attempts",
    "max_attempts",
    "outcome",
    "blocked_by",
    "blocked_why",
)
"""The columns of an export, in order."""


@dataclass(frozen=True, slots=True)
class ItemLine:
    """One item as a supervisor sees it."""

    item_id: str
    list_id: str
    kind: str
    state: str
    due_from: str
    due_until: str
    attempts: int
    max_attempts: int
    outcome: str
    blocked_by: str
    """A :class:`Blocker` code, or "" when the item is offerable (or claimed, or done)."""
    blocked_why: str

    @classmethod
    def of(cls, row: Sequence[object], code: object) -> ItemLine:
        """The line of ``row`` (id, list, kind, state, due from, due until, attempts, most
        attempts, outcome), not offered for the :class:`Blocker` ``code`` (anything else,
        "" or NULL: offerable)."""
        blocker = Blocker(str(code)) if code in Blocker.__members__.values() else None
        item_id, list_id, kind, state, due_from, due_until = (str(v) for v in row[:6])
        return cls(
            item_id,
            list_id,
            kind,
            state,
            due_from,
            due_until,
            int(str(row[6])),
            int(str(row[7])),
            str(row[8]),
            blocker.value if blocker else "",
            blocker.words if blocker else "",
        )


@dataclass(slots=True)
class ListStatus:
    """One worklist's progress."""

    list_id: str
    items: int = 0
    offerable: int = 0
    claimed: int = 0
    blocked: Counter[str] = field(default_factory=Counter)
    done: Counter[str] = field(default_factory=Counter)

    def as_json(self) -> dict[str, object]:
        """Plain values for ``--json``."""
        return {
            "list": self.list_id,
            "items": self.items,
            "offerable": self.offerable,
            "claimed": self.claimed,
            "blocked": dict(sorted(self.blocked.items())),
            "done": dict(sorted(self.done.items())),
        }


async def item_lines(store: Store, worklists: WorklistStore, now: datetime) -> list[ItemLine]:
    """Every item, with why it is not offered at ``now`` (the same rules a claim applies)."""
    lines = []
    async with store.transaction() as db:
        cursor = await db.execute(
            """SELECT id, list_id, kind, state, due_from, due_until, attempts, max_attempts,
                      COALESCE(outcome, ''), COALESCE(block_reason, ''), patient_id,
                      next_attempt_at <= ?, due_until
               FROM worklist_items ORDER BY list_id, due_until, id""",
            (now.strftime("%Y-%m-%dT%H:%M:%SZ"),),
        )
        rows = await cursor.fetchall()
        await cursor.close()
        verdicts: dict[str, tuple[Blocker | None, tuple[str, ...]]] = {}
        for row in rows:
            state, block = str(row[3]), str(row[9])
            if state == "pending":
                patient = str(row[10])
                if patient not in verdicts:
                    verdicts[patient] = await worklists.blocker(db, patient, now)
                found, numbers = verdicts[patient]
                if found not in LASTING and worklists.past_due(row[12], numbers, now):
                    found = Blocker.EXPIRED  # the next claim closes it
                found = found or (None if row[11] else Blocker.NOT_YET)
                block = found.value if found else ""
            lines.append(ItemLine.of(row, block))
    return lines


def summarise(lines: list[ItemLine], list_ids: list[str]) -> list[ListStatus]:
    """Per list (every rule's, even an empty one): items, offerable, blocked, done."""
    status = {list_id: ListStatus(list_id) for list_id in list_ids}
    for line in lines:
        entry = status.setdefault(line.list_id, ListStatus(line.list_id))
        entry.items += 1
        if line.state == "done":
            entry.done[line.outcome or "none"] += 1
        elif line.state == "claimed":
            entry.claimed += 1
        elif line.blocked_by:
            entry.blocked[line.blocked_by] += 1
        else:
            entry.offerable += 1
    return list(status.values())


def export_row(line: ItemLine) -> dict[str, object]:
    """One export record, :data:`EXPORT_FIELDS` in order."""
    return asdict(line)
