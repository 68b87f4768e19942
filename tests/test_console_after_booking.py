# SPDX-License-Identifier: GPL-2.0-or-later
"""What follows a booking, end to end in the real console (Pilot, its engine, a SIPp
caller): the guidance pane reads out the preparation for the service booked, the
wrap-up opens pre-filled from the booking (disposition, the appointment's date and
id), and the interaction records the Appointment id. When the EHR is down, the
picker offers a callback to book when it is back, which lands in the callbacks list
and never books anything twice. Against the real FHIR server and the demo's own
schedules.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from console.app import CarelineApp
from console.core.interactions import InteractionStore
from console.core.store import Store
from console.dialogs.callbacks import CallbacksDialog
from console.dialogs.slot_picker import SlotPicker
from console.dialogs.wrap_up import WrapUpDialog
from console.widgets.guidance import GuidancePane
from console.widgets.patient_card import PatientCard
from tests.console_app import make_app, screen_text, shows_toast, wait_for
from tests.ehr_console import ehr_yaml, maria_in_both, tomorrow_nine
from tests.fhir_server import FhirServer, seed_schedule
from tests.test_console_booking import (
    answer_and_verify,
    choose,
    demo_app,
    open_picker,
    take_offer,
)


@pytest.fixture
def ehr(tmp_path: Path) -> Iterator[FhirServer]:
    """An EHR of this test's own: one test stops it."""
    with FhirServer(tmp_path / "ehr", smart=True) as server:
        seed_schedule(
            server, "Dr Amara Osei", "Riverside Clinic", "Diabetes review", tomorrow_nine(), 4, 30
        )
        yield server


async def stored(path: Path, sql: str) -> list[tuple[object, ...]]:
    store = await Store.open(path)
    try:
        return [tuple(row) for row in await store.fetch_all(sql)]
    finally:
        await store.close()


async def ehr_app(tmp_path: Path, ehr: FhirServer) -> CarelineApp:
    """A console on ``ehr`` with Maria in both, whose wrap-up must be filled in."""
    await maria_in_both(ehr, tmp_path / "store.sqlite3")
    return make_app(tmp_path, ehr_yaml(ehr), wrap_up="mandatory")


async def test_a_booking_reads_out_its_preparation_and_fills_the_wrap_up(
    tmp_path: Path, ehr: FhirServer
) -> None:
    app = await ehr_app(tmp_path, ehr)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = await answer_and_verify(pilot, app, tmp_path)
        pane = app.agent_screen.query_one(GuidancePane)
        assert pane.previsit is None
        await choose(pilot, app, 0)
        offer = await take_offer(pilot, app, 0)
        card = app.agent_screen.query_one(PatientCard)
        [booking] = card.bookings or ()
        # The service names it on the card and in the toast, not "appointment".
        assert "Diabetes review · Dr Amara Osei" in screen_text(app)
        assert shows_toast(app, "Booked Diabetes review, ")
        await wait_for(pilot, lambda: pane.previsit is not None, what="preparation")
        assert "Before Diabetes review · Diabetes review" in screen_text(app)
        assert pane.previsit is not None
        parts = dict(pane.previsit.parts)
        assert parts["Fasting"].startswith("Your review starts with a blood test")
        local = offer.start.astimezone()
        arrive = (local.hour * 60 + local.minute - 20) % (24 * 60)
        assert f"Please arrive by {arrive // 60:02d}:{arrive % 60:02d}" in parts["Arrival"]
        assert "Dr Amara Osei" in parts[""]  # the EHR's name, literally

        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, WrapUpDialog), what="wrap-up")
        dialog = app.screen
        assert isinstance(dialog, WrapUpDialog)
        assert dialog.disposition == "appointment_booked"
        assert dialog.query_one("#field-appointment_date", Input).value == local.date().isoformat()
        assert dialog.query_one("#field-appointment_id", Input).value == booking.appointment_id
        await pilot.press("r")  # the agent can change it…
        assert dialog.disposition == "resolved"
        await pilot.press("a")  # …and back
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, WrapUpDialog), what="saved")
        assert sipp.wait() == 0, sipp.report()
    [(disposition, form, appointments, payload)] = await stored(
        tmp_path / "store.sqlite3",
        "SELECT i.disposition, i.form, i.appointments, o.payload FROM interactions i "
        "JOIN outbox o ON o.entity_id = i.id AND o.kind = 'interaction'",
    )
    assert disposition == "appointment_booked"
    assert json.loads(str(form))["appointment_id"] == booking.appointment_id
    [entry] = json.loads(str(appointments))
    assert (entry["id"], entry["change"]) == (booking.appointment_id, "booked")
    assert json.loads(str(payload))["appointments"] == [entry]  # what the hub receives


