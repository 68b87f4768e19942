# SPDX-License-Identifier: GPL-2.0-or-later
"""An agent's console sends its stopped recordings to the hub for QA, one by one.

What goes up is the file as the engine wrote it (still encrypted), its file key
sealed for the QA public key (:mod:`console.core.recordings.sealing`) and plain
metadata: call, queue, mode, times and the timeline's marks, read from the mark
chunks alone (:func:`sip.recording_file.recording_marks`), in a thread: the
audio is never decrypted here. The hub caps the retention asked for (hub
version 11). The hub down or refusing this login: the rest waits for the next
try. One recording that cannot go however often it is tried (its file gone,
unreadable, damaged or altered, or the hub refusing its row) is marked in the
store with why (``upload_failed``, fixed text) and logged, never tried again,
and the next goes on.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from console.core.recordings.sealing import SealError, load_public_key, seal
from console.core.records import dataclass
from console.core.store import Store
from console.hub.connection import Connect, close_quietly, describe_failure
from sip.protocol import utc_now_iso
from sip.recording_file import (
    RecordingFileError,
    RecordingTamperedError,
    file_key,
    recording_marks,
    salt_of,
)

log = logging.getLogger(__name__)

_PENDING = (
    "SELECT call_id, queue, mode, consent_by, file, started_at, ended_at, seconds, "
    "retention_days FROM recordings WHERE state = 'stopped' AND uploaded_at IS NULL "
    "AND upload_failed IS NULL ORDER BY started_at"
)
_INSERT = (
    "INSERT INTO careline.recordings (call_id, queue, mode, consent_by, started_at, "
    "ended_at, seconds, marks, sealed_key, data, delete_after) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)


class UnsendableError(Exception):
    """This recording can never go to the hub; the message says why (fixed text)."""


@dataclass(frozen=True, slots=True)
class _Sealed:
    """A recording's bytes, its marks and its file key sealed for QA."""

    raw: bytes
    marks: list[dict[str, Any]]
    sealed_key: bytes


def _time(text: object) -> datetime:
    if not isinstance(text, str):
        raise ValueError("no time")
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _sealed(path: Path, master: bytes, public_pem: bytes) -> _Sealed:
    """Read and open what goes up (slow: in a thread)."""
    raw = path.read_bytes()
    key = file_key(master, salt_of(raw))
    return _Sealed(raw, recording_marks(raw, key).marks, seal(key, public_pem))


async def _read(file: object, master: bytes, public_pem: bytes) -> _Sealed:
    """The recording's file made ready to go; UnsendableError when it never can."""
    try:
        return await asyncio.to_thread(_sealed, Path(str(file)), master, public_pem)
    except FileNotFoundError:
        raise UnsendableError("its file is gone") from None
    except OSError as exc:
        raise UnsendableError(f"its file cannot be read ({type(exc).__name__})") from None
    except RecordingTamperedError:
        raise UnsendableError("its file was altered, or is not under this console's key") from None
    except RecordingFileError:
        raise UnsendableError("its file is not a recording this version reads") from None
    except ValueError:
        raise UnsendableError("its file is damaged") from None


async def _send(
    conn: psycopg.AsyncConnection[Any], row: Any, master: bytes, public_pem: bytes
) -> None:
    """Insert one pending row of the store's recordings on the hub.

    UnsendableError for a recording that never can go; psycopg errors other than the
    hub refusing this row's values (the hub down, this login refused) pass.
    """
    _call_id, queue, mode, consent_by, file, started, ended, seconds, days = row
    try:
        started_at, ended_at = _time(started), _time(ended)
        keep = timedelta(days=int(days))
    except (TypeError, ValueError):
        raise UnsendableError("its row in the store is damaged") from None
    ready = await _read(file, master, public_pem)
    values = (
        str(_call_id),
        queue,
        mode,
        consent_by,
        started_at,
        ended_at,
        float(seconds or 0),
        json.dumps(ready.marks),
        ready.sealed_key,
        ready.raw,
        started_at + keep,  # what this console keeps it; the hub caps it (version 11)
    )
    try:
        async with conn.transaction():
            await conn.execute(_INSERT, values)
    except (psycopg.errors.IntegrityError, psycopg.errors.DataError) as exc:
        raise UnsendableError(f"the hub refused it: {describe_failure(exc)}") from None


async def upload_pending(store: Store, connect: Connect, master: bytes, public_pem: bytes) -> int:
    """Send every stopped recording not on the hub yet; how many went.

    One that cannot go is marked and skipped (see the module); the hub down stops
    the round (tried again later). Logged without patient data or keys.
    """
    rows = await store.fetch_all(_PENDING)
    if not rows:
        return 0
    try:
        load_public_key(public_pem)
    except SealError as exc:
        log.warning("recordings not sent to the hub: recording.qa_public_key: %s", exc)
        return 0
    sent = 0
    conn: psycopg.AsyncConnection[Any] | None = None
    try:
        conn = await connect()
        for row in rows:
            call_id = str(row[0])
            try:
                await _send(conn, row, master, public_pem)
            except UnsendableError as exc:
                log.warning("recording %s will not go to the hub: %s", call_id, exc)
                column, value = "upload_failed", str(exc)
            else:
                column, value, sent = "uploaded_at", utc_now_iso(), sent + 1
            async with store.transaction() as db:
                await db.execute(
                    f"UPDATE recordings SET {column} = ? WHERE call_id = ?", (value, call_id)
                )
    except (psycopg.Error, OSError, TimeoutError) as exc:
        log.warning("recordings not sent to the hub now: %s", describe_failure(exc))
    finally:
        await close_quietly(conn)
    return sent
