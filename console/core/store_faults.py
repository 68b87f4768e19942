# SPDX-License-Identifier: GPL-2.0-or-later
"""What the store raises: a store that cannot be used, and a disk that refuses a write."""

from __future__ import annotations

import errno
import logging

log = logging.getLogger(__name__)


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


def fault_words(exc: BaseException) -> str:
    """Why a write or a read failed, for the agent: the disk's condition when it is one,
    else only the error's kind (its message may hold patient data)."""
    fault = storage_fault(exc)
    if fault is not None:
        return str(fault)
    if isinstance(exc, StoreError):
        return str(exc)  # written for the agent (see StoreError)
    return f"an unexpected error ({type(exc).__name__})"


def store_failure(exc: BaseException, doing: str) -> StoreError:
    """``exc``, raised by a backend kept on the local store (the demo's scheduling,
    refills and orders: a full disk, a lock, a failing read that raises the database's
    own error), as a :class:`StoreError` whose words are the disk's condition (or the
    error's kind, never its message: it may hold patient data). Logged under ``doing``,
    with the kind only."""
    log.warning("the local store failed (%s): %s", doing, type(exc).__name__)
    if isinstance(exc, StoreError):
        return exc
    return storage_fault(exc) or StoreError(fault_words(exc))
