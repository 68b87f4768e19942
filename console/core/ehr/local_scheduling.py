# SPDX-License-Identifier: GPL-2.0-or-later
"""Scheduling on the console's own store: the demo's backend, with the EHR's rules.

:class:`LocalScheduling` keeps the :class:`~console.core.ehr.scheduling.Scheduling`
contract exactly as :class:`~console.core.ehr.scheduling.FhirScheduling` does,
on the tables of ``migrations/0012_schedule.sql``: a slot is booked only if it
is still free *at the version the agent was shown*; every booking, cancellation
and move is one ``BEGIN IMMEDIATE`` transaction, so two consoles sharing one
store file (each with its own connections) get exactly one booking out of a
race; a request id books at most once, so a retried booking returns the first
one. Versions are whole numbers in the store and their decimal text in
:class:`SlotOffer` and :class:`Booking`, as FHIR's ``meta.versionId`` is.

A row that does not read as the schema says (edited by hand, damaged) is a
:class:`MalformedResourceError` naming the field, never its value.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiosqlite

from console.core.ehr.errors import EhrConflictError, EhrRefusedError, MalformedResourceError
from console.core.ehr.scheduling import (
    CANCEL_REASONS,
    Booking,
    SlotOffer,
    SlotQuery,
    SlotTakenError,
)
from console.core.store import Store

_CHANGED = "The appointment changed in the EHR since it was shown: look again."
"""FhirScheduling's words for a stale booking: the agent sees the same sentence either way."""
_INSTANT = "%Y-%m-%dT%H:%M:%SZ"
"""How times are stored: UTC, whole seconds, fixed width (text order is time order)."""

_SLOT_COLUMNS = """s.id, s.version, s.starts_at, s.ends_at, c.clinician, c.location, c.service,
                   s.schedule_id"""
_BOOKINGS = """SELECT b.id, b.version, b.status, b.starts_at, b.ends_at, b.slot_id,
                     c.clinician, c.location, c.service
              FROM bookings b JOIN schedule_slots s ON s.id = b.slot_id
                   JOIN schedules c ON c.id = s.schedule_id"""


