"""Interactions, callbacks, wrap-up drafts and the outbox in the local store.

An interaction is what an agent records about one piece of work with a
caller: script answers, red flags, urgency, disposition, notes, form values
and the callbacks it asks for. :meth:`InteractionStore.finish` writes it, its
callbacks, one outbox row for each and the removal of the call's wrap-up draft
in one transaction, so the hub sync (issue 7) sees either all of it or none.

Drafts are whatever the wrap-up screen holds so far, saved on every change
(:meth:`InteractionStore.save_draft` returns once the save is on disk), so a
console killed mid-wrap-up reopens it (:meth:`InteractionStore.load_drafts`).

Script answers and form values are plain JSON values (dicts, lists, strings,
numbers): this layer does not know the script and form models.

No ``repr`` here shows patient data, notes or answers, and error messages name
fields and ids only.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast, get_args

import aiosqlite

from console.core.store import Store

Urgency = Literal["routine", "urgent", "emergency"]
"""How urgent an interaction is; red flags raise it, nothing lowers it."""
URGENCIES: tuple[Urgency, ...] = get_args(Urgency)
"""Urgencies from lowest to highest."""
CallbackStatus = Literal["open", "done", "cancelled"]
"""Where a callback stands."""
OutboxKind = Literal["interaction", "callback", "agent_state", "call_event", "audit_head"]
"""What an outbox row describes."""
PAYLOAD_SCHEMA = 1
"""The ``schema`` number in every outbox payload, for the hub to tell shapes apart."""


class InteractionError(ValueError):
    """An interaction, callback or draft is invalid or cannot be written.

    Messages name fields and ids, never their values (which may be PHI).
    """


def urgency_rank(urgency: str) -> int:
    """Position of ``urgency`` in ``routine < urgent < emergency``."""
    try:
        return URGENCIES.index(cast(Urgency, urgency))
    except ValueError:
        raise InteractionError(
            f"urgency must be one of {', '.join(URGENCIES)}, not {urgency!r}"
        ) from None


def raise_urgency(current: Urgency, proposed: Urgency) -> Urgency:
    """The urgency after ``proposed`` is applied: raised if higher, never lowered."""
    return proposed if urgency_rank(proposed) > urgency_rank(current) else current


def utc_text(moment: datetime, what: str = "time") -> str:
    """``moment`` as the store writes times: UTC ISO 8601, milliseconds, ending in Z.

    A naive datetime is refused: the store cannot know which zone it meant.
    """
    if not isinstance(moment, datetime):
        raise InteractionError(f"{what} must be a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InteractionError(f"{what} must be timezone-aware (UTC), not naive")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _new_id() -> str:
    return str(uuid.uuid4())


def _check_uuid(value: str, what: str) -> None:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise InteractionError(f"{what} must be a UUID") from None


def _check_text(value: object, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InteractionError(f"{what} must be non-empty text")


def _json(value: object, what: str) -> str:
    """Compact JSON of plain values, or an :class:`InteractionError` naming ``what``."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        # json's message may quote the offending value, which may be PHI.
        raise InteractionError(f"{what} must hold JSON values only") from None


