# SPDX-License-Identifier: GPL-2.0-or-later
"""Generating worklist items from the directory: one pass per rule, idempotent.

Each rule's candidates are one SQL query over the directory (appointments by
day, prescriptions by predicted run-out), joined to the patient by MRN or
FHIR id. An item's ``dedupe_key`` names what it is about (the appointment at
its time, the prescription's run-out day), and ``UNIQUE (list_id,
dedupe_key)`` keeps a second run the same day from adding anything twice.
A patient who opted out or gave no number gets the item as ``blocked``, so
``status`` can say why nobody calls them.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import aiosqlite

from console.core.records import dataclass
from console.core.scripts.models import Preparation
from console.core.scripts.worklist_rules import ListKind, WorklistRule
from console.core.store import Store
from console.core.text import safe_text
from console.core.worklists.calling import Blocker, utc_text

PROGRESS_EVERY = 50_000
"""Candidates between two progress reports on a long run."""
Progress = Callable[[str, int], None]
"""Called with (list id, candidates read so far) on long runs."""

# Patients are joined by the key the clinical row names: ``mrn:`` or ``id:``.
_JOIN = (
    ("p.mrn = substr({t}.subject, 5)", "{t}.subject GLOB 'mrn:*'"),
    ("p.fhir_id = substr({t}.subject, 4)", "{t}.subject GLOB 'id:*'"),
)
_PATIENT = """p.id,
    EXISTS (SELECT 1 FROM patient_phones ph WHERE ph.patient_id = p.id),
    EXISTS (SELECT 1 FROM worklist_opt_outs o WHERE o.patient_id = p.id)"""
DONE_VISITS = ("fulfilled", "arrived", "checked-in")
"""Appointment statuses that mean the visit took place (feedback lists)."""


def appointment_sql(past: bool) -> str:
    """Appointments starting in [?, ?) with their patient, booked (or taken place)."""
    statuses = "', '".join(DONE_VISITS) if past else "booked"
    return " UNION ALL ".join(
        f"""SELECT a.resource_id, a.start, a.description, a.with_whom, {_PATIENT}
            FROM appointments a JOIN patients p ON {on.format(t="a")}
            WHERE {where.format(t="a")} AND a.start >= ? AND a.start < ?
              AND a.status IN ('{statuses}')"""
        for on, where in _JOIN
    )


RUNS_OUT = "date(COALESCE(m.last_filled, m.authored_on), '+' || m.supply_days || ' days')"
"""The predicted day a prescription's supply runs out: last fill (or, never filled,
the day it was written) plus the expected supply duration."""


def refill_sql() -> str:
    """Active prescriptions whose predicted run-out falls in [?, ?]."""
    return " UNION ALL ".join(
        f"""SELECT m.resource_id, {RUNS_OUT}, m.name, '', {_PATIENT}
            FROM medications m JOIN patients p ON {on.format(t="m")}
            WHERE {where.format(t="m")} AND m.status = 'active'
              AND m.supply_days IS NOT NULL AND {RUNS_OUT} BETWEEN ? AND ?"""
        for on, where in _JOIN
    )


@dataclass(frozen=True, slots=True)
class Generated:
    """What one rule's generation did."""

    list_id: str
    candidates: int
    """Rows the rule selected."""
    added: int
    """New items (the rest were there from an earlier run)."""


@dataclass(frozen=True, slots=True)
class _Item:
    dedupe_key: str
    patient_id: str
    reason: str
    script_id: str
    due_from: str
    due_until: str
    blocker: Blocker | None
    appointment: tuple[str, str, str, str] | None = None
    """A reminder's appointment: (resource id, start, service, clinician)."""

    def of(self, patient_id: str, blocker: Blocker | None) -> _Item:
        """This item for ``patient_id``, blocked by ``blocker`` (None: not blocked)."""
        return replace(self, patient_id=patient_id, blocker=blocker)


async def generate(
    store: Store,
    rules: Iterable[WorklistRule],
    preparations: Sequence[Preparation],
    *,
    today: date,
    zone: str,
    now: datetime | None = None,
    progress: Progress | None = None,
) -> list[Generated]:
    """Add today's items of each rule; ``zone`` is the clinic's (days are its days)."""
    moment = now or datetime.now(UTC)
    results = []
    for rule in rules:
        items = await _candidates(store, rule, preparations, today, ZoneInfo(zone), progress)
        added = await _insert(store, rule, items, today, moment)
        results.append(Generated(rule.id, len(items), added))
    return results


def _day_bounds(day: date, tz: ZoneInfo) -> tuple[str, str]:
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return utc_text(start), utc_text(end)


def _prepared_services(preparations: Sequence[Preparation]) -> frozenset[str]:
    """Services a preparation names (the default one prepares nothing in particular)."""
    return frozenset(s.casefold() for p in preparations if not p.default for s in p.services)