class LocalScheduling:
    """:class:`~console.core.ehr.scheduling.Scheduling` on the local :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # ------------------------------------------------------------- the contract
    async def free_slots(self, query: SlotQuery) -> list[SlotOffer]:
        """Free slots in ``query``'s range (its schedules or service, if given), earliest first."""
        where = ["s.status = 'free'", "s.starts_at >= ?", "s.starts_at < ?"]
        params: list[Any] = [_instant(query.start), _instant(query.end)]
        if query.schedule_ids:
            where.append(f"s.schedule_id IN ({', '.join('?' * len(query.schedule_ids))})")
            params.extend(query.schedule_ids)
        if query.service_type:
            where.append("c.service = ?")
            params.append(query.service_type)
        rows = await self._store.fetch_all(
            f"""SELECT {_SLOT_COLUMNS}
                FROM schedule_slots s JOIN schedules c ON c.id = s.schedule_id
                WHERE {" AND ".join(where)}
                ORDER BY s.starts_at, s.id LIMIT ?""",
            [*params, max(query.limit, 0)],
        )
        offers = [_offer(row) for row in rows]
        # Stored times are whole seconds: a range bound with a fraction is applied here.
        return [o for o in offers if query.start <= o.start < query.end]

    async def book(self, patient_id: str, slot: SlotOffer, *, request_id: str) -> Booking:
        """Book ``slot`` if it is still free at the offered version, in one transaction.

        Asked again with the same ``request_id`` (the first answer was lost), it
        returns the booking already made instead of a "slot taken".
        """
        _require(patient_id, "a patient")
        _require(request_id, "a request id")
        async with self._store.transaction() as db:
            mine = await _booked_as(db, request_id)
            if mine is not None:
                return mine
            current = await _free_slot(db, slot)
            return await _insert_booking(db, patient_id, current, request_id)

    async def cancel(self, booking: Booking, reason: str) -> Booking:
        """Mark the appointment cancelled with ``reason`` and free its slot, if unchanged."""
        async with self._store.transaction() as db:
            current = await _same_booking(db, booking)
            _check_reason(reason)
            await _cancel(db, current, reason)
            return await _read_booking(db, booking.appointment_id)

    async def reschedule(
        self, booking: Booking, slot: SlotOffer, *, request_id: str, reason: str = "pat"
    ) -> Booking:
        """One transaction: ``slot`` booked, ``booking`` cancelled with ``reason``, its slot freed.

        Asked again with the same ``request_id`` (the first answer was lost), it
        returns the move already made.
        """
        _require(request_id, "a request id")
        async with self._store.transaction() as db:
            mine = await _booked_as(db, request_id)
            if mine is not None:
                return mine
            current = await _same_booking(db, booking)
            new_slot = await _free_slot(db, slot)
            _check_reason(reason)
            patient_id = await _patient_of(db, booking.appointment_id)
            await _cancel(db, current, reason)
            return await _insert_booking(db, patient_id, new_slot, request_id)

    async def bookings(self, patient_id: str, *, since: datetime) -> list[Booking]:
        """The patient's booked appointments from ``since``, earliest first."""
        rows = await self._store.fetch_all(
            f"""{_BOOKINGS}
                WHERE b.patient_id = ? AND b.status = 'booked' AND b.starts_at >= ?
                ORDER BY b.starts_at, b.id""",
            (patient_id, _instant(since)),
        )
        return [_booking(row) for row in rows]

    # ------------------------------------------------------------ the schedule
    async def add_schedule(
        self,
        clinician: str,
        location: str,
        service: str,
        start: datetime,
        count: int,
        minutes: int,
    ) -> str:
        """``count`` free slots of ``minutes`` back to back from ``start`` (aware, whole
        seconds) in the schedule of ``clinician`` at ``location`` for ``service``; the
        schedule's id. The schedule is created the first time; a slot that schedule
        already has at the same start is kept as it is, so seeding again adds nothing twice.
        """
        _require(clinician, "a clinician")
        _require(location, "a location")
        if count < 0 or minutes <= 0:
            raise ValueError("a schedule needs a count >= 0 and minutes > 0")
        length = timedelta(minutes=minutes)
        slots = [
            (str(uuid.uuid4()), _instant(start + i * length), _instant(start + (i + 1) * length))
            for i in range(count)
        ]
        async with self._store.transaction() as db:
            await db.execute(
                """INSERT INTO schedules (id, clinician, location, service) VALUES (?, ?, ?, ?)
                   ON CONFLICT (clinician, location, service) DO NOTHING""",
                (str(uuid.uuid4()), clinician, location, service),
            )
            row = await _one(
                db,
                "SELECT id FROM schedules WHERE clinician = ? AND location = ? AND service = ?",
                (clinician, location, service),
            )
            schedule_id = str(row[0]) if row is not None else ""
            await db.executemany(
                """INSERT INTO schedule_slots (id, schedule_id, starts_at, ends_at, status)
                   VALUES (?, ?, ?, ?, 'free')
                   ON CONFLICT (schedule_id, starts_at) DO NOTHING""",
                [(slot_id, schedule_id, begin, end) for slot_id, begin, end in slots],
            )
        return schedule_id

    async def discard_free_slots(self, before: datetime) -> int:
        """Remove the free slots that start before ``before`` (no appointment ever named
        them); how many. Past slots are never offered anyway: this keeps the store small."""
        async with self._store.transaction() as db:
            cursor = await db.execute(
                """DELETE FROM schedule_slots
                   WHERE status = 'free' AND starts_at < ?
                     AND id NOT IN (SELECT slot_id FROM bookings)""",
                (_instant(before),),
            )
            removed = cursor.rowcount
            await cursor.close()
        return max(removed, 0)


# --------------------------------------------------------------- transactions
async def _one(db: aiosqlite.Connection, sql: str, params: Sequence[Any]) -> tuple[Any, ...] | None:
    cursor = await db.execute(sql, tuple(params))
    row = await cursor.fetchone()
    await cursor.close()
    return tuple(row) if row is not None else None


async def _booked_as(db: aiosqlite.Connection, request_id: str) -> Booking | None:
    """The appointment booked under ``request_id``, if one was."""
    row = await _one(db, f"{_BOOKINGS} WHERE b.request_id = ?", (request_id,))
    return _booking(row) if row is not None else None


async def _free_slot(db: aiosqlite.Connection, slot: SlotOffer) -> SlotOffer:
    """The slot as it is now, if still free at the offered version; else :class:`SlotTakenError`."""
    row = await _one(
        db,
        f"""SELECT {_SLOT_COLUMNS}, s.status
            FROM schedule_slots s JOIN schedules c ON c.id = s.schedule_id WHERE s.id = ?""",
        (slot.slot_id,),
    )
    if row is None:
        raise EhrRefusedError("That slot is no longer in the schedule: pick another.", 404)
    current = _offer(row[:-1])
    if row[-1] != "free" or current.version != slot.version:
        raise SlotTakenError()
    return current


async def _insert_booking(
    db: aiosqlite.Connection, patient_id: str, slot: SlotOffer, request_id: str
) -> Booking:
    """Mark ``slot`` busy (only at its version) and book it for the patient."""
    cursor = await db.execute(
        """UPDATE schedule_slots SET status = 'busy', version = version + 1
           WHERE id = ? AND status = 'free' AND version = ?""",
        (slot.slot_id, int(slot.version)),
    )
    changed = cursor.rowcount
    await cursor.close()
    if changed != 1:  # the transaction read it free at this version: cannot happen, but never book
        raise SlotTakenError()
    appointment_id = str(uuid.uuid4())
    await db.execute(
        """INSERT INTO bookings (id, patient_id, slot_id, starts_at, ends_at, status, request_id)
           VALUES (?, ?, ?, ?, ?, 'booked', ?)""",
        (
            appointment_id,
            patient_id,
            slot.slot_id,
            _instant(slot.start),
            _instant(slot.end),
            request_id,
        ),
    )
    return await _read_booking(db, appointment_id)