def _check_entries(entries: object, key: str, what: str) -> None:
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
        raise InteractionError(f"{what} must be a list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get(key), str):
            raise InteractionError(f"{what}[{index}] must be an object with a text {key!r}")
        if not isinstance(entry.get("at"), str):
            raise InteractionError(f"{what}[{index}] must have an 'at' time (ISO text)")
    _json(entries, what)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Interaction:
    """One finished interaction, as the wrap-up hands it to the store.

    ``id`` is chosen when the wrap-up opens and kept for every retry: writing
    the same id twice stores it once.
    """

    agent_id: str
    started_at: datetime
    ended_at: datetime
    disposition: str
    """The wrap-up form's disposition code; never empty."""
    id: str = field(default_factory=_new_id)
    """UUID; the hub's idempotency key."""
    call_id: str | None = None
    """The engine's call UUID, or None when the interaction had no call."""
    patient_id: str | None = None
    script_id: str | None = None
    script_version: str | None = None
    answers: Sequence[Mapping[str, Any]] = ()
    """``{"question": id, "value": JSON value, "at": ISO time}`` in the order answered."""
    red_flags: Sequence[Mapping[str, Any]] = ()
    """``{"rule": id, "at": ISO time}`` in the order raised."""
    urgency: Urgency = "routine"
    """The highest urgency the call reached (see :func:`raise_urgency`)."""
    notes: str = ""
    form: Mapping[str, Any] = field(default_factory=dict)
    """The wrap-up form's other field values, by field id."""
    feedback_consent: bool = False
    created_at: datetime | None = None
    """When the store wrote it (set on rows read back; ignored when writing)."""

    def __post_init__(self) -> None:
        _check_uuid(self.id, "interaction id")
        _check_text(self.agent_id, "agent_id")
        _check_text(self.disposition, "disposition")
        urgency_rank(self.urgency)
        started = utc_text(self.started_at, "started_at")
        ended = utc_text(self.ended_at, "ended_at")
        if ended < started:
            raise InteractionError("ended_at is before started_at")
        if not isinstance(self.notes, str):
            raise InteractionError("notes must be text")
        if not isinstance(self.feedback_consent, bool):
            raise InteractionError("feedback_consent must be True or False")
        _check_entries(self.answers, "question", "answers")
        _check_entries(self.red_flags, "rule", "red_flags")
        if not isinstance(self.form, Mapping):
            raise InteractionError("form must be an object of field values")
        _json(self.form, "form")

    def __repr__(self) -> str:
        return f"Interaction(id={self.id!r}, call_id={self.call_id!r})"


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class FollowUp:
    """A callback an interaction asks for, before it is stored."""

    number: str
    """The number to call (E.164 where known)."""
    due_at: datetime
    owner: str
    """Who is to call: an agent id or a team/queue name."""
    reason: str = ""
    patient_id: str | None = None
    """None: the patient of the interaction that asks for it."""
    id: str = field(default_factory=_new_id)

    def __post_init__(self) -> None:
        _check_uuid(self.id, "callback id")
        _check_text(self.number, "callback number")
        _check_text(self.owner, "callback owner")
        utc_text(self.due_at, "callback due_at")
        if not isinstance(self.reason, str):
            raise InteractionError("callback reason must be text")

    def __repr__(self) -> str:
        return f"FollowUp(id={self.id!r})"


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Callback:
    """A stored callback, as the callbacks list shows it."""

    id: str
    interaction_id: str
    """The interaction that asked for it."""
    patient_id: str | None
    number: str
    due_at: datetime
    owner: str
    reason: str
    status: CallbackStatus
    done_at: datetime | None
    outcome_interaction_id: str | None
    created_at: datetime
    overdue: bool
    """Open and due before the ``now`` it was listed at."""

    def __repr__(self) -> str:
        return f"Callback(id={self.id!r}, status={self.status!r}, overdue={self.overdue!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Draft:
    """The wrap-up in progress for one call."""

    call_id: str
    saved_at: datetime
    body: dict[str, Any]
    """Whatever the wrap-up screen saved, as it saved it."""
    call_ended_at: datetime | None
    """When the call ended; None while the engine may still hold it."""

    @property
    def call_finished(self) -> bool:
        """The call is over: the console reopens this wrap-up at start."""
        return self.call_ended_at is not None

    def __repr__(self) -> str:
        return f"Draft(call_id={self.call_id!r})"


@dataclass(frozen=True, slots=True, repr=False)
class OutboxRow:
    """One fact waiting for the hub sync."""

    seq: int
    kind: OutboxKind
    entity_id: str
    payload: dict[str, Any]
    created_at: datetime

    def __repr__(self) -> str:
        return f"OutboxRow(seq={self.seq}, kind={self.kind!r}, entity_id={self.entity_id!r})"


_INTERACTION_COLUMNS = (
    "id",
    "call_id",
    "agent_id",
    "patient_id",
    "started_at",
    "ended_at",
    "script_id",
    "script_version",
    "answers",
    "red_flags",
    "urgency",
    "disposition",
    "notes",
    "form",
    "feedback_consent",
    "created_at",
)
_INSERT_INTERACTION = (
    f"INSERT INTO interactions ({', '.join(_INTERACTION_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(_INTERACTION_COLUMNS))})"
)
_CALLBACK_COLUMNS = (
    "id",
    "interaction_id",
    "patient_id",
    "number",
    "due_at",
    "owner",
    "reason",
    "status",
    "done_at",
    "outcome_interaction_id",
    "created_at",
)
_INSERT_CALLBACK = (
    f"INSERT INTO callbacks ({', '.join(_CALLBACK_COLUMNS[:8])}, created_at) "
    f"VALUES ({', '.join('?' * 9)})"
)
_INSERT_OUTBOX = "INSERT INTO outbox (kind, entity_id, payload, created_at) VALUES (?, ?, ?, ?)"


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
        text = _json(body, "draft body")
        async with _StoreRefusal("draft"), self._store.transaction() as db:
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
                saved_at=_parse_time(saved_at),
                body=json.loads(body),
                call_ended_at=_parse_time(ended_at) if ended_at else None,
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
        _check_follow_ups(follow_ups)
        async with _StoreRefusal("interaction"), self._store.transaction() as db:
            if await _exists(db, interaction.id):
                return False
            await self._write(db, interaction, follow_ups, callback_id=None)
        self._queued()
        return True

    async def get(self, interaction_id: str) -> Interaction | None:
        """The stored interaction with this id, or None."""
        rows = await self._store.fetch_all(
            f"SELECT {', '.join(_INTERACTION_COLUMNS)} FROM interactions WHERE id = ?",
            (interaction_id,),
        )
        return _interaction(rows[0]) if rows else None

    # -- callbacks --------------------------------------------------------

    async def callbacks(self, now: datetime, owner: str | None = None) -> list[Callback]:
        """Open callbacks, earliest due first, flagged ``overdue`` when due before ``now``.

        With ``owner``, only that owner's.
        """
        at = utc_text(now, "now")
        where = "status = 'open'" + (" AND owner = ?" if owner is not None else "")
        rows = await self._store.fetch_all(
            f"SELECT {', '.join(_CALLBACK_COLUMNS)} FROM callbacks "
            f"WHERE {where} ORDER BY due_at, created_at, id",
            (owner,) if owner is not None else (),
        )
        return [_callback(row, at) for row in rows]

    async def callback(self, callback_id: str, now: datetime) -> Callback | None:
        """One callback, whatever its status, or None."""
        at = utc_text(now, "now")
        rows = await self._store.fetch_all(
            f"SELECT {', '.join(_CALLBACK_COLUMNS)} FROM callbacks WHERE id = ?",
            (callback_id,),
        )
        return _callback(rows[0], at) if rows else None

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
        _check_follow_ups(follow_ups)
        async with _StoreRefusal("callback"), self._store.transaction() as db:
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
            if await _exists(db, outcome.id):
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
        async with _StoreRefusal("callback"), self._store.transaction() as db:
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
            OutboxRow(int(seq), kind, str(entity), json.loads(payload), _parse_time(created))
            for seq, kind, entity, payload, created in rows
        ]

    async def publish(self, kind: OutboxKind, entity_id: str, payload: Mapping[str, Any]) -> int:
        """Queue one record for the hub on its own (agent state, a call event, an
        audit head); returns its outbox ``seq``. Interactions and callbacks are
        queued by :meth:`finish` and :meth:`complete_callback` instead."""
        body = json.dumps({"schema": PAYLOAD_SCHEMA, **payload}, allow_nan=False)
        async with self._store.transaction() as db:
            cursor = await db.execute(_INSERT_OUTBOX, (kind, entity_id, body, self._now()))
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
        row = _interaction_row(interaction, now)
        await db.execute(_INSERT_INTERACTION, row)
        payload = dict(zip(_INTERACTION_COLUMNS, row, strict=True))
        for name in ("answers", "red_flags", "form"):
            payload[name] = json.loads(cast(str, payload[name]))
        payload["feedback_consent"] = interaction.feedback_consent
        payload["callback_id"] = callback_id
        payload["follow_up_ids"] = [follow_up.id for follow_up in follow_ups]
        await _outbox(db, "interaction", interaction.id, payload, now)
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
            await db.execute(_INSERT_CALLBACK, values)
            state = dict(zip((*_CALLBACK_COLUMNS[:8], "created_at"), values, strict=True))
            state.update(done_at=None, outcome_interaction_id=None)
            await _outbox(db, "callback", follow_up.id, state, now)
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
            f"SELECT {', '.join(_CALLBACK_COLUMNS)} FROM callbacks WHERE id = ?", (callback_id,)
        )
        row = await cursor.fetchone()
        await cursor.close()
        assert row is not None  # checked open in this transaction
        # Callbacks change state, so each change is a full snapshot; the hub
        # keeps the one with the highest seq.
        await _outbox(
            db, "callback", callback_id, dict(zip(_CALLBACK_COLUMNS, row, strict=True)), self._now()
        )


