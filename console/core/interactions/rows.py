# SPDX-License-Identifier: GPL-2.0-or-later
"""How the records map to the store's rows: columns, statements and conversions.

Everything here runs inside a transaction the :class:`InteractionStore` holds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

import aiosqlite

from console.core.interactions.records import Callback, FollowUp, Interaction
from console.core.interactions.values import (
    PAYLOAD_SCHEMA,
    InteractionError,
    OutboxKind,
    parse_time,
    to_json,
    utc_text,
)

INTERACTION_COLUMNS = (
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
    "appointments",
)
JSON_COLUMNS = ("answers", "red_flags", "form", "appointments")
"""The interaction columns that hold JSON text."""
INSERT_INTERACTION = (
    f"INSERT INTO interactions ({', '.join(INTERACTION_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(INTERACTION_COLUMNS))})"
)
CALLBACK_COLUMNS = (
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
INSERT_CALLBACK = (
    f"INSERT INTO callbacks ({', '.join(CALLBACK_COLUMNS[:8])}, created_at) "
    f"VALUES ({', '.join('?' * 9)})"
)
INSERT_OUTBOX = "INSERT INTO outbox (kind, entity_id, payload, created_at) VALUES (?, ?, ?, ?)"


class StoreRefusal:
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


def check_follow_ups(follow_ups: Sequence[FollowUp]) -> None:
    """Refuse anything but :class:`FollowUp` objects with distinct ids."""
    ids = [follow_up.id for follow_up in follow_ups]
    for follow_up in follow_ups:
        if not isinstance(follow_up, FollowUp):
            raise InteractionError("follow_ups must be FollowUp objects")
    if len(set(ids)) != len(ids):
        raise InteractionError("two follow-ups share an id")


async def interaction_exists(db: aiosqlite.Connection, interaction_id: str) -> bool:
    """An interaction with this id is stored (seen inside ``db``'s transaction)."""
    cursor = await db.execute("SELECT 1 FROM interactions WHERE id = ?", (interaction_id,))
    row = await cursor.fetchone()
    await cursor.close()
    return row is not None


async def insert_outbox(
    db: aiosqlite.Connection, kind: OutboxKind, entity_id: str, payload: dict[str, Any], now: str
) -> None:
    """Queue one outbox row of ``kind`` inside ``db``'s transaction."""
    body = {"schema": PAYLOAD_SCHEMA, **payload}
    await db.execute(INSERT_OUTBOX, (kind, entity_id, to_json(body, f"{kind} payload"), now))


def interaction_row(interaction: Interaction, now: str) -> tuple[object, ...]:
    """The values of ``interaction`` for :data:`INSERT_INTERACTION`, created ``now``."""
    return (
        interaction.id,
        interaction.call_id,
        interaction.agent_id,
        interaction.patient_id,
        utc_text(interaction.started_at),
        utc_text(interaction.ended_at),
        interaction.script_id,
        interaction.script_version,
        to_json([dict(answer) for answer in interaction.answers], "answers"),
        to_json([dict(flag) for flag in interaction.red_flags], "red_flags"),
        interaction.urgency,
        interaction.disposition,
        interaction.notes,
        to_json(dict(interaction.form), "form"),
        int(interaction.feedback_consent),
        now,
        to_json([dict(entry) for entry in interaction.appointments], "appointments"),
    )


def interaction_from_row(row: tuple[Any, ...]) -> Interaction:
    """The interaction of a row selected with :data:`INTERACTION_COLUMNS`."""
    values = dict(zip(INTERACTION_COLUMNS, row, strict=True))
    for name in ("started_at", "ended_at", "created_at"):
        values[name] = parse_time(values[name])
    for name in JSON_COLUMNS:
        values[name] = json.loads(values[name])
    values["feedback_consent"] = bool(values["feedback_consent"])
    return Interaction(**values)


def callback_from_row(row: tuple[Any, ...], now: str) -> Callback:
    """The callback of a row selected with :data:`CALLBACK_COLUMNS`, listed at ``now``."""
    values = dict(zip(CALLBACK_COLUMNS, row, strict=True))
    # Both stamps have the same fixed shape, so text order is time order.
    overdue = values["status"] == "open" and values["due_at"] < now
    for name in ("due_at", "created_at"):
        values[name] = parse_time(values[name])
    values["done_at"] = parse_time(values["done_at"]) if values["done_at"] else None
    return Callback(**values, overdue=overdue)
