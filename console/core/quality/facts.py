# SPDX-License-Identifier: GPL-2.0-or-later
"""What the local store knows about a call, gathered for the automatic checks.

A call's facts come from three places careline already writes: the ``calls``
row (times and the engine's timeline: holds, transfers), the ``interactions``
row its wrap-up saved (script answers, red flags, urgency, disposition,
appointment changes, when it was saved) and the audit log (verification and
every look at patient data, by the call's agent while the call was up). No
patient data is read beyond ids and what the checks need.
"""

from __future__ import annotations

import json
from dataclasses import field
from datetime import datetime
from typing import Any

from console.core.calls import parse_time
from console.core.records import dataclass
from console.core.store import Store

_CALL_COLUMNS = """
    c.id, c.agent_id, c.queue, c.received_at, c.answered_at, c.ended_at, c.timeline,
    c.patient_id, i.id, i.script_id, i.script_version, i.answers, i.red_flags, i.urgency,
    i.disposition, i.form, i.appointments, i.created_at, i.notes
"""
_FROM = "FROM calls AS c LEFT JOIN interactions AS i ON i.call_id = c.id"


@dataclass(frozen=True, slots=True)
class AuditFact:
    """One audit row of the call's agent during the call."""

    at: datetime
    patient_id: str | None
    action: str
    outcome: str
    category: str


@dataclass(frozen=True, slots=True, repr=False)
class CallFacts:
    """One answered call and what was recorded about it (``repr`` shows the id only)."""

    call_id: str
    agent_id: str
    queue: str
    received_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    timeline: tuple[dict[str, Any], ...] = ()
    """The engine's facts in order: ``{"at", "fact", …}``."""
    patient_id: str | None = None
    interaction_id: str | None = None
    script_id: str | None = None
    answers: tuple[dict[str, Any], ...] = ()
    """``{"question", "value", "at"}`` in the order answered."""
    red_flags: tuple[dict[str, Any], ...] = ()
    """``{"rule", "at"}`` in the order raised."""
    urgency: str = "routine"
    disposition: str = ""
    form: dict[str, Any] = field(default_factory=dict)
    appointments: tuple[dict[str, Any], ...] = ()
    """``{"id", "change", "at"}`` in order."""
    wrapped_at: datetime | None = None
    """When the wrap-up was saved (None: no interaction)."""
    audit: tuple[AuditFact, ...] = ()
    notes: str = ""
    """The agent's wrap-up notes."""
    timeline_known: bool = True
    """The engine's timeline is here (not on the hub: holds and transfers are unknown)."""
    audit_known: bool = True
    """The agent's audit log is here (it stays on the workstation; the hub has its head)."""

    def __repr__(self) -> str:
        return f"CallFacts({self.call_id!r})"

    @property
    def talk_seconds(self) -> float:
        """Answer to end, in seconds (0 when never answered)."""
        if self.answered_at is None or self.ended_at is None:
            return 0.0
        return max(0.0, (self.ended_at - self.answered_at).total_seconds())

    def at(self, fact: str) -> list[datetime]:
        """When each timeline fact of kind ``fact`` happened, in order."""
        out = []
        for entry in self.timeline:
            moment = parse_time(entry.get("at")) if entry.get("fact") == fact else None
            if moment is not None:
                out.append(moment)
        return out


def _json_list(text: object) -> tuple[dict[str, Any], ...]:
    try:
        value = json.loads(text) if isinstance(text, str) else []
    except ValueError:
        return ()
    return (
        tuple(item for item in value if isinstance(item, dict)) if isinstance(value, list) else ()
    )


def _facts(row: tuple[Any, ...], audit: tuple[AuditFact, ...]) -> CallFacts:
    received = parse_time(row[3])
    assert received is not None
    form = json.loads(row[15]) if isinstance(row[15], str) else {}
    return CallFacts(
        call_id=row[0],
        agent_id=row[1],
        queue=row[2] or "",
        received_at=received,
        answered_at=parse_time(row[4]),
        ended_at=parse_time(row[5]),
        timeline=_json_list(row[6]),
        patient_id=row[7],
        interaction_id=row[8],
        script_id=row[9],
        answers=_json_list(row[11]),
        red_flags=_json_list(row[12]),
        urgency=row[13] or "routine",
        disposition=row[14] or "",
        form=form if isinstance(form, dict) else {},
        appointments=_json_list(row[16]),
        wrapped_at=parse_time(row[17]),
        audit=audit,
        notes=row[18] or "",
    )


async def _audit(store: Store, agent_id: str, start: str, end: str) -> tuple[AuditFact, ...]:
    rows = await store.fetch_all(
        "SELECT at, patient_id, action, outcome, category FROM audit "
        "WHERE agent_id = ? AND at >= ? AND at <= ? ORDER BY seq",
        (agent_id, start, end),
    )
    facts = []
    for at, patient_id, action, outcome, category in rows:
        moment = parse_time(at)
        if moment is not None:
            facts.append(AuditFact(moment, patient_id, action, outcome, category))
    return tuple(facts)


async def call_facts(store: Store, call_id: str) -> CallFacts | None:
    """The facts of one stored call, or None when there is no such call."""
    rows = await store.fetch_all(f"SELECT {_CALL_COLUMNS} {_FROM} WHERE c.id = ?", (call_id,))
    if not rows:
        return None
    return await _with_audit(store, rows[0])


async def answered_calls(store: Store, start: str, end: str) -> list[CallFacts]:
    """Every answered call received in ``[start, end)`` (UTC ISO text), oldest first."""
    rows = await store.fetch_all(
        f"SELECT {_CALL_COLUMNS} {_FROM} WHERE c.received_at >= ? AND c.received_at < ? "
        "AND c.answered_at IS NOT NULL ORDER BY c.received_at, c.id",
        (start, end),
    )
    return [await _with_audit(store, row) for row in rows]


async def _with_audit(store: Store, row: tuple[Any, ...]) -> CallFacts:
    # The agent's audit rows from the call's start to its end (or, for a call
    # still open, to now): a view before the answer would still be this call's.
    start = row[3]
    end = row[5] or "9999"
    return _facts(row, await _audit(store, row[1], start, end))