class _StoreRefusal:
    """Turns the store refusing a row into an :class:`InteractionError`.

    SQLite's constraint messages name the constraint, never the values.
    """

    def __init__(self, what: str) -> None:
        self._what = what

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, sqlite3.IntegrityError):
            raise InteractionError(f"the store refused the {self._what}: {exc}") from None


def _check_follow_ups(follow_ups: Sequence[FollowUp]) -> None:
    ids = [follow_up.id for follow_up in follow_ups]
    for follow_up in follow_ups:
        if not isinstance(follow_up, FollowUp):
            raise InteractionError("follow_ups must be FollowUp objects")
    if len(set(ids)) != len(ids):
        raise InteractionError("two follow-ups share an id")


async def _exists(db: aiosqlite.Connection, interaction_id: str) -> bool:
    cursor = await db.execute("SELECT 1 FROM interactions WHERE id = ?", (interaction_id,))
    row = await cursor.fetchone()
    await cursor.close()
    return row is not None


async def _outbox(
    db: aiosqlite.Connection, kind: OutboxKind, entity_id: str, payload: dict[str, Any], now: str
) -> None:
    body = {"schema": PAYLOAD_SCHEMA, **payload}
    await db.execute(_INSERT_OUTBOX, (kind, entity_id, _json(body, f"{kind} payload"), now))


