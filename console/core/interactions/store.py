# SPDX-License-Identifier: GPL-2.0-or-later
"""The interaction store: drafts, finished interactions, callbacks and the outbox.

:meth:`InteractionStore.finish` writes an interaction, its callbacks, one
outbox row for each and the removal of the call's wrap-up draft in one
transaction, so the hub sync (issue 7) sees either all of it or none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

import aiosqlite

from console.core.interactions.records import (
    Callback,
    Draft,
    FollowUp,
    Interaction,
    OutboxRow,
)
from console.core.interactions.rows import (
    CALLBACK_COLUMNS,
    INSERT_CALLBACK,
    INSERT_INTERACTION,
    INSERT_OUTBOX,
    INTERACTION_COLUMNS,
    JSON_COLUMNS,
    StoreRefusal,
    callback_from_row,
    check_follow_ups,
    insert_outbox,
    interaction_exists,
    interaction_from_row,
    interaction_row,
)
from console.core.interactions.values import (
    PAYLOAD_SCHEMA,
    CallbackStatus,
    InteractionError,
    OutboxKind,
    parse_time,
    to_json,
    utc_text,
)
from console.core.store import Store


class InteractionStore:
    """Interactions, callbacks, drafts and the outbox, on the agent's :class:`Store`.

    Every method that writes returns once its transaction is committed
    (``synchronous=FULL``: on disk). ``clock`` stamps ``created_at``,
    ``saved_at`` and ``sent_at`` (tests fix it).
    """

    def __init__(self, store: Store, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._clock = clock or (lambda: datetime.now(UTC))
        self.on_outbox: Callable[[], None] | None = None
        """Called after a commit that added outbox rows (the hub sync wakes up)."""

    def _queued(self) -> None:
        if self.on_outbox is not None:
            self.on_outbox()

    def _now(self) -> str:
        return utc_text(self._clock(), "clock")

    # -- drafts -----------------------------------------------------------

    async def save_draft(self, call_id: str, body: Mapping[str, Any]) -> bool:
        """Save the wrap-up in progress for ``call_id``, replacing the previous save.

        Returns True once it is on disk; False (and nothing saved) when the
        call's interaction is already finished, so that a change arriving
        after :meth:`finish` cannot bring a finished wrap-up back. Raises
        :class:`InteractionError` when the call is not in the store or
        ``body`` is not JSON.
        """
        if not isinstance(body, Mapping):
            raise InteractionError("a draft body must be an object")
        text = to_json(body, "draft body")
        async with StoreRefusal("draft"), self._store.transaction() as db:
            cursor = await db.execute(
                """INSERT INTO wrap_up_drafts (call_id, saved_at, body)
                   SELECT ?, ?, ?
                   WHERE NOT EXISTS (SELECT 1 FROM interactions WHERE call_id = ?)
                   ON CONFLICT (call_id) DO UPDATE
                   SET saved_at = excluded.saved_at, body = excluded.body""",
                (call_id, self._now(), text, call_id),
            )
            saved = cursor.rowcount > 0
            await cursor.close()
        return saved

    async def load_drafts(self) -> list[Draft]:
        """Every saved draft, oldest save first, with whether its call has ended.

        At start the console reopens wrap-up for the drafts whose call is
        finished (:attr:`Draft.call_finished`); a draft whose call has not
        ended belongs to a call the engine may still hold.
        """
        rows = await self._store.fetch_all(
            """SELECT d.call_id, d.saved_at, d.body, c.ended_at
               FROM wrap_up_drafts AS d LEFT JOIN calls AS c ON c.id = d.call_id
               ORDER BY d.saved_at, d.call_id"""
        )
        return [
            Draft(
                call_id=str(call_id),
                saved_at=parse_time(saved_at),
                body=json.loads(body),
                call_ended_at=parse_time(ended_at) if ended_at else None,
            )
            for call_id, saved_at, body, ended_at in rows
        ]

    async def discard_draft(self, call_id: str) -> None:
        """Forget the draft of ``call_id`` (the agent abandoned the wrap-up)."""
        async with self._store.transaction() as db:
            await db.execute("DELETE FROM wrap_up_drafts WHERE call_id = ?", (call_id,))

    # -- interactions -----------------------------------------------------

    async def finish(self, interaction: Interaction, follow_ups: Sequence[FollowUp] = ()) -> bool:
        """Write a finished interaction with its callbacks, outbox rows and draft removal.

        One transaction: either all of it is stored or none. Returns True when
        written now, False when an interaction with this id is already stored
        (a retry after a crash or an error): nothing is written twice.
        Raises :class:`InteractionError` when the store refuses a row (a
        callback id already used, a call that is not in the store).
        """
        check_follow_ups(follow_ups)
        async with StoreRefusal("interaction"), self._store.transaction() as db:
            if await interaction_exists(db, interaction.id):
                return False
            await self._write(db, interaction, follow_ups, callback_id=None)
        self._queued()
        return True

    async def get(self, interaction_id: str) -> Interaction | None:
        """The stored interaction with this id, or None."""
        rows = await self._store.fetch_all(
            f"SELECT {', '.join(INTERACTION_COLUMNS)} FROM interactions WHERE id = ?",
            (interaction_id,),
        )
        return interaction_from_row(rows[0]) if rows else None

    # -- callbacks --------------------------------------------------------

    async def callbacks(self, now: datetime, owner: str | None = None) -> list[Callback]:
        """Open callbacks, earliest due first, flagged ``overdue`` when due before ``now``.

        With ``owner``, only that owner's.
        """
        at = utc_text(now, "now")
        where = "status = 'open'" + (" AND owner = ?" if owner is not None else "")
        rows = await self._store.fetch_all(
            f"SELECT {', '.join(CALLBACK_COLUMNS)} FROM callbacks "
            f"WHERE {where} ORDER BY due_at, created_at, id",
            (owner,) if owner is not None else (),
        )
        return [callback_from_row(row, at) for row in rows]

    async def callback(self, callback_id: str, now: datetime) -> Callback | None:
        """One callback, whatever its status, or None."""
        at = utc_text(now, "now")
        rows = await self._store.fetch_all(
            f"SELECT {', '.join(CALLBACK_COLUMNS)} FROM callbacks WHERE id = ?",
            (callback_id,),
        )
        return callback_from_row(rows[0], at) if rows else None

    async def complete_callback(
        self,
        callback_id: str,
        outcome: Interaction,
        follow_ups: Sequence[FollowUp] = (),
    ) -> bool:
        """Mark a callback done, with the interaction recording its outcome.

        One transaction: the outcome interaction (and any new ``follow_ups``,
        e.g. "no answer, try again tomorrow"), the callback's new state, their
        outbox rows and the outcome call's draft removal. Returns False when
        this callback is already done with this outcome (a retry). Raises
        :class:`InteractionError` when the callback does not exist or was
        closed otherwise.
        """
        check_follow_ups(follow_ups)
        async with StoreRefusal("callback"), self._store.transaction() as db:
            cursor = await db.execute(
                "SELECT status, outcome_interaction_id FROM callbacks WHERE id = ?",
                (callback_id,),
            )
            row = await cursor.fetchone()
            await cursor.close()
            if row is None:
                raise InteractionError(f"callback {callback_id} does not exist")
            status, outcome_id = row
            if status == "done" and outcome_id == outcome.id:
                return False
            if status != "open":
                raise InteractionError(f"callback {callback_id} is already {status}")
            if await interaction_exists(db, outcome.id):
                raise InteractionError(f"interaction {outcome.id} is already stored")
            await self._write(db, outcome, follow_ups, callback_id=callback_id)
            await self._close_callback(
                db, callback_id, "done", utc_text(outcome.ended_at), outcome.id
            )
        self._queued()
        return True

    async def cancel_callback(self, callback_id: str, at: datetime) -> None:
        """Close an open callback without calling (no longer needed)."""
        stamp = utc_text(at, "at")
        async with StoreRefusal("callback"), self._store.transaction() as db:
            cursor = await db.execute("SELECT status FROM callbacks WHERE id = ?", (callback_id,))
            row = await cursor.fetchone()
            await cursor.close()
            if row is None:
                raise InteractionError(f"callback {callback_id} does not exist")
            if row[0] != "open":
                raise InteractionError(f"callback {callback_id} is already {row[0]}")
            await self._close_callback(db, callback_id, "cancelled", stamp, None)
        self._queued()

    # -- outbox -----------------------------------------------------------

    async def pending_outbox(self, limit: int = 100) -> list[OutboxRow]:
        """Up to ``limit`` unsent outbox rows, in ``seq`` order."""
        rows = await self._store.fetch_all(
            "SELECT seq, kind, entity_id, payload, created_at FROM outbox "
            "WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
            (limit,),
        )
        return [
            OutboxRow(int(seq), kind, str(entity), json.loads(payload), parse_time(created))
            for seq, kind, entity, payload, created in rows
        ]

    async def publish(self, kind: OutboxKind, entity_id: str, payload: Mapping[str, Any]) -> int:
        """Queue one record for the hub on its own (agent state, a call event, an
        audit head); returns its outbox ``seq``. Interactions and callbacks are
        queued by :meth:`finish` and :meth:`complete_callback` instead."""
        body = json.dumps({"schema": PAYLOAD_SCHEMA, **payload}, allow_nan=False)
        async with self._store.transaction() as db:
            cursor = await db.execute(INSERT_OUTBOX, (kind, entity_id, body, self._now()))
            seq = int(cursor.lastrowid or 0)
            await cursor.close()
        self._queued()
        return seq

    async def mark_sent(self, seqs: Iterable[int]) -> int:
        """Mark outbox rows delivered; returns how many were unsent until now."""
        wanted = sorted({int(seq) for seq in seqs})
        if not wanted:
            return 0
        stamp = self._now()
        count = 0
        async with self._store.transaction() as db:
            # SQLite caps bound parameters per statement; chunks stay well under it.
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                cursor = await db.execute(
                    f"UPDATE outbox SET sent_at = ? WHERE sent_at IS NULL "
                    f"AND seq IN ({', '.join('?' * len(chunk))})",
                    (stamp, *chunk),
                )
                count += cursor.rowcount
                await cursor.close()
        return count

    # -- inside a transaction ---------------------------------------------

    async def _write(
        self,
        db: aiosqlite.Connection,
        interaction: Interaction,
        follow_ups: Sequence[FollowUp],
        *,
        callback_id: str | None,
    ) -> None:
        now = self._now()
        row = interaction_row(interaction, now)
        await db.execute(INSERT_INTERACTION, row)
        payload = dict(zip(INTERACTION_COLUMNS, row, strict=True))
        for name in JSON_COLUMNS:
            payload[name] = json.loads(cast(str, payload[name]))
        payload["feedback_consent"] = interaction.feedback_consent
        payload["callback_id"] = callback_id
        payload["follow_up_ids"] = [follow_up.id for follow_up in follow_ups]
        await insert_outbox(db, "interaction", interaction.id, payload, now)
        for follow_up in follow_ups:
            values = (
                follow_up.id,
                interaction.id,
                follow_up.patient_id
                if follow_up.patient_id is not None
                else interaction.patient_id,
                follow_up.number,
                utc_text(follow_up.due_at),
                follow_up.owner,
                follow_up.reason,
                "open",
                now,
            )
            await db.execute(INSERT_CALLBACK, values)
            state = dict(zip((*CALLBACK_COLUMNS[:8], "created_at"), values, strict=True))
            state.update(done_at=None, outcome_interaction_id=None)
            await insert_outbox(db, "callback", follow_up.id, state, now)
        if interaction.call_id is not None:
            await db.execute("DELETE FROM wrap_up_drafts WHERE call_id = ?", (interaction.call_id,))

    async def _close_callback(
        self,
        db: aiosqlite.Connection,
        callback_id: str,
        status: CallbackStatus,
        done_at: str,
        outcome_id: str | None,
    ) -> None:
        await db.execute(
            "UPDATE callbacks SET status = ?, done_at = ?, outcome_interaction_id = ? WHERE id = ?",
            (status, done_at, outcome_id, callback_id),
        )
        cursor = await db.execute(
            f"SELECT {', '.join(CALLBACK_COLUMNS)} FROM callbacks WHERE id = ?", (callback_id,)
        )
        row = await cursor.fetchone()
        await cursor.close()
        assert row is not None  # checked open in this transaction
        # Callbacks change state, so each change is a full snapshot; the hub
        # keeps the one with the highest seq.
        await insert_outbox(
            db, "callback", callback_id, dict(zip(CALLBACK_COLUMNS, row, strict=True)), self._now()
        )
