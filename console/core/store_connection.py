# SPDX-License-Identifier: GPL-2.0-or-later
"""Opening one connection to the local store: plain SQLite, or SQLCipher with a key.

The connection is unlocked and checked by a first read, so a wrong key or a
file that is not a database is told apart here, in words for the agent.
"""

from __future__ import annotations

import asyncio
import functools
import sqlite3
from collections.abc import Callable
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, cast

import aiosqlite

from console.core.records import dataclass
from console.core.store_faults import StoreError

if TYPE_CHECKING:
    import sqlcipher3.dbapi2

_PLAINTEXT_HEADER = b"SQLite format 3\x00"
"""The first 16 bytes of every plain SQLite file; SQLCipher files start with a random salt."""
_SQLITE_NOTADB = 26
"""SQLite's result code for a file that is not a database (or does not decrypt)."""


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


async def configure(db: aiosqlite.Connection) -> None:
    """WAL, synchronous=FULL, foreign keys and a busy timeout on ``db``."""
    await db.execute("PRAGMA journal_mode=WAL")
    await db.execute("PRAGMA synchronous=FULL")
    await db.execute("PRAGMA foreign_keys=ON")
    await db.execute("PRAGMA busy_timeout=5000")


async def connect(path: Path, key: StoreKey | None) -> aiosqlite.Connection:
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