async def _same_booking(db: aiosqlite.Connection, booking: Booking) -> Booking:
    """The appointment as it is now, if still booked at the version shown; else a conflict."""
    current = await _read_booking(db, booking.appointment_id)
    if current.version != booking.version or current.status != "booked":
        raise EhrConflictError(_CHANGED)
    return current


async def _read_booking(db: aiosqlite.Connection, appointment_id: str) -> Booking:
    row = await _one(db, f"{_BOOKINGS} WHERE b.id = ?", (appointment_id,))
    if row is None:
        raise EhrRefusedError("The schedule has no such appointment.", 404)
    return _booking(row)


async def _patient_of(db: aiosqlite.Connection, appointment_id: str) -> str:
    row = await _one(db, "SELECT patient_id FROM bookings WHERE id = ?", (appointment_id,))
    patient_id = row[0] if row is not None else None
    if not isinstance(patient_id, str) or not patient_id:
        raise MalformedResourceError("The schedule's appointment names no patient.")
    return patient_id


async def _cancel(db: aiosqlite.Connection, booking: Booking, reason: str) -> None:
    """Cancel ``booking`` (read in this transaction) and free its slot."""
    cursor = await db.execute(
        """UPDATE bookings SET status = 'cancelled', cancel_reason = ?, version = version + 1
           WHERE id = ? AND status = 'booked' AND version = ?""",
        (reason, booking.appointment_id, int(booking.version)),
    )
    changed = cursor.rowcount
    await cursor.close()
    if changed != 1:
        raise EhrConflictError(_CHANGED)
    await db.executemany(
        """UPDATE schedule_slots SET status = 'free', version = version + 1
           WHERE id = ? AND status = 'busy'""",
        [(slot_id,) for slot_id in booking.slot_ids],
    )


def _check_reason(reason: str) -> None:
    if reason not in CANCEL_REASONS:
        raise EhrRefusedError(
            f"Not a cancellation reason: choose one of {', '.join(CANCEL_REASONS)}."
        )


def _require(value: str, what: str) -> None:
    if not isinstance(value, str) or not value:
        raise EhrRefusedError(f"Scheduling needs {what}.")


# ----------------------------------------------------------------------- rows
def _offer(row: Sequence[Any]) -> SlotOffer:
    slot_id, version, starts_at, ends_at, clinician, location, service, schedule_id = row
    start, end = _period(starts_at, ends_at, "slot")
    return SlotOffer(
        slot_id=str(slot_id),
        version=_version(version, "slot"),
        start=start,
        end=end,
        clinician=_name(clinician, "clinician"),
        location=_name(location, "location"),
        service=service if isinstance(service, str) else "",
        schedule_id=str(schedule_id),
    )


def _booking(row: Sequence[Any]) -> Booking:
    appointment_id, version, status, starts_at, ends_at, slot_id, clinician, location = row[:8]
    service = row[8] if isinstance(row[8], str) else ""
    start, end = _period(starts_at, ends_at, "appointment")
    if status not in ("booked", "cancelled"):
        raise MalformedResourceError("The schedule's appointment has an unknown status.")
    return Booking(
        appointment_id=str(appointment_id),
        version=_version(version, "appointment"),
        status=str(status),
        start=start,
        end=end,
        slot_ids=(str(slot_id),),
        clinician=_name(clinician, "clinician"),
        location=_name(location, "location"),
        description=service,
        service=service,
    )


def _version(value: Any, what: str) -> str:
    # bool is an int to Python; a float, text or NULL is what a damaged row holds.
    if type(value) is not int or value < 1:
        raise MalformedResourceError(f"The schedule's {what} has no readable version.")
    return str(value)


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise MalformedResourceError(f"The schedule has no {field} name.")
    return value


def _period(starts_at: Any, ends_at: Any, what: str) -> tuple[datetime, datetime]:
    start = _when(starts_at, what, "start")
    end = _when(ends_at, what, "end")
    if end <= start:
        raise MalformedResourceError(f"The schedule's {what} ends before it starts.")
    return start, end


def _when(value: Any, what: str, field: str) -> datetime:
    """A stored instant as an aware UTC datetime."""
    if not isinstance(value, str):
        raise MalformedResourceError(f"The schedule's {what} has an unreadable {field}.")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedResourceError(f"The schedule's {what} has an unreadable {field}.") from None
    if moment.tzinfo is None:
        raise MalformedResourceError(f"The schedule's {what} {field} has no time zone.")
    return moment.astimezone(UTC)


def _instant(value: datetime) -> str:
    """``value`` as the store keeps instants (UTC, whole seconds)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("scheduling needs aware datetimes")
    return value.astimezone(UTC).strftime(_INSTANT)
