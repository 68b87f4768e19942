# SPDX-License-Identifier: GPL-2.0-or-later
"""Booking from the call, end to end: a real console (Pilot), its real engine, a SIPp
caller, and a real FHIR R4 server (sekmet-fhir, SMART sign-in) as the clinic's EHR.

The agent answers Maria, verifies her, and with k books a slot, moves it and
cancels it; the card follows at once; every EHR read and write is an audit
row. A slot another agent takes while the picker is open is refused in
words and the list comes back fresh. The key does nothing before the
caller is verified.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.app import CarelineApp
from console.core.demo import MARIA_ID, demo_care, demo_patients, seed_demo_schedules
from console.core.ehr.client import FhirClient
from console.core.ehr.fhir_scheduling import FhirScheduling
from console.core.ehr.scheduling import SlotOffer
from console.core.patients.directory import PatientDirectory
from console.core.store import Store
from console.dialogs.choice import ChoicePicker
from console.dialogs.slot_picker import SlotPicker
from console.widgets.patient_card import PatientCard
from tests.console_app import make_app, screen_text, wait_for
from tests.ehr_console import answer_and_verify as answer_and_check
from tests.ehr_console import ehr_config, ehr_yaml, maria_in_both, tomorrow_nine
from tests.fhir_server import FhirServer, ScheduleIds, seed_patient, seed_schedule
from tests.support import Sipp


@pytest.fixture(scope="module")
def ehr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    with FhirServer(tmp_path_factory.mktemp("ehr"), smart=True) as server:
        yield server


@pytest.fixture(scope="module")
def clinic(ehr: FhirServer) -> ScheduleIds:
    return seed_schedule(
        ehr, "Dr Amara Osei", "Riverside Clinic", "general", tomorrow_nine(), 8, 20
    )


async def answer_and_verify(pilot: Pilot[int], app: CarelineApp, tmp_path: Path) -> Sipp:
    """Maria answered (k does nothing before she is verified), verified, and her
    appointments read from the backend."""
    sipp = await answer_and_check(pilot, app, tmp_path, key="k", opens=(ChoicePicker,))
    card = app.agent_screen.query_one(PatientCard)
    await wait_for(pilot, lambda: card.bookings is not None, what="the EHR's appointments")
    return sipp


async def choose(pilot: Pilot[int], app: CarelineApp, downs: int) -> None:
    """Press k and take the choice ``downs`` rows below the first (0: book a new one;
    then Move and Cancel for each listed appointment)."""
    await pilot.press("k")
    await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="choices")
    await pilot.press(*["down"] * downs, "enter")


async def open_picker(pilot: Pilot[int], app: CarelineApp) -> SlotPicker:
    """The slot picker, once it is on screen with its slots."""
    await wait_for(pilot, lambda: isinstance(app.screen, SlotPicker), what="slot picker")
    picker = app.screen
    assert isinstance(picker, SlotPicker)
    await wait_for(pilot, lambda: bool(picker.offers), what="free slots")
    return picker


async def take_offer(pilot: Pilot[int], app: CarelineApp, index: int) -> SlotOffer:
    """Book the picker's offer at ``index``; the offer, once the picker has closed."""
    picker = await open_picker(pilot, app)
    offer = picker.offers[index]
    await pilot.press(*["down"] * index, "enter")
    await wait_for(pilot, lambda: not isinstance(app.screen, SlotPicker), what="booked")
    return offer