async def _candidates(
    store: Store,
    rule: WorklistRule,
    preparations: Sequence[Preparation],
    today: date,
    tz: ZoneInfo,
    progress: Progress | None,
) -> list[_Item]:
    if rule.about is ListKind.REFILL_REMINDER:
        until = today + timedelta(days=rule.days)
        rows = await store.fetch_all(refill_sql(), [today.isoformat(), until.isoformat()] * 2)
    else:
        past = rule.about is ListKind.FEEDBACK
        day = today - timedelta(days=rule.days) if past else today + timedelta(days=rule.days)
        rows = await store.fetch_all(appointment_sql(past), list(_day_bounds(day, tz)) * 2)
    services = {s.casefold() for s in rule.services}
    prepared = _prepared_services(preparations)
    items = []
    for count, row in enumerate(rows, 1):
        resource_id, when, label, clinician, patient_id, has_phone, opted_out = row
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(rule.id, count)
        # Directory text is untrusted: one plain line, no escapes, a card line long.
        what = safe_text(label or "", 60)
        if services and what.casefold() not in services:
            continue
        blocker = Blocker.OPTED_OUT if opted_out else None if has_phone else Blocker.NO_NUMBER
        item = _item(rule, str(resource_id), str(when), what, today, prepared, tz)
        if rule.about is ListKind.APPOINTMENT_REMINDER:
            who = safe_text(clinician or "", 60)
            item = replace(item, appointment=(str(resource_id), str(when), what, who))
        items.append(item.of(str(patient_id), blocker))
    return items


def _item(
    rule: WorklistRule,
    resource_id: str,
    when: str,
    what: str,
    today: date,
    prepared: frozenset[str],
    tz: ZoneInfo,
) -> _Item:
    """The item for one candidate row: why it is called, which script, when due (an
    appointment's reminder: by the clinic's day of it, ``tz``)."""
    script = rule.script
    if rule.about is ListKind.REFILL_REMINDER:
        key, reason = f"refill:{resource_id}:{when}", f"Refill due: supply ends {when}"
        due_until = when
    elif rule.about is ListKind.FEEDBACK:
        key, reason = f"feedback:{resource_id}", f"Feedback on the visit of {when[:10]}"
        due_until = (today + timedelta(days=7)).isoformat()
    elif rule.preparation_script and what.casefold() in prepared:
        key, reason = f"appointment:{resource_id}:{when}", f"Preparation call: {what}"
        script, due_until = rule.preparation_script, _local_day(when, tz)
    else:
        key, reason = f"appointment:{resource_id}:{when}", f"Reminder: {what or 'appointment'}"
        due_until = _local_day(when, tz)
    return _Item(key, "", reason, script, today.isoformat(), due_until, None)


def _local_day(when: str, tz: ZoneInfo) -> str:
    """The day of the instant ``when`` (UTC text) in ``tz``: an evening appointment in New
    York is the next day in UTC, and its reminder must not be due until then."""
    try:
        instant = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        return when[:10]  # not an instant: the claim treats a date that is not one as over
    if instant.tzinfo is None:
        return instant.date().isoformat()
    return instant.astimezone(tz).date().isoformat()


async def _insert(
    store: Store, rule: WorklistRule, items: Sequence[_Item], today: date, now: datetime
) -> int:
    """Insert the items a previous run did not; how many were new."""
    stamp = utc_text(now)
    rows = [
        (
            str(uuid.uuid4()),
            rule.id,
            rule.about.value,
            item.dedupe_key,
            item.patient_id,
            item.reason,
            item.script_id,
            item.due_from,
            item.due_until,
            today.isoformat(),
            rule.attempts.max,
            rule.attempts.spacing_minutes,
            stamp,
            "blocked" if item.blocker else "pending",
            item.blocker.value if item.blocker else None,
            stamp,
            *(item.appointment or (None, None, "", "")),
        )
        for item in items
    ]
    async with store.transaction() as db:
        before = await _count(db, rule.id)
        await db.executemany(
            """INSERT INTO worklist_items
                   (id, list_id, kind, dedupe_key, patient_id, reason, script_id, due_from,
                    due_until, generated_on, max_attempts, spacing_minutes, next_attempt_at,
                    state, block_reason, updated_at, appointment_id, appointment_start,
                    appointment_service, appointment_clinician)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (list_id, dedupe_key) DO NOTHING""",
            rows,
        )
        return await _count(db, rule.id) - before


async def _count(db: aiosqlite.Connection, list_id: str) -> int:
    cursor = await db.execute("SELECT count(*) FROM worklist_items WHERE list_id = ?", (list_id,))
    row = await cursor.fetchone()
    await cursor.close()
    return int(row[0]) if row else 0
