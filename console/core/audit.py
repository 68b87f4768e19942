# SPDX-License-Identifier: GPL-2.0-or-later
"""The audit log: an append-only, hash-chained record of every look at patient data.

Each row's ``hash`` is ``sha256(prev_hash + canonical JSON of its fields)``
(sorted keys, ``seq`` included) and its ``prev_hash`` is the previous row's
``hash`` (64 zeros for the first row). Triggers refuse UPDATE and DELETE;
someone with the database file can drop them, and then :meth:`AuditLog.verify`
names the first edited, deleted or re-linked row.

The chain alone cannot see rows cut off the end of the log (the shortened
chain is still consistent): that needs an external anchor, a head
(:meth:`AuditLog.head`) remembered elsewhere, e.g. the hub sync of issue 7,
passed back to :meth:`AuditLog.verify`.

Rows hold ids, never patient names or details.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal, TextIO

from console.core.records import dataclass
from console.core.store import Store

Action = Literal[
    "view",
    "search",
    "verify",
    "export",
    "lock",
    "unlock",
    "escalate",
    "sign_in",
    "book",
    "reschedule",
    "cancel",
    "refill",
    "message",
    "record_start",
    "record_pause",
    "record_resume",
    "record_stop",
    "record_delete",
    "record_play",
    "monitor",
    "monitor_mode",
    "monitor_end",
]
"""What the agent did (``sign_in``: agent id and PIN when the console starts or attaches;
``book``, ``reschedule``, ``cancel``, ``refill``: a write to the EHR for the patient;
``message``: a message to the patient's care team; ``record_*``: a call recording
started, paused, resumed, stopped, deleted by retention, or played; ``monitor``,
``monitor_mode``, ``monitor_end``: a supervisor joined (or was refused), switched mode
on, or left the agent's call)."""
Outcome = Literal["ok", "pass", "fail", "denied"]
"""How it went: ``pass``/``fail`` for identity verification, ``denied`` when refused."""
Category = Literal[
    "demographics",
    "appointments",
    "medications",
    "care_team",
    "flags",
    "interactions",
    "search",
    "verification",
    "export",
    "session",
    "red_flag",
    "orders",
    "recording",
    "monitoring",
]
"""The kind of data touched (``session`` for sign-in, lock and unlock, ``red_flag``
for a clinical escalation raised by a call script, ``orders`` for pending tests and
results, ``recording`` for a call recording, ``monitoring`` for a supervisor on a call)."""

GENESIS = "0" * 64
"""The ``prev_hash`` of the first row."""

COLUMNS = (
    "seq",
    "at",
    "agent_id",
    "patient_id",
    "category",
    "action",
    "outcome",
    "terminal",
    "prev_hash",
    "hash",
)
"""The audit table's columns, in CSV order."""

_HASHED = COLUMNS[:-2]
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM audit"
_PAGE = 5000


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One row of the audit log."""

    seq: int
    at: str
    agent_id: str
    patient_id: str | None
    category: str
    action: str
    outcome: str
    terminal: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What :meth:`AuditLog.verify` found."""

    ok: bool
    """True when every row checked is intact and linked to the one before."""
    checked: int
    """How many rows were checked (all of them when ``ok``)."""
    bad_seq: int | None = None
    """The first row found wrong (or missing), when not ``ok``."""
    reason: str | None = None
    """Why, e.g. "row 7 was edited", when not ``ok``."""


def row_hash(prev_hash: str, fields: Mapping[str, object]) -> str:
    """The chain hash of a row: sha256 over ``prev_hash`` and its canonical JSON."""
    canonical = json.dumps(
        {name: fields[name] for name in _HASHED},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    import hashlib  # here, not at the top: an idle console hashes nothing (OpenSSL's)

    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def utc_stamp(moment: datetime) -> str:
    """``moment`` as the log writes times: UTC ISO 8601, milliseconds, ending in Z."""
    if moment.tzinfo is None:
        raise ValueError("audit times must be timezone-aware")
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def terminal_label(environ: Mapping[str, str] | None = None, *, fd: int = 0) -> str:
    """Where the agent sits: ``ssh:IP:PORT`` of the SSH client, else the tty, else ``local``.

    IPv6 client addresses are bracketed (``ssh:[::1]:50000``) so the port stays
    readable.
    """
    env = os.environ if environ is None else environ
    parts = env.get("SSH_CONNECTION", "").split()
    if len(parts) >= 2:
        ip, port = parts[0], parts[1]
        return f"ssh:[{ip}]:{port}" if ":" in ip else f"ssh:{ip}:{port}"
    try:
        return os.ttyname(fd)
    except OSError:
        return "local"


class AuditLog:
    """The audit log in the local store.

    ``clock`` gives the time stamped on appended rows (tests fix it).
    """

    def __init__(self, store: Store, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._clock = clock or (lambda: datetime.now(UTC))

    async def append(
        self,
        agent_id: str,
        action: Action,
        category: Category | Sequence[Category],
        outcome: Outcome,
        patient_id: str | None = None,
        terminal: str | None = None,
        at: datetime | None = None,
    ) -> int:
        """Append one row and return its ``seq``.

        ``at`` is when the look happened (default: now); a write the disk held
        back and retries later keeps the time it was made.

        One look at several kinds of data (a card with appointments and
        prescriptions) is one row whose category lists them, comma-separated.

        The last row is read and the new one inserted in one write transaction
        (the store's lock in this process, ``BEGIN IMMEDIATE`` across
        processes), so two writers cannot both extend the same head.
        """
        stamp = utc_stamp(at or self._clock())
        where = terminal_label() if terminal is None else terminal
        async with self._store.transaction() as db:
            cursor = await db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
            last = await cursor.fetchone()
            await cursor.close()
            seq, prev = (int(last[0]) + 1, str(last[1])) if last else (1, GENESIS)
            fields: dict[str, object] = {
                "seq": seq,
                "at": stamp,
                "agent_id": agent_id,
                "patient_id": patient_id,
                "category": category if isinstance(category, str) else ",".join(category),
                "action": action,
                "outcome": outcome,
                "terminal": where,
            }
            digest = row_hash(prev, fields)
            await db.execute(
                f"INSERT INTO audit ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 10)})",
                (*fields.values(), prev, digest),
            )
        return seq

    async def failures_in_a_row(
        self, agent_id: str, actions: Sequence[Action]
    ) -> tuple[int, datetime | None]:
        """How many of ``agent_id``'s latest ``actions`` rows are ``fail`` in a row
        (e.g. wrong PINs at sign-in and unlock), and when the last of them was.

        Only a ``pass`` (or an ``ok``) ends the streak: a ``denied`` attempt (a
        wrong agent id) between wrong PINs must not reset the pause."""
        marks = ", ".join("?" * len(actions))
        rows = await self._store.fetch_all(
            f"SELECT outcome, at FROM audit WHERE agent_id = ? AND action IN ({marks}) "
            "AND outcome != 'denied' ORDER BY seq DESC LIMIT 64",
            (agent_id, *actions),
        )
        count = 0
        while count < len(rows) and rows[count][0] == "fail":
            count += 1
        return count, self._failed_at(rows[0][1]) if count else None

    def _failed_at(self, text: object) -> datetime:
        """When the last failure was. A time that is not one (a row forged with file access,
        the log being append-only, not unwritable) counts as now: the pause is the longest,
        never skipped."""
        try:
            moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        except ValueError:
            return self._clock()
        return moment if moment.tzinfo is not None else self._clock()

    async def head(self) -> tuple[int, str] | None:
        """The last row's ``(seq, hash)``, to keep outside the store; None when empty."""
        rows = await self._store.fetch_all("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    async def _rows(
        self, where: str = "", params: tuple[object, ...] = ()
    ) -> AsyncIterator[AuditRow]:
        """Rows in ``seq`` order, optionally filtered by an SQL condition, page by page."""
        after = 0
        condition = f" AND ({where})" if where else ""
        while True:
            page = await self._store.fetch_all(
                f"{_SELECT} WHERE seq > ?{condition} ORDER BY seq LIMIT {_PAGE}",
                (after, *params),
            )
            for raw in page:
                yield AuditRow(*raw)
            if len(page) < _PAGE:
                return
            after = int(page[-1][0])

    async def verify(self, anchor: tuple[int, str] | None = None) -> VerifyResult:
        """Walk the chain in ``seq`` order and report the first bad row.

        ``anchor`` is a head remembered earlier (:meth:`head`): without it,
        rows deleted from the end of the log cannot be seen.
        """
        checked = 0
        prev_hash = GENESIS
        expected = 1
        async for row in self._rows():
            if row.seq != expected:
                return _bad(checked, expected, f"row {expected} is missing (deleted)")
            if row_hash(row.prev_hash, _fields(row)) != row.hash:
                return _bad(checked, row.seq, f"row {row.seq} was edited")
            if row.prev_hash != prev_hash:
                return _bad(checked, row.seq, f"row {row.seq} does not follow row {row.seq - 1}")
            if anchor is not None and row.seq == anchor[0] and row.hash != anchor[1]:
                return _bad(checked, row.seq, f"row {row.seq} differs from the remembered head")
            checked += 1
            prev_hash = row.hash
            expected += 1
        if anchor is not None and checked < anchor[0]:
            return _bad(
                checked,
                checked + 1,
                f"row {checked + 1} is missing (deleted): the log ends at row {checked}, "
                f"the remembered head is row {anchor[0]}",
            )
        return VerifyResult(ok=True, checked=checked)

    async def export_csv(
        self,
        target: Path | TextIO,
        start: datetime,
        end: datetime,
        *,
        agent_id: str,
        terminal: str | None = None,
    ) -> int:
        """Write the rows with ``start <= at < end`` as CSV (with a header); returns the count.

        The export is itself audited: one ``export`` row is appended after the
        rows are written (outcome ``fail`` if the file could not be written).
        A file is created with mode 0600, as it holds patient ids.
        """
        bounds = (utc_stamp(start), utc_stamp(end))
        rows = [row async for row in self._rows("at >= ? AND at < ?", bounds)]
        try:
            if isinstance(target, Path):
                await asyncio.to_thread(_write_csv_file, target, rows)
            else:
                _write_csv(target, rows)
        except OSError:
            await self.append(agent_id, "export", "export", "fail", terminal=terminal)
            raise
        await self.append(agent_id, "export", "export", "ok", terminal=terminal)
        return len(rows)


def _write_csv_file(path: Path, rows: list[AuditRow]) -> None:
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(handle, "w", encoding="utf-8", newline="") as stream:
        _write_csv(stream, rows)


def _write_csv(stream: TextIO, rows: list[AuditRow]) -> None:
    import csv  # an export is rare: an idle console does not hold the csv module

    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if value is None else value for value in _values(row)])


def _fields(row: AuditRow) -> dict[str, object]:
    return {name: getattr(row, name) for name in _HASHED}


def _values(row: AuditRow) -> list[object]:
    return [getattr(row, name) for name in COLUMNS]


def _bad(checked: int, seq: int, reason: str) -> VerifyResult:
    return VerifyResult(ok=False, checked=checked, bad_seq=seq, reason=reason)
