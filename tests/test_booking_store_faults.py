# SPDX-License-Identifier: GPL-2.0-or-later
"""Booking from the call on the demo's own scheduling (the local store, no EHR) when
the store fails: a real console and engine, a SIPp caller (Maria), LocalScheduling on
the console's store.

A full disk (a real tmpfs filled up), a store another program holds locked, a read
that fails with the database's own error (as a failing disk makes SQLite raise it, not
StoreError) and a damaged store never close the console: the agent is told, with the
disk's condition, that the booking, the move or the cancellation was not made; the
appointments stay as they were (on the card and in the store) and the same key tries
again once the store takes it. The log names the error's kind only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import shutil
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Label

from console.app import CarelineApp
from console.controllers.reminder_change import CHANGE_LATER
from console.core.ehr.local_scheduling import LocalScheduling
from console.core.ehr.scheduling import Booking, SlotOffer, SlotQuery
from console.core.store import Store
from console.dialogs.choice import ChoicePicker
from console.dialogs.slot_picker import SlotPicker
from console.widgets.patient_card import PatientCard
from tests.console_app import screen_text, shows_toast, wait_for
from tests.ehr_console import answer_and_verify as answer_and_check
from tests.test_console_booking import answer_and_verify, choose, demo_app, open_picker
from tests.test_reminder_change import (
    callback_reasons,
    demo_reminder_call,
    maria_booked,
    statuses,
)
from tests.test_worklist_booking import saved
from tests.tiny_disk import TinyDisk

DISK_IO = "disk I/O error"
"""What SQLite says when the disk fails a read (sqlite3.OperationalError)."""


async def demo_console(tmp_path: Path, store_path: Path | None = None) -> CarelineApp:
    """A console on the demo's patients and its own schedules (Maria's follow-up booked),
    its store moved to ``store_path`` if given; held writes retried every 0.3 s."""
    app = await demo_app(tmp_path)
    if store_path is not None:
        for suffix in ("", "-wal", "-shm"):
            seeded = app.wiring.store_path.with_name(app.wiring.store_path.name + suffix)
            if seeded.exists():
                shutil.move(seeded, store_path.with_name(store_path.name + suffix))
        app.wiring = dataclasses.replace(app.wiring, store_path=store_path)
    app.held.retry_s = 0.3
    return app


@contextlib.asynccontextmanager
async def maria_on_the_line(
    app: CarelineApp, tmp_path: Path, *, read: bool = True
) -> AsyncIterator[tuple[Pilot[int], PatientCard]]:
    """Maria called, was answered and verified (with ``read``, her appointments are on
    the card): the pilot and the card. Afterwards the agent hangs up (the block leaves
    no dialog up) and the call ended cleanly."""
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        if read:
            sipp = await answer_and_verify(pilot, app, tmp_path)
        else:
            sipp = await answer_and_check(pilot, app, tmp_path, key="k", opens=(ChoicePicker,))
        yield pilot, app.agent_screen.query_one(PatientCard)
        assert app.is_running
        await pilot.press("h")
        assert sipp.wait() == 0, sipp.report()


async def stored_bookings(app: CarelineApp) -> list[tuple[str, str]]:
    """Every booking in the demo's scheduling as (status, start), the earliest first."""
    rows = await app.services.store.fetch_all(
        "SELECT status, starts_at FROM bookings ORDER BY starts_at, id"
    )
    return [(str(status), str(start)) for status, start in rows]


def instant(moment: datetime) -> str:
    """``moment`` as the demo's scheduling stores it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def picker_status(app: CarelineApp) -> str:
    """What the slot picker's status line says now ("" without a picker up)."""
    picker = app.screen
    if not isinstance(picker, SlotPicker):
        return ""
    return str(picker.query_one("#status", Label).content)


async def audited(path: Path, action: str) -> list[str]:
    """The outcomes of the audit rows of ``action`` on appointments, in order."""
    store = await Store.open(path)
    try:
        rows = await store.fetch_all(
            "SELECT outcome FROM audit WHERE action = ? AND category = 'appointments' ORDER BY seq",
            (action,),
        )
    finally:
        await store.close()
    return [str(row[0]) for row in rows]


