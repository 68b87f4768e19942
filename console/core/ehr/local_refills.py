# SPDX-License-Identifier: GPL-2.0-or-later
"""Refill requests on the console's own store: the demo's backend, with the EHR's rules.

:class:`LocalRefills` keeps the :class:`~console.core.ehr.refills.Refills`
contract as :class:`~console.core.ehr.fhir_refills.FhirRefills` does. Its
prescriptions are the directory's (``medications``, imported or the demo's),
read by the patient's EHR id and MRN; its requests and messages are the
tables of ``migrations/0014_refills_orders.sql``. Each write is one
``BEGIN IMMEDIATE`` transaction that reads the prescription again, so two
consoles on one store file make one request out of a race (a unique index
allows one open request per prescription), and a request id writes once.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import aiosqlite

from console.core.ehr.errors import EhrRefusedError, MalformedResourceError
from console.core.ehr.refills import (
    CareTeamMessage,
    NotEligibleError,
    Prescription,
    RefillRequest,
    message_text,
)
from console.core.patients.context import CURRENT_MEDICATION_STATUSES
from console.core.patients.records import patient_keys
from console.core.store import Store

_INSTANT = "%Y-%m-%dT%H:%M:%SZ"
_MEDICATIONS = """SELECT resource_id, name, status, dosage, refills_allowed, valid_until,
                         prescriber FROM medications"""
_REQUESTS = """SELECT id, prescription_id, status, authored_at, owner FROM refill_requests"""


class LocalRefills:
    """:class:`~console.core.ehr.refills.Refills` on the local :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def prescriptions(self, patient_id: str) -> list[Prescription]:
        """The patient's current prescriptions in the directory, with open requests."""
        keys = await self._keys(patient_id)
        marks = ", ".join("?" * len(CURRENT_MEDICATION_STATUSES))
        rows = await self._store.fetch_all(
            f"""{_MEDICATIONS}
                WHERE subject IN ({", ".join("?" * len(keys))}) AND status IN ({marks})
                ORDER BY status <> 'active', name""",
            (*keys, *CURRENT_MEDICATION_STATUSES),
        )
        requested = await self._store.fetch_all(
            """SELECT prescription_id, max(authored_at) FROM refill_requests
               WHERE patient_id = ? AND status = 'requested' GROUP BY prescription_id""",
            (patient_id,),
        )
        days = {str(p): _when(at, "refill request").date() for p, at in requested}
        return [_prescription(row, days.get(str(row[0]))) for row in rows]

    async def request_refill(
        self, patient_id: str, prescription: Prescription, *, request_id: str, today: date
    ) -> RefillRequest:
        """Read the prescription again; if it may be refilled, record the request, once."""
        _require(request_id, "a request id")
        keys = await self._keys(patient_id)
        async with self._store.transaction() as db:
            mine = await _one(db, f"{_REQUESTS} WHERE request_id = ?", (request_id,))
            if mine is not None:
                return _request(mine)
            row = await _one(
                db,
                f"{_MEDICATIONS} WHERE resource_id = ? AND subject IN "
                f"({', '.join('?' * len(keys))})",
                (prescription.prescription_id, *keys),
            )
            if row is None:
                raise EhrRefusedError("That prescription is not this patient's.", 404)
            open_request = await _one(
                db,
                """SELECT authored_at FROM refill_requests
                   WHERE prescription_id = ? AND status = 'requested'""",
                (prescription.prescription_id,),
            )
            day = _when(open_request[0], "refill request").date() if open_request else None
            current = _prescription(row, day)
            reason, eligible = current.eligibility(today)
            if not eligible:
                raise NotEligibleError(reason)
            if not current.prescriber:
                raise NotEligibleError("the prescription names no prescriber to send it to")
            new_id = str(uuid.uuid4())
            try:
                await db.execute(
                    """INSERT INTO refill_requests
                       (id, request_id, patient_id, prescription_id, owner, status, authored_at)
                       VALUES (?, ?, ?, ?, ?, 'requested', ?)""",
                    (
                        new_id,
                        request_id,
                        patient_id,
                        current.prescription_id,
                        current.prescriber,
                        _instant(datetime.now(UTC)),
                    ),
                )
            except sqlite3.IntegrityError:
                # Read open-free in this transaction: only a damaged store gets here.
                raise NotEligibleError("a refill request is already with the prescriber") from None
            created = await _one(db, f"{_REQUESTS} WHERE id = ?", (new_id,))
            assert created is not None
            return _request(created)

    async def message_care_team(
        self,
        patient_id: str,
        text: str,
        *,
        request_id: str,
        about: Prescription | None = None,
    ) -> CareTeamMessage:
        """Record ``text`` for the patient's care team (else the prescriber), once."""
        body = message_text(text)
        _require(request_id, "a request id")
        keys = await self._keys(patient_id)
        async with self._store.transaction() as db:
            mine = await _one(
                db,
                "SELECT id, sent_at, recipient FROM care_messages WHERE request_id = ?",
                (request_id,),
            )
            if mine is not None:
                return _message(mine)
            team = await _one(
                db,
                f"""SELECT 1 FROM care_team_members
                    WHERE subject IN ({", ".join("?" * len(keys))})
                      AND status IN ('active', 'proposed') LIMIT 1""",
                keys,
            )
            recipient = "the care team" if team else (about.prescriber if about else "")
            if not recipient:
                raise EhrRefusedError("No care team or prescriber on file to send the message to.")
            new_id, sent = str(uuid.uuid4()), _instant(datetime.now(UTC))
            await db.execute(
                """INSERT INTO care_messages
                   (id, request_id, patient_id, prescription_id, recipient, body, sent_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?)""",
                (
                    new_id,
                    request_id,
                    patient_id,
                    about.prescription_id if about else None,
                    recipient,
                    body,
                    sent,
                ),
            )
            return _message((new_id, sent, recipient))

    async def answer_requests(self, before: datetime) -> int:
        """Mark the refill requests sent before ``before`` answered (``completed``): the
        demo's stand-in for a prescriber, so that a prescription can be asked for again
        another day. How many."""
        async with self._store.transaction() as db:
            cursor = await db.execute(
                """UPDATE refill_requests SET status = 'completed'
                   WHERE status = 'requested' AND authored_at < ?""",
                (_instant(before),),
            )
            answered = cursor.rowcount
            await cursor.close()
        return max(answered, 0)

    async def _keys(self, patient_id: str) -> tuple[str, ...]:
        """The directory's subject keys for the patient with EHR id ``patient_id``."""
        _require(patient_id, "a patient")
        rows = await self._store.fetch_all(
            "SELECT mrn FROM patients WHERE fhir_id = ? LIMIT 1", (patient_id,)
        )
        return patient_keys(str(rows[0][0]), patient_id) if rows else (f"id:{patient_id}",)


