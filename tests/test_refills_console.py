# SPDX-License-Identifier: GPL-2.0-or-later
"""Refill requests and pending tests from the call, end to end: a real console (Pilot), its
real engine, a SIPp caller, and a real FHIR R4 server (sekmet-fhir, SMART sign-in) as the
clinic's EHR, or the demo's own backends on the store.

The agent answers Maria, verifies her, sees her pending tests with their usual turnaround,
presses l, picks Lisinopril and the refill request goes to her prescriber (a Task in the
EHR, an audit row, the words to tell her on screen); Metformin has no refills left, so
l offers a message to the care team instead (a Communication). With the EHR stopped the
card and the key say so in words and nothing waits on it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.pilot import Pilot

from console.app import CarelineApp
from console.core.demo import demo_care, demo_patients, seed_demo_orders
from console.core.ehr.client import FhirClient, Resource
from console.core.patients.directory import PatientDirectory
from console.core.store import Store
from console.dialogs.care_message import CareMessageDialog
from console.dialogs.choice import ChoicePicker
from console.widgets.patient_card import PatientCard
from tests.console_app import make_app, screen_text, wait_for
from tests.ehr_console import answer_and_verify as answer_and_check
from tests.ehr_console import ehr_config, ehr_yaml, maria_in_both
from tests.fhir_server import FhirServer, seed_prescriptions, seed_test
from tests.support import Sipp

TURNAROUNDS = (
    "  refill_turnaround: 3 working days\n"
    "  result_turnaround: a week\n"
    "  result_turnarounds:\n"
    '    "24331-1": "2 working days"\n'
)


@pytest.fixture(scope="module")
def ehr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FhirServer]:
    with FhirServer(tmp_path_factory.mktemp("ehr"), smart=True) as server:
        yield server


async def with_maria(tmp_path: Path, server: FhirServer) -> str:
    """Maria in the EHR with two prescriptions and a lipid panel ordered, and under the
    same EHR id in the console's directory."""
    fhir_id = await maria_in_both(server, tmp_path / "store.sqlite3")
    today = datetime.now(UTC).date()
    later = today + timedelta(days=200)
    seed_prescriptions(
        server,
        fhir_id,
        "Dr Ines Moreau",
        [("Lisinopril 10 mg tablet", 3, later), ("Metformin 500 mg tablet", 0, later)],
    )
    seed_test(server, fhir_id, "Lipid panel", "24331-1", today - timedelta(days=1))
    seed_test(server, fhir_id, "Vitamin D", "1989-3", today - timedelta(days=2))
    return fhir_id


def config_text(server: FhirServer) -> str:
    """The console's EHR link, with short timeouts and the turnarounds said."""
    return ehr_yaml(server, "  timeout: 3\n  connect_timeout: 1\n" + TURNAROUNDS)


async def answer_and_verify(
    pilot: Pilot[int], app: CarelineApp, tmp_path: Path, *, dob: str = "1961-03-09"
) -> Sipp:
    """Maria answered (l does nothing before she is verified) and verified with ``dob``."""
    opens = (ChoicePicker, CareMessageDialog)
    return await answer_and_check(pilot, app, tmp_path, key="l", opens=opens, dob=dob)


async def ehr_search(server: FhirServer, kind: str, params: dict[str, str]) -> list[Resource]:
    client = FhirClient.from_config(ehr_config(server))
    try:
        return await client.search(kind, params)
    finally:
        await client.aclose()


async def audit_rows(tmp_path: Path) -> list[tuple[str, str, str]]:
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        rows = await store.fetch_all(
            "SELECT action, category, outcome FROM audit "
            "WHERE category IN ('medications', 'orders', 'care_team') ORDER BY seq"
        )
    finally:
        await store.close()
    return [(str(a), str(c), str(o)) for a, c, o in rows]


