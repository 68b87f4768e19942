# SPDX-License-Identifier: GPL-2.0-or-later
"""The demo's own scheduling backend beyond the shared contract: its versions, its
seeding, the demo's schedules, and a store whose rows were damaged or forged.

The contract itself (racing agents, stale offers, retries, moves, cancels) runs
against this backend and the FHIR server alike in tests/test_scheduling_contract.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sqlite3
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from console.core.demo import DEMO_SCHEDULES, seed_demo_schedules
from console.core.ehr.errors import MalformedResourceError
from console.core.ehr.local_scheduling import LocalScheduling
from console.core.ehr.scheduling import SlotQuery, SlotTakenError
from console.core.store import Store

MONDAY = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
WEEK = SlotQuery(MONDAY, MONDAY + timedelta(days=7))
PATIENT = "maria-lopez-0042"
CLINIC_TZ = timezone(timedelta(hours=-5))
"""The demo tests' clinics keep a fixed offset, whatever this machine's zone."""


@pytest.fixture
async def scheduling(store: Store) -> LocalScheduling:
    local = LocalScheduling(store)
    await local.add_schedule("Dr Amara Osei", "Riverside Clinic", "general", MONDAY, 6, 20)
    return local


async def tamper(path: Path, sql: str, *params: Any, checks: bool = False) -> None:
    """Change rows behind the store's back, past its CHECKs unless ``checks`` (a hand
    edit, another program, a damaged file)."""

    def run() -> None:
        db = sqlite3.connect(path, isolation_level=None)
        try:
            if not checks:
                db.execute("PRAGMA ignore_check_constraints = ON")
            db.execute(sql, params)
        finally:
            db.close()

    await asyncio.to_thread(run)


async def rows(store: Store, sql: str) -> list[tuple[Any, ...]]:
    return await store.fetch_all(sql)


# ------------------------------------------------------------------ versions
async def test_versions_are_the_stores_counters_as_text(scheduling: LocalScheduling) -> None:
    offer = (await scheduling.free_slots(WEEK))[0]
    assert offer.version == "1"
    booking = await scheduling.book(PATIENT, offer, request_id="r-1")
    assert booking.version == "1"
    cancelled = await scheduling.cancel(booking, "pat")
    assert cancelled.version == "2"
    again = next(o for o in await scheduling.free_slots(WEEK) if o.slot_id == offer.slot_id)
    assert again.version == "3"  # free 1, busy 2, free again 3


async def test_an_offer_with_a_forged_version_is_not_booked(
    scheduling: LocalScheduling, store: Store
) -> None:
    offer = (await scheduling.free_slots(WEEK))[0]
    for forged in ("01", "1 ", "2", "1 OR 1=1", ""):
        with pytest.raises(SlotTakenError):
            await scheduling.book(
                PATIENT, dataclasses.replace(offer, version=forged), request_id=f"f-{forged!r}"
            )
    assert await rows(store, "SELECT count(*) FROM bookings") == [(0,)]


async def test_the_same_request_from_two_consoles_at_once_books_once(
    scheduling: LocalScheduling, store: Store
) -> None:
    """One request id sent by two connections at once (a retry racing the original),
    even for two different slots: one booking, and both are told about it."""
    first, second = (await scheduling.free_slots(WEEK))[:2]
    other = await Store.open(store.path)
    try:
        results = await asyncio.gather(
            scheduling.book(PATIENT, first, request_id="same"),
            LocalScheduling(other).book(PATIENT, second, request_id="same"),
        )
    finally:
        await other.close()
    assert results[0] == results[1]
    assert await rows(store, "SELECT count(*) FROM bookings") == [(1,)]
    assert await rows(store, "SELECT count(*) FROM schedule_slots WHERE status = 'busy'") == [(1,)]


# ------------------------------------------------------------------ seeding
async def test_seeding_again_adds_nothing_twice(scheduling: LocalScheduling, store: Store) -> None:
    again = await scheduling.add_schedule(
        "Dr Amara Osei", "Riverside Clinic", "general", MONDAY, 9, 20
    )
    offers = await scheduling.free_slots(WEEK)
    assert {o.schedule_id for o in offers} == {again}
    assert [o.start for o in offers] == [MONDAY + i * timedelta(minutes=20) for i in range(9)]
    assert await rows(store, "SELECT count(*) FROM schedules") == [(1,)]


async def test_times_must_carry_a_zone(scheduling: LocalScheduling) -> None:
    naive = datetime(2031, 3, 3, 9, 0)  # noqa: DTZ001 - the mistake under test
    with pytest.raises(ValueError, match="aware"):
        await scheduling.add_schedule("Dr Lee", "North Clinic", "general", naive, 1, 30)
    with pytest.raises(ValueError, match="aware"):
        await scheduling.free_slots(SlotQuery(naive, naive + timedelta(days=1)))


async def test_past_free_slots_go_and_booked_ones_stay(scheduling: LocalScheduling) -> None:
    first, second, third = (await scheduling.free_slots(WEEK))[:3]
    await scheduling.book(PATIENT, first, request_id="kept")
    await scheduling.cancel(await scheduling.book(PATIENT, second, request_id="gone"), "pat")
    removed = await scheduling.discard_free_slots(third.start + timedelta(minutes=1))
    assert removed == 1  # the third; the second was freed but an appointment names it
    left = {o.slot_id for o in await scheduling.free_slots(WEEK)}
    assert third.slot_id not in left
    assert second.slot_id in left
    assert [b.slot_ids for b in await scheduling.bookings(PATIENT, since=MONDAY)] == [
        (first.slot_id,)
    ]


# ---------------------------------------------------------------- the demo
FRIDAY = date(2031, 3, 7)


async def demo_seed(path: Path, today: date, now: datetime, maria: str | None = None) -> list[str]:
    store = await Store.open(path)
    try:
        return await seed_demo_schedules(store, today, maria=maria, now=now, tz=CLINIC_TZ)
    finally:
        await store.close()


async def slots_by_day(path: Path) -> dict[date, int]:
    store = await Store.open(path)
    try:
        offers = await LocalScheduling(store).free_slots(
            SlotQuery(
                datetime(2031, 1, 1, tzinfo=UTC), datetime(2032, 1, 1, tzinfo=UTC), limit=1000
            )
        )
    finally:
        await store.close()
    days: dict[date, int] = {}
    for offer in offers:
        local = offer.start.astimezone(CLINIC_TZ)
        closes = datetime.combine(local.date(), time(12, 0), tzinfo=CLINIC_TZ)
        assert local.time() >= time(9, 0)
        assert offer.end <= closes
        days[local.date()] = days.get(local.date(), 0) + 1
    return days


async def test_the_demo_offers_mornings_of_working_days_once(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite3"
    morning = datetime.combine(FRIDAY, time(7, 0), tzinfo=CLINIC_TZ)
    ids = await demo_seed(path, FRIDAY, morning)
    per_day = 9 + 6 + 6  # 20-minute slots for Dr Moreau, 30 for the other two
    expected = {FRIDAY + timedelta(days=d): per_day for d in (0, 3, 4, 5, 6)}  # no weekend
    assert await slots_by_day(path) == expected
    assert len(set(ids)) == len(DEMO_SCHEDULES)

    assert await demo_seed(path, FRIDAY, morning) == ids  # the next launch: the same
    assert await slots_by_day(path) == expected


async def test_the_next_launch_drops_the_past_and_tops_up(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite3"
    await demo_seed(path, FRIDAY, datetime.combine(FRIDAY, time(7, 0), tzinfo=CLINIC_TZ))
    monday = FRIDAY + timedelta(days=3)
    mid_morning = datetime.combine(monday, time(10, 5), tzinfo=CLINIC_TZ)
    await demo_seed(path, monday, mid_morning)
    days = await slots_by_day(path)
    # Monday from 10:05: 10:20 to 11:40 for Dr Moreau, 10:30 to 11:30 for the others.
    assert days == {
        monday: 5 + 3 + 3,
        **{monday + timedelta(days=d): 21 for d in (1, 2, 3, 4)},
    }


async def test_the_demo_books_marias_follow_up_once(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite3"
    morning = datetime.combine(FRIDAY, time(7, 0), tzinfo=CLINIC_TZ)
    for _ in range(2):
        await demo_seed(path, FRIDAY, morning, maria=PATIENT)
    store = await Store.open(path)
    try:
        found = await LocalScheduling(store).bookings(PATIENT, since=morning)
    finally:
        await store.close()
    follow_up = datetime.combine(FRIDAY + timedelta(days=2), time(14, 30), tzinfo=UTC)
    assert [(b.start, b.clinician, b.location, b.status) for b in found] == [
        (follow_up, "Dr. Ines Moreau", "Riverside Clinic", "booked")
    ]


async def test_a_moved_follow_up_is_not_booked_again(tmp_path: Path) -> None:
    path = tmp_path / "demo.sqlite3"
    morning = datetime.combine(FRIDAY, time(7, 0), tzinfo=CLINIC_TZ)
    ids = await demo_seed(path, FRIDAY, morning, maria=PATIENT)
    store = await Store.open(path)
    try:
        local = LocalScheduling(store)
        (follow_up,) = await local.bookings(PATIENT, since=morning)
        week = SlotQuery(morning, morning + timedelta(days=7), (ids[0],))
        target = (await local.free_slots(week))[0]
        moved = await local.reschedule(follow_up, target, request_id="moved")
    finally:
        await store.close()
    await demo_seed(path, FRIDAY, morning, maria=PATIENT)
    store = await Store.open(path)
    try:
        found = await LocalScheduling(store).bookings(PATIENT, since=morning)
    finally:
        await store.close()
    assert [b.appointment_id for b in found] == [moved.appointment_id]


# ------------------------------------------------------------- damaged rows
@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("starts_at", "2031-03-03T09:2x:00Z"),
        ("starts_at", "2031-03-03T09:20:00"),  # no zone
        ("ends_at", "2031-03-03T08:00:00Z"),  # before it starts
        ("version", "1x"),
        ("version", 1.5),
        ("version", 0),
    ],
)
async def test_a_damaged_slot_is_a_clear_error_not_a_crash(
    scheduling: LocalScheduling, store: Store, column: str, value: object
) -> None:
    offer = (await scheduling.free_slots(WEEK))[1]
    sql = f"UPDATE schedule_slots SET {column} = ? WHERE id = ?"
    await tamper(store.path, sql, value, offer.slot_id)
    with pytest.raises(MalformedResourceError, match="^The schedule's slot") as listed:
        await scheduling.free_slots(WEEK)
    with pytest.raises(MalformedResourceError) as booked:
        await scheduling.book(PATIENT, offer, request_id="on-damaged")
    for error in (listed.value, booked.value):
        assert str(value) not in str(error)
        assert offer.slot_id not in str(error)
    assert await rows(store, "SELECT count(*) FROM bookings") == [(0,)]
    assert await rows(store, "SELECT count(*) FROM schedule_slots WHERE status = 'busy'") == [(0,)]


async def test_a_slot_whose_start_is_not_text_cannot_be_booked(
    scheduling: LocalScheduling, store: Store
) -> None:
    """A start that is a number sorts out of every range (so it is never listed), but
    the agent may hold an offer made before the damage."""
    offer = (await scheduling.free_slots(WEEK))[0]
    await tamper(store.path, "UPDATE schedule_slots SET starts_at = 42 WHERE id = ?", offer.slot_id)
    assert offer.slot_id not in [o.slot_id for o in await scheduling.free_slots(WEEK)]
    with pytest.raises(MalformedResourceError, match="unreadable start"):
        await scheduling.book(PATIENT, offer, request_id="on-damaged")
    assert await rows(store, "SELECT count(*) FROM bookings") == [(0,)]


async def test_a_schedule_without_a_name_is_a_clear_error(
    scheduling: LocalScheduling, store: Store
) -> None:
    await tamper(store.path, "UPDATE schedules SET clinician = ''")
    with pytest.raises(MalformedResourceError, match="no clinician name"):
        await scheduling.free_slots(WEEK)


@pytest.mark.parametrize("value", ["2x", 2.5, -1, b"\x02"])
async def test_a_forged_appointment_version_changes_nothing(
    scheduling: LocalScheduling, store: Store, value: object
) -> None:
    offer = (await scheduling.free_slots(WEEK))[0]
    booking = await scheduling.book(PATIENT, offer, request_id="r")
    await tamper(store.path, "UPDATE bookings SET version = ?", value)
    with pytest.raises(MalformedResourceError, match="appointment has no readable version"):
        await scheduling.bookings(PATIENT, since=MONDAY)
    spare = (await scheduling.free_slots(WEEK))[0]
    with pytest.raises(MalformedResourceError):
        await scheduling.cancel(booking, "pat")
    with pytest.raises(MalformedResourceError):
        await scheduling.reschedule(booking, spare, request_id="m")
    with pytest.raises(MalformedResourceError):
        await scheduling.book(PATIENT, offer, request_id="r")  # the retry finds the damaged row
    assert await rows(store, "SELECT status, cancel_reason FROM bookings") == [("booked", None)]
    assert await rows(store, "SELECT count(*) FROM schedule_slots WHERE status = 'busy'") == [(1,)]


async def test_the_store_refuses_such_rows_from_a_plain_write(
    scheduling: LocalScheduling, store: Store
) -> None:
    """The CHECKs of migration 0012: only a write that switches them off gets damage in."""
    offer = (await scheduling.free_slots(WEEK))[0]
    for column, value in (("starts_at", "9 am"), ("version", "1x"), ("status", "maybe")):
        with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
            await tamper(
                store.path,
                f"UPDATE schedule_slots SET {column} = ? WHERE id = ?",
                value,
                offer.slot_id,
                checks=True,
            )
    assert (await scheduling.free_slots(WEEK))[0] == offer