async def _one(db: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    cursor = await db.execute(sql, tuple(params))
    row = await cursor.fetchone()
    await cursor.close()
    return tuple(row) if row is not None else None


def _prescription(row: Sequence[Any], requested_on: date | None) -> Prescription:
    resource_id, name, status, dosage, refills, valid_until, prescriber = row
    if not isinstance(name, str) or not name or not isinstance(status, str):
        raise MalformedResourceError("The directory's prescription has no name or status.")
    if refills is not None and (type(refills) is not int or refills < 0):
        raise MalformedResourceError("The directory's prescription has unreadable refills.")
    try:
        until = date.fromisoformat(valid_until[:10]) if valid_until else None
    except (TypeError, ValueError):
        raise MalformedResourceError(
            "The directory's prescription has an unreadable end."
        ) from None
    prescriber = prescriber if isinstance(prescriber, str) else ""
    return Prescription(
        prescription_id=str(resource_id),
        name=name,
        status=status,
        dosage=dosage if isinstance(dosage, str) else "",
        refills_allowed=refills,
        valid_until=until,
        prescriber=prescriber,
        prescriber_ref=prescriber,  # the demo's "EHR" knows its prescribers by name
        requested_on=requested_on,
    )


def _request(row: Sequence[Any]) -> RefillRequest:
    request_id, prescription_id, status, authored_at, owner = row
    return RefillRequest(
        request_id=str(request_id),
        prescription_id=str(prescription_id),
        status=str(status),
        authored_on=_when(authored_at, "refill request"),
        owner=str(owner or ""),
    )


def _message(row: Sequence[Any]) -> CareTeamMessage:
    message_id, sent_at, recipient = row
    return CareTeamMessage(str(message_id), _when(sent_at, "message"), str(recipient))


def _when(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedResourceError(f"The store's {what} has an unreadable time.")
    try:
        return datetime.strptime(value, _INSTANT).replace(tzinfo=UTC)
    except ValueError:
        raise MalformedResourceError(f"The store's {what} has an unreadable time.") from None


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_INSTANT)


def _require(value: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise EhrRefusedError(f"A refill request needs {what}.")