@contextlib.contextmanager
def another_program_writing(path: Path) -> Iterator[None]:
    """Another program holds the store's write lock (a transaction left open) until the
    block ends: the console's writes wait out its busy timeout, then are refused."""
    other = sqlite3.connect(path, isolation_level=None, timeout=10)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


def no_data_logged(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    """Nothing logged names the patient or the appointment (``secrets``)."""
    for record in caplog.records:
        line = record.getMessage()
        for secret in secrets:
            assert secret not in line, f"{secret!r} logged: {line!r}"


async def test_a_full_disk_while_booking_is_said_and_it_books_once_space_returns(
    tmp_path: Path, tiny_disk: TinyDisk, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk fills while the picker is open: Enter books nothing, the picker stays and
    says so with the disk's condition; once space returns Enter books that slot, once."""
    caplog.set_level(logging.INFO)
    path = tiny_disk.path / "store.sqlite3"
    app = await demo_console(tmp_path, path)
    async with maria_on_the_line(app, tmp_path) as (pilot, card):
        [follow_up] = card.bookings or ()
        before = await stored_bookings(app)
        await choose(pilot, app, 0)  # Book a new appointment
        picker = await open_picker(pilot, app)
        wanted = picker.offers[0]
        tiny_disk.fill()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Not booked" in picker_status(app), 15, "said")
        assert "the disk holding the local store is full" in picker_status(app)
        assert "Enter tries again" in picker_status(app)
        assert app.is_running
        assert app.screen is picker
        assert card.bookings == (follow_up,)
        assert await stored_bookings(app) == before

        tiny_disk.free()
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, SlotPicker), 15, "booked")
        assert sorted(b.start for b in card.bookings or ()) == sorted(
            [follow_up.start, wanted.start]
        )
        assert sorted(await stored_bookings(app)) == sorted(
            [*before, ("booked", instant(wanted.start))]
        )
        await wait_for(pilot, lambda: app.held.count == 0, 10, "held writes saved")
    assert await audited(path, "book") == ["fail", "ok"]
    no_data_logged(caplog, "Maria", "Lopez", wanted.clinician)


async def test_a_locked_store_while_moving_is_said_and_the_appointment_left_as_it_was(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another program holds the store locked while the agent moves Maria's follow-up: not
    moved, said with the store's condition, the follow-up still booked where it was (card
    and store); once the lock is gone Enter moves it."""
    caplog.set_level(logging.INFO)
    app = await demo_console(tmp_path)
    path = app.wiring.store_path
    async with maria_on_the_line(app, tmp_path) as (pilot, card):
        [follow_up] = card.bookings or ()
        await choose(pilot, app, 1)  # Move …
        picker = await open_picker(pilot, app)
        target = picker.offers[0]
        with another_program_writing(path):
            await pilot.press("enter")
            await wait_for(pilot, lambda: "Not moved" in picker_status(app), 30, "said")
            assert "the local store is locked by another program" in picker_status(app)
            assert app.is_running
            assert app.screen is picker
            assert card.bookings == (follow_up,)
            assert await stored_bookings(app) == [("booked", instant(follow_up.start))]
        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, SlotPicker), 15, "moved")
        assert [b.start for b in card.bookings or ()] == [target.start]
        assert sorted(await stored_bookings(app)) == sorted(
            [("cancelled", instant(follow_up.start)), ("booked", instant(target.start))]
        )
        await wait_for(pilot, lambda: app.held.count == 0, 15, "held writes saved")
    assert await audited(path, "reschedule") == ["fail", "ok"]
    no_data_logged(caplog, "Maria", "Lopez", target.clinician)


async def test_a_full_disk_while_cancelling_is_said_and_k_cancels_once_space_returns(
    tmp_path: Path, tiny_disk: TinyDisk
) -> None:
    """The disk fills while the agent picks the cancellation's reason: not cancelled, said
    with the disk's condition, the appointment still on the card and booked; once space
    returns k cancels it."""
    path = tiny_disk.path / "store.sqlite3"
    app = await demo_console(tmp_path, path)
    async with maria_on_the_line(app, tmp_path) as (pilot, card):
        [follow_up] = card.bookings or ()
        await choose(pilot, app, 2)  # Cancel …
        await wait_for(pilot, lambda: "Why is" in screen_text(app), what="reasons")
        tiny_disk.fill()
        await pilot.press("enter")  # Patient asked
        await wait_for(pilot, lambda: shows_toast(app, "Not cancelled"), 15, "said")
        assert shows_toast(app, "the disk holding the local store is full")
        assert shows_toast(app, "still booked")
        assert app.is_running
        assert card.bookings == (follow_up,)
        assert await stored_bookings(app) == [("booked", instant(follow_up.start))]

        tiny_disk.free()
        await choose(pilot, app, 2)
        await wait_for(pilot, lambda: "Why is" in screen_text(app), what="reasons")
        await pilot.press("enter")
        await wait_for(pilot, lambda: card.bookings == (), 15, "cancelled")
        assert await stored_bookings(app) == [("cancelled", instant(follow_up.start))]
        await wait_for(pilot, lambda: app.held.count == 0, 10, "held writes saved")
    assert await audited(path, "cancel") == ["fail", "ok"]


async def test_a_failing_read_of_the_free_slots_is_said_and_r_asks_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fails the read of the free slots (SQLite's own error): the picker says so
    with the disk's condition and stays; r asks again once the store reads."""
    app = await demo_console(tmp_path)

    async def failing(self: LocalScheduling, query: SlotQuery) -> list[SlotOffer]:
        del self, query
        raise sqlite3.OperationalError(DISK_IO)

    async with maria_on_the_line(app, tmp_path) as (pilot, _):
        monkeypatch.setattr(LocalScheduling, "free_slots", failing)
        await choose(pilot, app, 0)
        await wait_for(pilot, lambda: "not read" in picker_status(app), what="said")
        assert "the disk holding the local store reported an I/O error" in picker_status(app)
        assert app.is_running
        picker = app.screen
        assert isinstance(picker, SlotPicker)
        assert not picker.offers

        monkeypatch.undo()
        await pilot.press("r")
        await wait_for(pilot, lambda: bool(picker.offers), what="free slots")
        await pilot.press("escape")