def _interaction_row(interaction: Interaction, now: str) -> tuple[object, ...]:
    return (
        interaction.id,
        interaction.call_id,
        interaction.agent_id,
        interaction.patient_id,
        utc_text(interaction.started_at),
        utc_text(interaction.ended_at),
        interaction.script_id,
        interaction.script_version,
        _json([dict(answer) for answer in interaction.answers], "answers"),
        _json([dict(flag) for flag in interaction.red_flags], "red_flags"),
        interaction.urgency,
        interaction.disposition,
        interaction.notes,
        _json(dict(interaction.form), "form"),
        int(interaction.feedback_consent),
        now,
    )


def _interaction(row: tuple[Any, ...]) -> Interaction:
    values = dict(zip(_INTERACTION_COLUMNS, row, strict=True))
    return Interaction(
        id=values["id"],
        call_id=values["call_id"],
        agent_id=values["agent_id"],
        patient_id=values["patient_id"],
        started_at=_parse_time(values["started_at"]),
        ended_at=_parse_time(values["ended_at"]),
        script_id=values["script_id"],
        script_version=values["script_version"],
        answers=json.loads(values["answers"]),
        red_flags=json.loads(values["red_flags"]),
        urgency=values["urgency"],
        disposition=values["disposition"],
        notes=values["notes"],
        form=json.loads(values["form"]),
        feedback_consent=bool(values["feedback_consent"]),
        created_at=_parse_time(values["created_at"]),
    )


def _callback(row: tuple[Any, ...], now: str) -> Callback:
    values = dict(zip(_CALLBACK_COLUMNS, row, strict=True))
    return Callback(
        id=values["id"],
        interaction_id=values["interaction_id"],
        patient_id=values["patient_id"],
        number=values["number"],
        due_at=_parse_time(values["due_at"]),
        owner=values["owner"],
        reason=values["reason"],
        status=values["status"],
        done_at=_parse_time(values["done_at"]) if values["done_at"] else None,
        outcome_interaction_id=values["outcome_interaction_id"],
        created_at=_parse_time(values["created_at"]),
        # Both stamps have the same fixed shape, so text order is time order.
        overdue=values["status"] == "open" and values["due_at"] < now,
    )


__all__ = [
    "URGENCIES",
    "Callback",
    "CallbackStatus",
    "Draft",
    "FollowUp",
    "Interaction",
    "InteractionError",
    "InteractionStore",
    "OutboxKind",
    "OutboxRow",
    "Urgency",
    "raise_urgency",
    "urgency_rank",
    "utc_text",
]
