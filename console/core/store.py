# SPDX-License-Identifier: GPL-2.0-or-later
"""The local store: SQLite through aiosqlite, WAL, synchronous=FULL.

One writer connection serialises every write transaction (an asyncio lock
around it); a second connection serves reads, which WAL lets run beside a
write. Schema changes are numbered ``migrations/NNNN_*.sql`` files tracked
by ``PRAGMA user_version``.

Encryption at rest is optional: given a :class:`StoreKey`, both connections
are SQLCipher connections (``sqlcipher3``, a drop-in DB-API module that
aiosqlite wraps like ``sqlite3``), which encrypt every page of the database
and of its WAL. Without a key the store is plain SQLite, as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from console.core.records import dataclass
from console.core.store_connection import StoreKey, configure, connect
from console.core.store_faults import StorageFaultError, StoreError, storage_fault

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, Path]]:
    """The shipped migrations, numbered 1..N without gaps."""
    found = sorted(
        (int(m.group(1)), path)
        for path in MIGRATIONS.iterdir()
        if (m := _MIGRATION_NAME.match(path.name))
    )
    numbers = [number for number, _ in found]
    if numbers != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations are not numbered 1..N: {numbers}")
    return found


@dataclass(frozen=True, slots=True)
class CallRow:
    """One stored call, as the history list shows it."""

    id: str
    caller_name: str
    caller_number: str
    received_at: str
    answered_at: str | None
    ended_at: str | None
    end_reason: str | None
    ended_by: str | None
    sip_status: int | None
    notes: str
    end_detail: str = ""
    """Why a turned-away call was refused (the engine's reason code)."""


@dataclass(frozen=True, slots=True)
class OpenCall:
    """A stored call that was never closed (its console or engine died with it)."""

    id: str
    direction: str
    caller_name: str
    caller_number: str
    called_uri: str
    received_at: str
    answered_at: str | None
    queue: str
    patient_id: str | None


class Store:
    """The agent's local database."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, key: StoreKey | None = None) -> Store:
        """Open (creating if needed) and migrate the database at ``path``.

        With ``key`` the store is (or becomes, when new) a SQLCipher database
        unlocked by it; without, a plain SQLite one. Raises :class:`StoreError`
        when the file cannot be opened, the key does not open it, or it is
        plaintext while a key is given (or encrypted while none is).
        """
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot open the local store {path}: {exc}") from None
        writer = await connect(path, key)
        try:
            await configure(writer)
            await _migrate(writer, path)
            reader = await connect(path, key)
            try:
                await configure(reader)
            except BaseException:
                await reader.close()
                raise
        except BaseException:
            await writer.close()
            raise
        await asyncio.to_thread(path.chmod, 0o600)
        return cls(path, writer, reader)

    async def close(self) -> None:
        """Close both connections (waits for a write in progress)."""
        async with self._write_lock:
            await self._reader.close()
            await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """One explicit write transaction on the writer connection.

        Commits when the block ends, rolls back if it or the commit raises.
        Other modules (the patient directory) write through this so that every
        write still goes through the one lock. The disk refusing the write
        (full, I/O error, locked) raises :class:`StorageFaultError`, with nothing of
        the transaction kept and the connection ready for the next one.
        """
        async with self._write_lock:
            await self._rollback()  # nothing may be left open by a failure before
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
            except Exception as exc:
                if (fault := storage_fault(exc)) is not None:
                    raise fault from None
                raise
            try:
                yield self._writer
                await self._writer.execute("COMMIT")
            except BaseException as exc:
                await self._rollback()
                if isinstance(exc, Exception) and (fault := storage_fault(exc)) is not None:
                    # from None: the chained SQLite error adds nothing, and a
                    # traceback printing its frames' locals could show the row.
                    raise fault from None
                raise

    async def _rollback(self) -> None:
        """Roll back what is open, if anything is: SQLite has already rolled back
        some failures itself (a full disk during COMMIT), and a second ROLLBACK
        would fail with "no transaction is active"."""
        if self._writer.in_transaction:
            with contextlib.suppress(Exception):
                await self._writer.execute("ROLLBACK")

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one query on the reader connection (runs beside a write).

        One trip to the connection's thread and back (execute, fetch and close there):
        each trip waits for the event loop's next turn, and while a call rings a turn is
        a frame being painted."""
        rows = await self._reader.execute_fetchall(sql, tuple(params))
        return [tuple(row) for row in rows]

    async def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        async with self.transaction() as db:
            await db.execute(sql, params)

    async def call_started(self, agent_id: str, call: dict[str, Any]) -> None:
        """Record a call the engine reported (``call`` is a protocol call object);
        again (a hello after an attach) only adds an answer the store missed."""
        caller = call.get("caller", {})
        await self._write(
            """INSERT INTO calls (id, agent_id, direction, caller_name, caller_number,
                                  caller_uri, called_uri, received_at, timeline, queue,
                                  answered_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE
               SET answered_at = COALESCE(calls.answered_at, excluded.answered_at)""",
            (
                call["id"],
                agent_id,
                call.get("direction", "inbound"),
                str(caller.get("display_name", "")),
                str(caller.get("number", "")),
                str(caller.get("uri", "")),
                str(call.get("called_uri", "")),
                call["received_at"],
                json.dumps(call.get("timeline", [])),
                str(call.get("queue") or ""),
                # An engine's snapshot (hello) of a call answered while no console
                # was attached: it was answered, whatever this store saw.
                call["answered_at"] if isinstance(call.get("answered_at"), str) else None,
            ),
        )

    async def call_turned_away(
        self, agent_id: str, call_id: str, event: dict[str, Any], reason: str
    ) -> None:
        """Record a call the engine refused without ringing (``call.turned_away``):
        one finished row, ``end_reason`` ``turned_away``, ``end_detail`` the reason."""
        caller = event.get("caller") or {}
        at = str(event.get("time") or "")
        status = event.get("sip_status")
        await self._write(
            """INSERT INTO calls (id, agent_id, direction, caller_name, caller_number,
                                  caller_uri, called_uri, received_at, ended_at, end_reason,
                                  ended_by, sip_status, queue, end_detail)
               VALUES (?, ?, 'inbound', ?, ?, ?, ?, ?, ?, 'turned_away', 'engine', ?, ?, ?)
               ON CONFLICT (id) DO NOTHING""",
            (
                call_id,
                agent_id,
                str(caller.get("display_name", "")),
                str(caller.get("number", "")),
                str(caller.get("uri", "")),
                str(event.get("called_uri", "")),
                at,
                at,
                status if isinstance(status, int) else None,
                str(event.get("queue") or ""),
                reason,
            ),
        )

    async def call_answered(self, call_id: str, answered_at: str) -> None:
        """Mark a stored call answered."""
        await self._write(
            "UPDATE calls SET answered_at = ? WHERE id = ? AND answered_at IS NULL",
            (answered_at, call_id),
        )

    async def call_ended(
        self,
        call: dict[str, Any],
        *,
        reason: str,
        ended_by: str,
        sip_status: int | None,
        ended_at: str,
    ) -> None:
        """Store how a call ended, with its whole timeline."""
        await self._write(
            """UPDATE calls SET ended_at = ?, end_reason = ?, ended_by = ?, sip_status = ?,
                                answered_at = COALESCE(answered_at, ?),
                                timeline = COALESCE(?, timeline)
               WHERE id = ?""",
            (
                ended_at,
                reason,
                ended_by,
                sip_status,
                call.get("answered_at"),
                json.dumps(call["timeline"]) if "timeline" in call else None,
                call["id"],
            ),
        )

    async def save_notes(self, call_id: str, notes: str) -> None:
        """Save the agent's notes for a call."""
        await self._write("UPDATE calls SET notes = ? WHERE id = ?", (notes, call_id))

    async def call_notes(self, call_id: str) -> str:
        """The notes saved for a call ("" when none, or the call is not stored)."""
        rows = await self.fetch_all("SELECT notes FROM calls WHERE id = ?", (call_id,))
        return str(rows[0][0] or "") if rows else ""

    async def recent_calls(self, limit: int) -> list[CallRow]:
        """The latest finished calls, newest first."""
        cursor = await self._reader.execute(
            """SELECT id, caller_name, caller_number, received_at, answered_at, ended_at,
                      end_reason, ended_by, sip_status, notes, end_detail
               FROM calls WHERE ended_at IS NOT NULL
               ORDER BY received_at DESC LIMIT ?""",
            (limit,),
        )
        rows = await cursor.fetchall()
        await cursor.close()
        return [CallRow(*row) for row in rows]

    async def open_calls(self, agent_id: str) -> list[OpenCall]:
        """``agent_id``'s calls stored as started and never ended, oldest first."""
        rows = await self.fetch_all(
            """SELECT id, direction, caller_name, caller_number, called_uri, received_at,
                      answered_at, queue, patient_id
               FROM calls WHERE ended_at IS NULL AND agent_id = ? ORDER BY received_at""",
            (agent_id,),
        )
        return [OpenCall(*row) for row in rows]

    async def unfinished_calls(self) -> list[str]:
        """Ids of calls stored as started but never ended (the engine was lost)."""
        cursor = await self._reader.execute("SELECT id FROM calls WHERE ended_at IS NULL")
        rows = await cursor.fetchall()
        await cursor.close()
        return [str(row[0]) for row in rows]


async def _migrate(db: aiosqlite.Connection, path: Path) -> None:
    cursor = await db.execute("PRAGMA user_version")
    row = await cursor.fetchone()
    await cursor.close()
    current = int(row[0]) if row else 0
    known = migrations()
    if current > len(known):
        raise StoreError(
            f"{path} was written by a newer careline "
            f"(schema {current}, this one knows {len(known)})"
        )
    for number, script in known[current:]:
        sql = script.read_text(encoding="utf-8")
        await db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {number}")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")


def _statements(sql: str) -> list[str]:
    """Split a migration into statements (they hold no semicolons in literals).

    A trigger body holds semicolons of its own, so pieces are joined until
    SQLite says the statement is complete (``CREATE TRIGGER … END;``).
    """
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    statements: list[str] = []
    pending = ""
    for part in "\n".join(lines).split(";"):
        pending += part + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                statements.append(pending.strip().removesuffix(";").strip())
            pending = ""
    if pending.strip(" \n;"):
        statements.append(pending.strip().removesuffix(";").strip())
    return statements


__all__ = [
    "MIGRATIONS",
    "CallRow",
    "OpenCall",
    "StorageFaultError",
    "Store",
    "StoreError",
    "StoreKey",
    "migrations",
    "storage_fault",
]