async def test_a_failing_read_of_the_bookings_is_said_on_the_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fails the read of Maria's bookings when she is verified: the card says so
    (the directory's appointments shown), the console stays up, and k offers a callback
    to book when the system is back."""
    app = await demo_console(tmp_path)

    async def failing(self: LocalScheduling, patient_id: str, *, since: datetime) -> list[Booking]:
        del self, patient_id, since
        raise sqlite3.OperationalError(DISK_IO)

    monkeypatch.setattr(LocalScheduling, "bookings", failing)
    async with maria_on_the_line(app, tmp_path, read=False) as (pilot, card):
        await wait_for(pilot, lambda: "I/O error" in card.schedule_note, what="said")
        assert card.schedule_note.startswith("From the directory")
        assert "the disk holding the local store reported an I/O error" in card.schedule_note
        assert app.is_running
        await pilot.press("k")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="choices")
        assert "Call back to book when the system is back" in screen_text(app)
        await pilot.press("escape")


async def test_a_damaged_store_refusing_the_reminded_cancellation_saves_the_outcome(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a reminder call, cancelled: the store is damaged and the cancellation fails
    with SQLite's own error (not StoreError). The console stays up, says it was not
    cancelled, the appointment stays booked, and the outcome is saved with a callback to
    change it later."""
    path = tmp_path / "store.sqlite3"
    [booked] = await maria_booked(path, ("Dr Amara Osei",))

    async def damaged(self: LocalScheduling, booking: Booking, reason: str) -> Booking:
        del self, booking, reason
        raise sqlite3.DatabaseError("database disk image is malformed")

    async with demo_reminder_call(tmp_path, path, booked) as (app, pilot, patient, item):
        monkeypatch.setattr(LocalScheduling, "cancel", damaged)
        await pilot.press("3")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="reasons")
        await pilot.press("down", "enter")
        outcome, appointments = await saved(app, pilot, item)
        assert app.is_running
        assert shows_toast(app, "Not cancelled (an unexpected error (DatabaseError))")
        assert await statuses(app) == ["booked"]
        assert CHANGE_LATER in await callback_reasons(app)
        assert patient.wait() == 0, patient.report()
    assert (outcome, appointments) == ("cancelled", [])