async def test_an_ehr_that_is_down_offers_a_callback_to_book_later(
    tmp_path: Path, ehr: FhirServer
) -> None:
    app = await ehr_app(tmp_path, ehr)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = await answer_and_verify(pilot, app, tmp_path)
        ehr.stop()
        await choose(pilot, app, 0)
        await open_failed_picker_and_defer(
            pilot, app, "b: call back to book when the system is back."
        )
        await wait_for(pilot, lambda: not isinstance(app.screen, SlotPicker), what="closed")
        assert shows_toast(app, "A callback to book when the system is back")
        await choose(pilot, app, 0)  # asked twice: one callback, not two
        await open_failed_picker_and_defer(pilot, app)
        await wait_for(pilot, lambda: shows_toast(app, "already has the callback"))

        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, WrapUpDialog), what="wrap-up")
        dialog = app.screen
        assert isinstance(dialog, WrapUpDialog)
        assert dialog.disposition == "callback_needed"
        assert dialog.entry.follow_up_on
        assert "Book an appointment when the system is back" in screen_text(app)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, WrapUpDialog), what="saved")
        assert sipp.wait() == 0, sipp.report()
        await pilot.press("b")
        await wait_for(pilot, lambda: isinstance(app.screen, CallbacksDialog), what="callbacks")
        assert "Book an appointment when the system is back" in screen_text(app)
    [(disposition, appointments)] = await stored(
        tmp_path / "store.sqlite3", "SELECT disposition, appointments FROM interactions"
    )
    assert (disposition, appointments) == ("callback_needed", "[]")
    callbacks = await stored(tmp_path / "store.sqlite3", "SELECT reason, status FROM callbacks")
    assert callbacks == [("Book an appointment when the system is back", "open")]


async def open_failed_picker_and_defer(pilot: Pilot[int], app: CarelineApp, says: str = "") -> None:
    """The picker, once it says the EHR failed (and ``says``); b asks for the callback."""
    await wait_for(pilot, lambda: isinstance(app.screen, SlotPicker), what="picker")
    picker = app.screen
    assert isinstance(picker, SlotPicker)
    await wait_for(pilot, lambda: picker.deferrable, what="the EHR's failure")
    assert says in screen_text(app)
    await pilot.press("b")


async def test_the_demo_reads_out_its_preparation_and_records_a_skipped_wrap_up(
    tmp_path: Path,
) -> None:
    """The demo's own schedules; wrap-up off: the interaction still records the booking."""
    app = await demo_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = await answer_and_verify(pilot, app, tmp_path)
        await choose(pilot, app, 1)  # Move her follow-up
        await open_picker(pilot, app)
        target = await take_offer(pilot, app, 0)
        pane = app.agent_screen.query_one(GuidancePane)
        await wait_for(pilot, lambda: pane.previsit is not None, what="preparation")
        assert "Before Diabetes review · Diabetes review" in screen_text(app)
        assert pane.previsit is not None
        parts = dict(pane.previsit.parts)
        assert f"with {target.clinician}" in parts[""]
        assert parts["Fasting"].startswith("Your review starts with a blood test")
        await pilot.press("h")
        assert sipp.wait() == 0, sipp.report()
        await wait_for(pilot, lambda: app.agent_screen.guidance.previsit == {}, what="forgotten")
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        [row] = await store.fetch_all("SELECT id FROM interactions")
        interaction = await InteractionStore(store).get(str(row[0]))
    finally:
        await store.close()
    assert interaction is not None
    assert interaction.disposition == "appointment_booked"
    [moved] = interaction.appointments
    assert moved["change"] == "moved"
    assert moved["replaces"]
    assert interaction.form == {}  # nobody filled the form in
