"""The local store: SQLite through aiosqlite, WAL, synchronous=FULL.

One writer connection serialises every write transaction (an asyncio lock
around it); a second connection serves reads, which WAL lets run beside a
write. Schema changes are numbered ``migrations/NNNN_*.sql`` files tracked
by ``PRAGMA user_version``.
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class StoreError(Exception):
    """The store cannot be opened or used (message fit for the agent)."""


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


async def _configure(db: aiosqlite.Connection) -> None:
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=FULL")
    await db.execute("PRAGMA foreign_keys=ON")
    await db.execute("PRAGMA busy_timeout=5000")


class Store:
    """The agent's local database."""

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path) -> Store:
        """Open (creating if needed) and migrate the database at ``path``."""
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            writer = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, aiosqlite.Error) as exc:
            raise StoreError(f"cannot open the local store {path}: {exc}") from None
        try:
            await _configure(writer)
            await _migrate(writer, path)
            reader = await aiosqlite.connect(path, isolation_level=None)
            await _configure(reader)
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

        Commits when the block ends, rolls back if it raises. Other modules
        (the patient directory) write through this so that every write still
        goes through the one lock.
        """
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await self._writer.execute("ROLLBACK")
                raise
            await self._writer.execute("COMMIT")

    async def fetch_all(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one query on the reader connection (runs beside a write)."""
        cursor = await self._reader.execute(sql, tuple(params))
        rows = await cursor.fetchall()
        await cursor.close()
        return [tuple(row) for row in rows]

    async def _write(self, sql: str, params: tuple[Any, ...]) -> None:
        async with self.transaction() as db:
            await db.execute(sql, params)

    async def call_started(self, agent_id: str, call: dict[str, Any]) -> None:
        """Record a call the engine reported (``call`` is a protocol call object)."""
        caller = call.get("caller", {})
        await self._write(
            """INSERT INTO calls (id, agent_id, direction, caller_name, caller_number,
                                  caller_uri, called_uri, received_at, timeline)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO NOTHING""",
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

    async def recent_calls(self, limit: int) -> list[CallRow]:
        """The latest finished calls, newest first."""
        cursor = await self._reader.execute(
            """SELECT id, caller_name, caller_number, received_at, answered_at, ended_at,
                      end_reason, ended_by, sip_status, notes
               FROM calls WHERE ended_at IS NOT NULL
               ORDER BY received_at DESC LIMIT ?""",
            (limit,),
        )
        rows = await cursor.fetchall()
        await cursor.close()
        return [CallRow(*row) for row in rows]

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
