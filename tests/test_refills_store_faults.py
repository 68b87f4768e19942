# SPDX-License-Identifier: GPL-2.0-or-later
"""Refill requests and care-team messages from the call on the demo's own backends (the
local store, no EHR) when the store fails: a real console and engine, a SIPp caller
(Maria), LocalRefills and LocalOrders on the console's store.

A full disk (a real tmpfs filled up), a read that fails with the database's own error
(as a failing disk makes SQLite raise it, not StoreError) and a damaged store never
close the console: the card and the toasts say, with the disk's condition, what was not
read or not sent; nothing is sent twice, and the same key tries again once the store
takes it. The log names the error's kind only.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.app import CarelineApp
from console.core.ehr.local_orders import LocalOrders
from console.core.ehr.local_refills import LocalRefills
from console.core.ehr.orders import Expectation
from console.core.ehr.refills import CareTeamMessage, Prescription
from console.dialogs.care_message import CareMessageDialog
from console.dialogs.choice import ChoicePicker
from console.widgets.patient_card import PatientCard
from tests.console_app import screen_text, shows_toast, wait_for
from tests.test_booking_store_faults import (
    DISK_IO,
    demo_console,
    maria_on_the_line,
    no_data_logged,
)
from tests.tiny_disk import TinyDisk

FULL = "the disk holding the local store is full"
FAILED_READ = "the disk holding the local store reported an I/O error"


async def prescriptions_read(pilot: Pilot[int], card: PatientCard) -> None:
    """Maria's prescriptions and pending tests are on the card."""
    await wait_for(
        pilot,
        lambda: card.prescriptions is not None and card.expectations is not None,
        what="prescriptions and tests",
    )


async def pick(pilot: Pilot[int], app: CarelineApp, downs: int) -> None:
    """l, then the prescription ``downs`` rows below the first (0: Lisinopril)."""
    await pilot.press("l")
    await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="which one")
    await pilot.press(*["down"] * downs, "enter")


async def refill_requests(app: CarelineApp) -> int:
    """How many refill requests the demo's backend holds."""
    [(count,)] = await app.services.store.fetch_all("SELECT count(*) FROM refill_requests")
    return int(count)


async def audited(app: CarelineApp, action: str) -> list[str]:
    """The outcomes of the audit rows of ``action``, in order."""
    rows = await app.services.store.fetch_all(
        "SELECT outcome FROM audit WHERE action = ? ORDER BY seq", (action,)
    )
    return [str(row[0]) for row in rows]


async def test_a_full_disk_while_requesting_a_refill_is_said_and_l_sends_it_once(
    tmp_path: Path, tiny_disk: TinyDisk, caplog: pytest.LogCaptureFixture
) -> None:
    """The disk fills before the agent requests Maria's Lisinopril: not sent, said with the
    disk's condition, the console up; once space returns l sends it, once."""
    caplog.set_level(logging.INFO)
    app = await demo_console(tmp_path, tiny_disk.path / "store.sqlite3")
    async with maria_on_the_line(app, tmp_path) as (pilot, card):
        await prescriptions_read(pilot, card)
        before = await refill_requests(app)
        tiny_disk.fill()
        await pick(pilot, app, 0)
        await wait_for(pilot, lambda: shows_toast(app, "not sent"), 15, "said")
        assert shows_toast(app, FULL)
        assert shows_toast(app, "Press l to try again")
        assert app.is_running
        assert await refill_requests(app) == before

        tiny_disk.free()
        await pick(pilot, app, 0)
        await wait_for(
            pilot, lambda: "Refill of Lisinopril 10 mg tablet requested" in screen_text(app)
        )
        assert await refill_requests(app) == before + 1
        await wait_for(pilot, lambda: app.held.count == 0, 10, "held writes saved")
        assert await audited(app, "refill") == ["fail", "ok"]
    no_data_logged(caplog, "Maria", "Lopez", "Lisinopril")


async def test_failing_reads_of_the_prescriptions_and_tests_are_said_on_the_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fails the reads of Maria's prescriptions and pending tests (SQLite's own
    error): the card says so with the disk's condition, l says why it waits, and once
    the store reads again l reads them."""
    app = await demo_console(tmp_path)

    async def no_prescriptions(self: LocalRefills, patient_id: str) -> list[Prescription]:
        del self, patient_id
        raise sqlite3.OperationalError(DISK_IO)

    async def no_tests(self: LocalOrders, patient_id: str, *, now: datetime) -> list[Expectation]:
        del self, patient_id, now
        raise sqlite3.OperationalError(DISK_IO)

    monkeypatch.setattr(LocalRefills, "prescriptions", no_prescriptions)
    monkeypatch.setattr(LocalOrders, "pending", no_tests)
    async with maria_on_the_line(app, tmp_path) as (pilot, card):
        await wait_for(pilot, lambda: FAILED_READ in card.refill_note, what="refill note")
        await wait_for(pilot, lambda: FAILED_READ in card.orders_note, what="orders note")
        assert app.is_running
        assert "the EHR" not in card.refill_note  # the store failed, not an EHR
        assert "the EHR" not in card.orders_note

        monkeypatch.undo()
        await pilot.press("l")  # says why, and looks again
        await wait_for(pilot, lambda: shows_toast(app, FAILED_READ), what="why not")
        await wait_for(pilot, lambda: card.prescriptions is not None, what="read again")
        assert card.refill_note == ""
        assert (await audited(app, "view")).count("fail") == 2  # medications, orders


async def test_a_damaged_store_refusing_the_care_team_message_is_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Metformin has no refills left, so l offers a message to the care team; the store is
    damaged and refuses it (SQLite's own error): not sent, said, the console up, and the
    same message goes once the store takes it."""
    app = await demo_console(tmp_path)
    real = LocalRefills.message_care_team

    async def damaged(
        self: LocalRefills,
        patient_id: str,
        text: str,
        *,
        request_id: str,
        about: Prescription | None = None,
    ) -> CareTeamMessage:
        del self, patient_id, text, request_id, about
        raise sqlite3.DatabaseError("database disk image is malformed")

    async with maria_on_the_line(app, tmp_path) as (pilot, card):
        await prescriptions_read(pilot, card)
        monkeypatch.setattr(LocalRefills, "message_care_team", damaged)
        await pick(pilot, app, 1)  # Metformin: no refills left
        await wait_for(pilot, lambda: isinstance(app.screen, CareMessageDialog), what="offered")
        await pilot.press("enter")  # the draft as it is
        await wait_for(pilot, lambda: shows_toast(app, "Message not sent"), 15, "said")
        assert shows_toast(app, "an unexpected error (DatabaseError)")
        assert app.is_running

        monkeypatch.setattr(LocalRefills, "message_care_team", real)
        await pick(pilot, app, 1)
        await wait_for(pilot, lambda: isinstance(app.screen, CareMessageDialog), what="again")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "Message sent to" in screen_text(app), what="sent")
        await wait_for(pilot, lambda: app.held.count == 0, 10, "held writes saved")
        assert await audited(app, "message") == ["fail", "ok"]
