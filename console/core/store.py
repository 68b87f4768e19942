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
import errno
import functools
import json
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import aiosqlite

if TYPE_CHECKING:
    import sqlcipher3.dbapi2

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_PLAINTEXT_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every plain SQLite file; SQLCipher files start with a random salt."""
_SQLITE_NOTADB = 26
"""SQLite's result code for a file that is not a database (or does not decrypt)."""


class StoreError(Exception):
    """The store cannot be opened or used (message fit for the agent)."""


class StorageFaultError(StoreError):
    """The disk refused a write: full, an I/O error, read-only or locked for too long.

    The transaction was rolled back and nothing of it is on disk; the same
    write may succeed later (space freed, the lock released), so callers keep
    what they wanted to write and retry (see ``console/core/held_writes.py``).
    The message names the condition, never the data (it may be PHI).
    """


_FAULTS = {
    5: "the local store is locked by another program",  # SQLITE_BUSY
    6: "the local store is locked",  # SQLITE_LOCKED
    8: "the local store is read-only",  # SQLITE_READONLY
    10: "the disk holding the local store reported an I/O error",  # SQLITE_IOERR
    13: "the disk holding the local store is full",  # SQLITE_FULL
    14: "the local store's files cannot be opened",  # SQLITE_CANTOPEN
}
"""SQLite primary result codes that mean "not now", not "never": the write may be retried."""
_FAULT_TEXTS = {
    "database or disk is full": 13,
    "disk i/o error": 10,
    "attempt to write a readonly database": 8,
    "database is locked": 5,
    "unable to open database file": 14,
}
"""The same, by message, for DB-API modules (SQLCipher) that do not expose the code."""
_OS_FAULTS = {
    errno.ENOSPC: 13,
    errno.EDQUOT: 13,
    errno.EIO: 10,
    errno.EROFS: 8,
}


def storage_fault(exc: BaseException) -> StorageFaultError | None:
    """``exc`` as a :class:`StorageFaultError` when it is the disk refusing a write, else None."""
    if isinstance(exc, StorageFaultError):
        return exc
    code: int | None = None
    if isinstance(exc, OSError) and exc.errno in _OS_FAULTS:
        code = _OS_FAULTS[exc.errno]
    elif type(exc).__module__.startswith(("sqlite3", "sqlcipher3")):
        raw = getattr(exc, "sqlite_errorcode", None)
        if isinstance(raw, int):
            code = raw & 0xFF  # extended codes (SQLITE_IOERR_WRITE…) keep the primary low byte
        else:
            text = str(exc).lower()
            code = next((c for t, c in _FAULT_TEXTS.items() if t in text), None)
    if code not in _FAULTS:
        return None
    return StorageFaultError(_FAULTS[code])


@dataclass(frozen=True, slots=True)
class StoreKey:
    """The passphrase of an encrypted store, and where it came from.

    The passphrase is left out of ``repr`` (and so of ``str``), so that a log
    line or a traceback that shows locals never prints it.
    """

    passphrase: str = field(repr=False)
    """SQLCipher passphrase (stretched by SQLCipher's own PBKDF2)."""
    source: str = "the configured key"
    """Where it came from, for messages, e.g. "environment variable CARELINE_STORE_KEY"."""

    def __post_init__(self) -> None:
        # An empty key would silently mean "no encryption" to SQLCipher, and a
        # NUL would cut the key short in the C string.
        if not self.passphrase or "\x00" in self.passphrase:
            raise ValueError(f"the store key from {self.source} is empty or holds a NUL")


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
        writer = await _connect(path, key)
        try:
            await _configure(writer)
            await _migrate(writer, path)
            reader = await _connect(path, key)
            try:
                await _configure(reader)
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
        """Rows of one query on the reader connection (runs beside a write)."""
        cursor = await self._reader.execute(sql, tuple(params))
        rows = await cursor.fetchall()
        await cursor.close()
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


async def _connect(path: Path, key: StoreKey | None) -> aiosqlite.Connection:
    """One connection, unlocked and checked by a first read, or a :class:`StoreError`."""
    if key is not None and await asyncio.to_thread(_header, path) == _PLAINTEXT_HEADER:
        # SQLCipher would only say "file is not a database"; this case is
        # recognisable, and it needs a migration, not a different key.
        raise StoreError(
            f"the local store {path} is not encrypted but store.encryption is set: "
            "move it aside to start an encrypted one, or remove store.encryption"
        )
    errors: tuple[type[Exception], ...] = (OSError, sqlite3.Error)
    if key is None:
        db = aiosqlite.connect(path, isolation_level=None)
    else:
        # Imported here so that the plaintext path (and the engine process,
        # which imports this module through the CLI) never loads SQLCipher.
        import sqlcipher3.dbapi2

        errors = (*errors, sqlcipher3.dbapi2.Error)
        # aiosqlite only calls DB-API methods on what the connector returns,
        # so a SQLCipher connection stands in for a sqlite3 one. The key is
        # set inside the connector: aiosqlite debug-logs the repr of every
        # queued call, and this one's shows the StoreKey, never the passphrase.
        connector = functools.partial(_sqlcipher_connect, str(path), key)
        db = aiosqlite.Connection(
            cast(Callable[[], sqlite3.Connection], connector), iter_chunk_size=64
        )
    try:
        await db
    except errors as exc:
        raise StoreError(f"cannot open the local store {path}: {exc}") from None
    try:
        # The first read is what decrypts page 1. Exhaust and close the cursor:
        # an open statement would keep a read transaction that blocks WAL mode.
        async with db.execute("SELECT count(*) FROM sqlite_master") as cursor:
            await cursor.fetchall()
    except errors as exc:
        await db.close()
        # Only "not a database" means the bytes do not decode; anything else
        # (locked, unreadable) is reported as it is.
        if getattr(exc, "sqlite_errorcode", None) != _SQLITE_NOTADB:
            raise StoreError(f"cannot open the local store {path}: {exc}") from None
        if key is not None:
            raise StoreError(
                f"the local store {path} is encrypted and the key from {key.source} "
                "does not open it (a wrong key, or a damaged file)"
            ) from None
        raise StoreError(
            f"the local store {path} is not a plain SQLite database: it is encrypted "
            "(set store.encryption to its key) or damaged"
        ) from None
    except BaseException:
        await db.close()
        raise
    return db


def _sqlcipher_connect(path: str, key: StoreKey) -> sqlcipher3.dbapi2.Connection:
    """A SQLCipher connection with ``key`` applied (runs on aiosqlite's thread)."""
    import sqlcipher3.dbapi2

    db = sqlcipher3.dbapi2.connect(path, isolation_level=None)
    try:
        # SQLCipher logs a failed page check to stderr, which would scribble
        # over the console; the StoreError of the first read says it instead.
        db.execute("PRAGMA cipher_log_level = NONE")
        # PRAGMA takes no bound parameters, so the key is a quoted SQL literal
        # (quotes doubled). Not the x'hex' form: that is a raw 256-bit key and
        # would skip SQLCipher's stretching of a passphrase.
        db.execute("PRAGMA key = '" + key.passphrase.replace("'", "''") + "'")
    except BaseException:
        db.close()
        raise
    return db


def _header(path: Path) -> bytes:
    """The first 16 bytes of the file (empty when it does not exist yet)."""
    try:
        with path.open("rb") as file:
            return file.read(len(_PLAINTEXT_HEADER))
    except FileNotFoundError:
        return b""
    except OSError as exc:
        raise StoreError(f"cannot open the local store {path}: {exc}") from None


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