async def test_a_refill_request_and_a_care_team_message_from_the_call(
    tmp_path: Path, ehr: FhirServer
) -> None:
    fhir_id = await with_maria(tmp_path, ehr)
    app = make_app(tmp_path, config_text(ehr))
    async with app.run_test(size=(180, 60)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = await answer_and_verify(pilot, app, tmp_path)
        card = app.agent_screen.query_one(PatientCard)
        await wait_for(
            pilot,
            lambda: card.prescriptions is not None and card.expectations is not None,
            what="the EHR's prescriptions and tests",
        )
        text = screen_text(app)
        assert "l: request a refill" in text
        assert "Lipid panel — ordered" in text
        assert "results usually within 2 working days" in text  # by its LOINC code
        assert "results usually within a week" in text  # Vitamin D: the default

        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="which one")
        assert "✓ Lisinopril 10 mg tablet" in screen_text(app)
        assert "✗ Metformin 500 mg tablet — no refills" in screen_text(app)
        await pilot.press("enter")  # Lisinopril
        await wait_for(
            pilot,
            lambda: (
                "Tell the patient: the prescriber usually answers within 3 working days"
                in screen_text(app)
            ),
            what="what to tell the patient",
        )
        assert "refill already requested" in screen_text(app)
        tasks = await ehr_search(ehr, "Task", {"patient": f"Patient/{fhir_id}"})
        assert len(tasks) == 1
        task = tasks[0]
        assert (task["status"], task["intent"]) == ("requested", "order")
        assert task["focus"]["reference"].startswith("MedicationRequest/")
        assert task["owner"]["reference"].startswith("Practitioner/")

        await pilot.press("l")  # Metformin: no refills left, so a message instead
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="which one")
        await pilot.press("down", "enter")
        await wait_for(
            pilot, lambda: isinstance(app.screen, CareMessageDialog), what="message offered"
        )
        assert "Why: no refills authorised" in screen_text(app)
        await pilot.press("enter")  # the draft as it is
        await wait_for(pilot, lambda: "Message sent to" in screen_text(app), what="sent")
        await pilot.press("h")
        assert sipp.wait() == 0, sipp.report()

    messages = await ehr_search(ehr, "Communication", {"subject": f"Patient/{fhir_id}"})
    assert len(messages) == 1
    assert "Metformin 500 mg tablet" in messages[0]["payload"][0]["contentString"]
    assert await audit_rows(tmp_path) == [
        ("view", "medications", "ok"),
        ("view", "orders", "ok"),
        ("refill", "medications", "ok"),
        ("message", "care_team", "ok"),
    ]


async def test_with_the_ehr_down_the_card_and_the_key_say_so(tmp_path: Path) -> None:
    with FhirServer(tmp_path / "ehr", smart=True) as server:
        await with_maria(tmp_path, server)
        text = config_text(server)
    # The server is gone now: every read fails at once (connection refused).
    app = make_app(tmp_path, text)
    async with app.run_test(size=(180, 60)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = await answer_and_verify(pilot, app, tmp_path)
        card = app.agent_screen.query_one(PatientCard)
        await wait_for(pilot, lambda: bool(card.refill_note), what="the refill note")
        await wait_for(pilot, lambda: bool(card.orders_note), what="the orders note")
        text = screen_text(app)
        assert "Refill requests wait for the EHR: The EHR cannot be reached" in text
        assert "These are the directory's prescriptions." in text
        assert "Cannot show them now (the EHR: The EHR cannot be reached" in text
        why = app.agent_screen.refills.why_not() or ""
        assert why.startswith("Refill requests wait for the EHR: The EHR cannot be reached")
        assert "l Refill" in screen_text(app)  # the key stays, to say why
        await pilot.press("l")  # it says why (a toast) and reads again: the next may work
        await pilot.pause(1.0)
        assert not isinstance(app.screen, ChoicePicker | CareMessageDialog)
        await pilot.press("h")
        assert sipp.wait() == 0, sipp.report()
    rows = await audit_rows(tmp_path)
    assert rows.count(("view", "medications", "fail")) == 2
    assert rows.count(("view", "orders", "fail")) == 2


async def test_the_demo_requests_marias_lisinopril_and_shows_her_tests(tmp_path: Path) -> None:
    """No EHR: the demo's own backends on its store, seeded as `careline demo` seeds them."""
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        now = datetime.now(UTC)
        await PatientDirectory(store, "US").import_records(
            [*demo_patients(), *demo_care(now.date())]
        )
        await seed_demo_orders(store, now)
    finally:
        await store.close()
    app = make_app(tmp_path)
    app.wiring = dataclasses.replace(app.wiring, local_scheduling=True)
    async with app.run_test(size=(180, 60)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = await answer_and_verify(pilot, app, tmp_path)
        card = app.agent_screen.query_one(PatientCard)
        await wait_for(pilot, lambda: card.expectations is not None, what="her tests")
        text = screen_text(app)
        assert "Lipid panel — ordered" in text
        assert "HbA1c — result preliminary" in text
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="which one")
        await pilot.press("enter")  # Lisinopril (active ones by name)
        await wait_for(
            pilot, lambda: "Refill of Lisinopril 10 mg tablet requested" in screen_text(app)
        )
        await pilot.press("h")
        assert sipp.wait() == 0, sipp.report()
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        rows = await store.fetch_all("SELECT prescription_id, owner, status FROM refill_requests")
    finally:
        await store.close()
    assert [tuple(r) for r in rows] == [
        ("MedicationRequest/demo-2", "Dr. Ines Moreau", "requested")
    ]