@pytest.mark.usefixtures("clinic")
async def test_book_move_and_cancel_from_the_call(tmp_path: Path, ehr: FhirServer) -> None:
    fhir_id = await maria_in_both(ehr, tmp_path / "store.sqlite3")
    app = make_app(tmp_path, ehr_yaml(ehr))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = await answer_and_verify(pilot, app, tmp_path)
        card = app.agent_screen.query_one(PatientCard)
        assert "k: book, move or cancel" in screen_text(app)
        assert "none booked" in screen_text(app)

        await choose(pilot, app, 0)  # Book a new appointment
        await open_picker(pilot, app)
        assert "Dr Amara Osei" in screen_text(app)
        first = await take_offer(pilot, app, 0)
        assert card.bookings is not None
        assert [b.start for b in card.bookings] == [first.start]
        assert "Dr Amara Osei · Riverside Clinic" in screen_text(app)

        await choose(pilot, app, 1)  # Move …
        later = await take_offer(pilot, app, 1)
        assert [b.start for b in card.bookings or ()] == [later.start]

        await choose(pilot, app, 2)  # Cancel …
        await wait_for(pilot, lambda: "Why is" in screen_text(app), what="reasons")
        await pilot.press("down", "enter")  # Patient feels better
        await wait_for(pilot, lambda: card.bookings == (), what="cancelled")
        assert "none booked" in screen_text(app)
        await pilot.press("h")
        assert sipp.wait() == 0, sipp.report()

    client = FhirClient.from_config(ehr_config(ehr))
    try:
        appointments = await client.search("Appointment", {"patient": f"Patient/{fhir_id}"})
    finally:
        await client.aclose()
    assert sorted(a["status"] for a in appointments) == ["cancelled", "cancelled"]
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        rows = await store.fetch_all(
            "SELECT action, category, outcome FROM audit WHERE category = 'appointments' "
            "OR action IN ('book', 'reschedule', 'cancel') ORDER BY seq"
        )
    finally:
        await store.close()
    assert [tuple(r) for r in rows][-4:] == [
        ("view", "appointments", "ok"),
        ("book", "appointments", "ok"),
        ("reschedule", "appointments", "ok"),
        ("cancel", "appointments", "ok"),
    ]


@pytest.mark.usefixtures("clinic")
async def test_a_slot_taken_while_the_picker_is_open_is_said_and_refreshed(
    tmp_path: Path, ehr: FhirServer
) -> None:
    await maria_in_both(ehr, tmp_path / "store.sqlite3")
    app = make_app(tmp_path, ehr_yaml(ehr))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = await answer_and_verify(pilot, app, tmp_path)
        await choose(pilot, app, 0)
        picker = await open_picker(pilot, app)
        wanted = picker.offers[0]

        other = FhirClient.from_config(ehr_config(ehr))
        try:  # another agent books the same slot first
            rival = seed_patient(ehr, "Wei Chen", "MRN-R", date(1949, 2, 14), "+12025550188")
            await FhirScheduling(other).book(rival, wanted, request_id=uuid.uuid4().hex)
        finally:
            await other.aclose()
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: (
                "That slot was just taken: pick another." in screen_text(app)
                and bool(picker.offers)
                and picker.offers[0].slot_id != wanted.slot_id
            ),
            what="refused and refreshed",
        )
        assert isinstance(app.screen, SlotPicker)
        await pilot.press("escape")
        await pilot.press("h")
        assert sipp.wait() == 0, sipp.report()


async def demo_app(tmp_path: Path, *, wrap_up: str = "off") -> CarelineApp:
    """A console on the demo's patients and its own schedules (Maria's follow-up booked);
    ``wrap_up``: the wrap-up mode."""
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        today = datetime.now(UTC).date()
        await PatientDirectory(store, "US").import_records([*demo_patients(), *demo_care(today)])
        await seed_demo_schedules(store, today, maria=MARIA_ID)
    finally:
        await store.close()
    app = make_app(tmp_path, wrap_up=wrap_up)
    app.wiring = dataclasses.replace(app.wiring, local_scheduling=True)
    return app


async def test_the_demo_books_moves_and_cancels_on_its_own_schedules(tmp_path: Path) -> None:
    """No EHR: the demo's embedded schedules, Maria's follow-up already booked."""
    app = await demo_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = await answer_and_verify(pilot, app, tmp_path)
        card = app.agent_screen.query_one(PatientCard)
        follow_up = card.bookings
        assert follow_up is not None
        assert len(follow_up) == 1
        assert follow_up[0].clinician == "Dr. Ines Moreau"

        await choose(pilot, app, 1)  # Move …
        picker = await open_picker(pilot, app)
        # Her own doctor's slots first (her care team), then the other clinics'.
        own = [offer.clinician == "Dr. Ines Moreau" for offer in picker.offers]
        assert own == sorted(own, reverse=True)
        assert own[0]
        assert not all(own)
        target = await take_offer(pilot, app, 0)
        assert [b.start for b in card.bookings or ()] == [target.start]

        await choose(pilot, app, 2)  # Cancel …
        await pilot.press("enter")  # Patient asked
        await wait_for(pilot, lambda: card.bookings == (), what="cancelled")
        await pilot.press("h")
        assert sipp.wait() == 0, sipp.report()
