# SPDX-License-Identifier: GPL-2.0-or-later
"""Worklist items in the local store: atomic claims, outcomes, opt-outs, status.

Several consoles on one machine share the store: a claim is one ``BEGIN
IMMEDIATE`` transaction (SQLite's write lock across processes, waited for by
``busy_timeout``) that first lets expired claims go, then takes the first
item the calling rules allow with ``UPDATE … WHERE state = 'pending' …
RETURNING``. No two consoles can hold one item, nor two items of one patient.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum

import aiosqlite

from console.core.config.worklists import WorklistsConfig
from console.core.records import dataclass
from console.core.store import Store
from console.core.worklists.calling import (
    LASTING,
    Blocker,
    cap_blocker,
    due_ended,
    in_window,
    parse_utc,
    patient_zones,
    utc_text,
)


class Outcome(StrEnum):
    """How an attempt ended (issue 19's list)."""

    CONFIRMED = "confirmed"
    RESCHEDULED = "rescheduled"
    CANCELLED = "cancelled"
    VOICEMAIL = "voicemail"
    NO_ANSWER = "no_answer"
    BUSY = "busy"
    WRONG_NUMBER = "wrong_number"
    OPTED_OUT = "opted_out"


RETRY = frozenset({Outcome.NO_ANSWER, Outcome.BUSY})
"""Outcomes after which the item is tried again (spacing, up to the rule's maximum)."""
_CANDIDATES = 200
# Items looked at per claim: the first the rules allow wins; a list whose first 200
# due items are all blocked by time or caps offers nothing this minute.


@dataclass(frozen=True, slots=True, repr=False)
class Claim:
    """An item a console holds: who to call, why, with which script."""

    item_id: str
    token: str
    """Proves the holder: an outcome needs it (a lapsed claim's token no longer works)."""
    list_id: str
    patient_id: str
    reason: str
    script_id: str
    numbers: tuple[str, ...]
    """The numbers the patient gave (the directory's phones), first the first."""
    expires_at: str
    attempt: int = 1
    """Which attempt this claim is (1 for the first call)."""
    max_attempts: int = 1
    """The rule's most attempts (the preview's "attempt n of max")."""

    def __repr__(self) -> str:
        return f"Claim(item_id={self.item_id!r})"


class WorklistStore:
    """The worklist tables of one local store, under the calling rules of ``rules``."""

    def __init__(self, store: Store, rules: WorklistsConfig) -> None:
        self._store = store
        self._rules = rules

    async def blocker(
        self, db: aiosqlite.Connection, patient_id: str, now: datetime
    ) -> tuple[Blocker | None, tuple[str, ...]]:
        """Why ``patient_id`` may not be called at ``now`` (None: they may), and their numbers."""
        numbers = tuple(
            str(r[0])
            for r in await _rows(
                db, "SELECT e164 FROM patient_phones WHERE patient_id = ? ORDER BY e164", patient_id
            )
        )
        if await _rows(db, "SELECT 1 FROM worklist_opt_outs WHERE patient_id = ?", patient_id):
            return Blocker.OPTED_OUT, numbers
        if not numbers:
            return Blocker.NO_NUMBER, numbers
        if self._rules.caller_id is None:
            return Blocker.NO_CALLER_ID, numbers
        zones = patient_zones(numbers, self._rules.default_time_zone)
        if not in_window(now, zones, self._rules.window_start, self._rules.window_end):
            return Blocker.OUTSIDE_WINDOW, numbers
        if await _rows(
            db,
            "SELECT 1 FROM worklist_items WHERE patient_id = ? AND state = 'claimed'",
            patient_id,
        ):
            return Blocker.IN_PROGRESS, numbers
        since = utc_text(now - timedelta(days=8))
        calls = [
            parse_utc(str(r[0]))
            for r in await _rows(
                db,
                "SELECT at FROM outbound_calls WHERE patient_id = ? AND at >= ?",
                patient_id,
                since,
            )
        ]
        cap = cap_blocker(
            calls, now, zones, self._rules.max_calls_per_day, self._rules.max_calls_per_week
        )
        return cap, numbers

    def past_due(self, due_until: object, numbers: tuple[str, ...], now: datetime) -> bool:
        """Whether an item due through ``due_until`` may no longer be called at ``now``
        (its day is over in the zones of the patient's ``numbers``)."""
        zones = patient_zones(numbers, self._rules.default_time_zone)
        return due_ended(str(due_until), now, zones)

    async def claim_next(
        self, agent_id: str, now: datetime, list_id: str | None = None
    ) -> Claim | None:
        """Claim the first due item the calling rules allow, or None. An item whose due
        day is over is closed (blocked, ``expired``) instead: never offered late."""
        stamp = utc_text(now)
        expires = utc_text(now + timedelta(minutes=self._rules.claim_minutes))
        async with self._store.transaction() as db:
            await _release_expired(db, stamp)
            where = "state = 'pending' AND next_attempt_at <= ?"
            params: list[object] = [stamp]
            if list_id is not None:
                where += " AND list_id = ?"
                params.append(list_id)
            rows = await _rows(
                db,
                f"""SELECT id, patient_id, due_until FROM worklist_items WHERE {where}
                    ORDER BY due_until, next_attempt_at, id LIMIT {_CANDIDATES}""",
                *params,
            )
            for item_id, patient_id, due_until in rows:
                blocker, numbers = await self.blocker(db, str(patient_id), now)
                if blocker not in LASTING and self.past_due(due_until, numbers, now):
                    blocker = Blocker.EXPIRED
                if blocker is not None:
                    if blocker in LASTING:
                        await _block(db, str(item_id), blocker, stamp)
                    continue
                token = str(uuid.uuid4())
                claimed = await _rows(
                    db,
                    """UPDATE worklist_items
                       SET state = 'claimed', claimed_by = ?, claim_token = ?,
                           claim_expires_at = ?, updated_at = ?
                       WHERE id = ? AND state = 'pending'
                       RETURNING id, list_id, patient_id, reason, script_id,
                                 attempts, max_attempts""",
                    agent_id,
                    token,
                    expires,
                    stamp,
                    item_id,
                )
                if claimed:
                    got = claimed[0]
                    return Claim(
                        str(got[0]), token, str(got[1]), str(got[2]), str(got[3]),
                        str(got[4]), numbers, expires, int(str(got[5])) + 1, int(str(got[6])),
                    )  # fmt: skip
        return None

    async def record(self, claim: Claim, outcome: Outcome, now: datetime) -> bool:
        """Store the outcome of an attempt on a held claim; False if the claim lapsed.

        Every attempt is logged for the caps. No answer and busy retry after the
        rule's spacing until its maximum; an opt-out blocks every item of the patient.
        """
        stamp = utc_text(now)
        async with self._store.transaction() as db:
            rows = await _rows(
                db,
                """SELECT attempts, max_attempts, spacing_minutes FROM worklist_items
                   WHERE id = ? AND state = 'claimed' AND claim_token = ?""",
                claim.item_id,
                claim.token,
            )
            if not rows:
                return False
            attempts, most, spacing = (int(str(v)) for v in rows[0])
            attempts += 1
            retry = outcome in RETRY and attempts < most
            await db.execute(
                """UPDATE worklist_items
                   SET state = ?, attempts = ?, outcome = ?, next_attempt_at = ?,
                       claimed_by = NULL, claim_token = NULL, claim_expires_at = NULL,
                       updated_at = ?
                   WHERE id = ?""",
                (
                    "pending" if retry else "done",
                    attempts,
                    outcome.value,
                    utc_text(now + timedelta(minutes=spacing)) if retry else stamp,
                    stamp,
                    claim.item_id,
                ),
            )
            await db.execute(
                "INSERT INTO outbound_calls (patient_id, item_id, at, outcome) VALUES (?, ?, ?, ?)",
                (claim.patient_id, claim.item_id, stamp, outcome.value),
            )
            if outcome is Outcome.OPTED_OUT:
                await _opt_out(db, claim.patient_id, stamp, "call")
        return True

    async def release(self, claim: Claim, now: datetime, until: datetime | None = None) -> None:
        """Give a claimed item back without an attempt (the agent skipped it); with
        ``until``, it is not offered again before then."""
        async with self._store.transaction() as db:
            await db.execute(
                """UPDATE worklist_items SET state = 'pending', claimed_by = NULL,
                       claim_token = NULL, claim_expires_at = NULL, updated_at = ?,
                       next_attempt_at = coalesce(?, next_attempt_at)
                   WHERE id = ? AND claim_token = ?""",
                (utc_text(now), utc_text(until) if until else None, claim.item_id, claim.token),
            )

    async def renew(self, claim: Claim, now: datetime) -> Claim | None:
        """Hold ``claim`` another ``claim_minutes`` from ``now`` (the agent is still on it);
        None if it lapsed meanwhile (another console may have it now)."""
        expires = utc_text(now + timedelta(minutes=self._rules.claim_minutes))
        async with self._store.transaction() as db:
            renewed = await _rows(
                db,
                """UPDATE worklist_items SET claim_expires_at = ?, updated_at = ?
                   WHERE id = ? AND state = 'claimed' AND claim_token = ?
                     AND claim_expires_at > ?
                   RETURNING id""",
                expires,
                utc_text(now),
                claim.item_id,
                claim.token,
                utc_text(now),
            )
        return replace(claim, expires_at=expires) if renewed else None

    async def opt_out(self, patient_id: str, now: datetime, source: str = "") -> None:
        """Record that ``patient_id`` is not to be called; their open items are blocked."""
        async with self._store.transaction() as db:
            await _opt_out(db, patient_id, utc_text(now), source)

    async def opt_outs(self, entries: Iterable[tuple[str, datetime]], source: str) -> None:
        """Several opt-outs (patient, when) learnt from ``source``, in one transaction."""
        async with self._store.transaction() as db:
            for patient_id, at in entries:
                await _opt_out(db, patient_id, utc_text(at), source)


async def _opt_out(db: aiosqlite.Connection, patient_id: str, stamp: str, source: str) -> None:
    await db.execute(
        "INSERT INTO worklist_opt_outs (patient_id, at, source) VALUES (?, ?, ?) "
        "ON CONFLICT (patient_id) DO NOTHING",
        (patient_id, stamp, source),
    )
    await db.execute(
        """UPDATE worklist_items SET state = 'blocked', block_reason = 'opted_out',
               claimed_by = NULL, claim_token = NULL, claim_expires_at = NULL, updated_at = ?
           WHERE patient_id = ? AND state IN ('pending', 'claimed')""",
        (stamp, patient_id),
    )


async def _release_expired(db: aiosqlite.Connection, stamp: str) -> None:
    """Claims whose console stopped renewing them (it died) go back to the list."""
    await db.execute(
        """UPDATE worklist_items SET state = 'pending', claimed_by = NULL, claim_token = NULL,
               claim_expires_at = NULL, updated_at = ?
           WHERE state = 'claimed' AND claim_expires_at <= ?""",
        (stamp, stamp),
    )


async def _block(db: aiosqlite.Connection, item_id: str, blocker: Blocker, stamp: str) -> None:
    await db.execute(
        """UPDATE worklist_items SET state = 'blocked', block_reason = ?, updated_at = ?
           WHERE id = ? AND state = 'pending'""",
        (blocker.value, stamp, item_id),
    )


async def _rows(db: aiosqlite.Connection, sql: str, *params: object) -> list[tuple[object, ...]]:
    cursor = await db.execute(sql, params)
    rows = await cursor.fetchall()
    await cursor.close()
    return [tuple(row) for row in rows]
