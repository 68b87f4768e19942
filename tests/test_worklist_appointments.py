# SPDX-License-Identifier: GPL-2.0-or-later
"""A reminder item carries the appointment it is about (issue 19): from generation, in
the local store and on the hub, to the console that holds the claim, and nobody else."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import psycopg

from console.core.config import WorklistsConfig
from console.core.scripts.loader import load_library
from console.core.store import Store
from console.core.worklists.generate import generate
from console.core.worklists.item_appointment import (
    ClaimAppointments,
    ItemAppointment,
    local_appointment,
)
from console.core.worklists.store import WorklistStore
from console.dialogs.worklist import OutcomePicker
from console.hub.worklist_publish import publish
from tests import test_worklist_hub_trust as trust
from tests.console_app import make_app, wait_for
from tests.pg import Hub, PgCluster
from tests.support import Sipp, free_udp_port
from tests.test_console_hub import console_config
from tests.test_worklist_hub_trust import directory_on_hub as directory_on_hub
from tests.worklist_console import config as worklist_config
from tests.worklist_console import start_worklist, verify_claimed_as
from tests.worklist_hub import RULES, Agents, login, owner, put_items

TODAY = date(2031, 3, 3)
NOON = datetime(2031, 3, 3, 15, 0, tzinfo=UTC)
START = datetime(2031, 3, 4, 15, 0, tzinfo=UTC)
HOSTILE = "[bold]Dr\x1b[2J Evil\u202e"


async def directory(path: Path) -> Store:
    """One New York patient with a booked visit tomorrow (a hostile clinician name), a
    prescription running out and a visit two days ago."""
    store = await Store.open(path)
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO patients (id, mrn, given_names, source, updated_at) "
            "VALUES ('p0', 'M0', 'Ann', 'test', 'x')"
        )
        await db.execute("INSERT INTO patient_phones VALUES ('p0', '+12025550142', 'home')")
        for rid, start, status in (
            ("Appointment/a0", "2031-03-04T15:00:00Z", "booked"),
            ("Appointment/v0", "2031-03-01T15:00:00Z", "fulfilled"),
        ):
            await db.execute(
                "INSERT INTO appointments (resource_id, subject, start, status, description,"
                " with_whom, updated_at) VALUES (?, 'mrn:M0', ?, ?, 'Primary care', ?, 'x')",
                (rid, start, status, HOSTILE),
            )
        await db.execute(
            "INSERT INTO medications (resource_id, subject, name, status, updated_at, "
            "supply_days, last_filled) VALUES ('rx0', 'mrn:M0', 'Metformin', 'active', 'x', "
            "30, '2031-02-06')"
        )
    return store


async def test_reminder_items_carry_their_appointment_and_the_claim_reads_it(
    tmp_path: Path,
) -> None:
    store = await directory(tmp_path / "s.db")
    try:
        library = load_library()
        await generate(
            store, library.worklists, library.preparations, today=TODAY, zone="America/New_York"
        )
        rows = await store.fetch_all(
            "SELECT kind, appointment_id, appointment_start, appointment_service, "
            "appointment_clinician FROM worklist_items ORDER BY kind"
        )
        by_kind = {str(row[0]): row[1:] for row in rows}
        assert set(by_kind) == {"appointment_reminder", "refill_reminder", "feedback"}
        rid, start, service, clinician = by_kind["appointment_reminder"]
        assert (rid, start, service) == ("Appointment/a0", "2031-03-04T15:00:00Z", "Primary care")
        assert "\x1b" not in str(clinician)
        assert "\u202e" not in str(clinician)
        assert "Evil" in str(clinician)
        # Only reminders name an appointment to say and change.
        assert by_kind["refill_reminder"] == (None, None, "", "")
        assert by_kind["feedback"] == (None, None, "", "")

        claims = WorklistStore(store, WorklistsConfig(caller_id="+12025550100"))
        claimed = []
        while (claim := await claims.claim_next("agent", NOON)) is not None:
            claimed.append(claim)
            await claims.release(claim, NOON, datetime(2031, 3, 5, tzinfo=UTC))
        reminder = next(c for c in claimed if c.list_id == "appointment-reminders")
        found = await local_appointment(store, reminder)
        assert found is not None
        assert (found.resource_id, found.ehr_id, found.start) == (
            "Appointment/a0",
            "a0",
            START,
        )
        assert "Evil" not in repr(found)  # no patient data in a log line
        others = [c for c in claimed if c is not reminder]
        assert others
        assert [await local_appointment(store, c) for c in others] == [None] * len(others)
    finally:
        await store.close()


def test_the_hub_gets_the_appointment_with_the_item(directory_on_hub: Hub, tmp_path: Path) -> None:
    """``worklist generate --hub`` (the floor's generation) publishes it with the item."""
    # The generation test's run, which checks the items themselves.
    trust.test_cli_generates_the_floors_items_on_the_hub_once(directory_on_hub, tmp_path)
    rows = owner(
        directory_on_hub,
        "SELECT mrn, appointment_id, appointment_start, appointment_service "
        "FROM careline.worklist_items ORDER BY mrn",
    )
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (f"MRN-{n}", f"Appointment/appt-{n}", START, "Primary care") for n in (1, 2, 3)
    ]


async def test_only_the_agent_holding_the_claim_reads_its_appointment(
    hub: Hub, tmp_path: Path
) -> None:
    [item] = put_items(hub, {"patient": "p1"})
    owner(
        hub,
        "UPDATE careline.worklist_items SET appointment_id = 'Appointment/a1', "
        "appointment_start = %s, appointment_service = 'Primary care', "
        "appointment_clinician = %s WHERE id = %s",
        START,
        HOSTILE,
        item,
    )
    agents = Agents(hub, tmp_path)
    try:
        alice = await agents("alice")
        bob = await agents("bob")
        claim = await alice.claim()
        assert claim is not None
        # The console asks the hub's claimer; a local store's items are read locally.
        assert isinstance(alice.claims, ClaimAppointments)
        assert not isinstance(WorklistStore(alice.store, RULES), ClaimAppointments)
        found = await alice.claims.appointment(claim)
        assert isinstance(found, ItemAppointment)
        assert (found.ehr_id, found.start, found.service) == ("a1", START, "Primary care")
        assert "\x1b" not in found.clinician
        # Row-level security: another agent (holding no claim on it) reads nothing.
        assert await bob.claims.appointment(claim) is None
    finally:
        await agents.close()


async def test_a_long_appointment_id_is_published_with_its_item(hub: Hub, tmp_path: Path) -> None:
    """An import without ids names a resource by its fullUrl, which can be long: the hub
    takes the appointment id as long as the item's dedupe key may be (one refused row
    would refuse the whole list)."""
    long_id = "urn:uuid:" + "7" * 300
    store = await directory(tmp_path / "s.db")
    try:
        async with store.transaction() as db:
            await db.execute(
                "UPDATE appointments SET resource_id = ? WHERE resource_id = 'Appointment/a0'",
                (long_id,),
            )
        library = load_library()
        await generate(
            store, library.worklists, library.preparations, today=TODAY, zone="America/New_York"
        )
        async with await psycopg.AsyncConnection.connect(hub.owner_dsn, autocommit=True) as conn:
            added = await publish(conn, store, RULES, ["appointment-reminders"], TODAY)
    finally:
        await store.close()
    assert added == {"appointment-reminders": 1}
    assert owner(hub, "SELECT appointment_id FROM careline.worklist_items") == [(long_id,)]


async def test_a_console_on_the_hub_says_the_reminded_day_once_verified(
    tmp_path: Path, hub: Hub, pg_cluster: PgCluster
) -> None:
    """End to end on a hub: the console claims the floor's item, the patient (SIPp)
    answers, and only once verified does the script get the day of the appointment the
    hub's item is about; the outcome settles the hub's item."""
    agent = login("alice")
    port = free_udp_port()
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        async with store.transaction() as db:
            await db.execute(
                "INSERT INTO patients (id, mrn, family_name, given_names, birth_date, source, "
                "updated_at) VALUES ('p1', 'MRN-W', 'Lopez', 'Maria', '1961-03-09', 'test', 'x')"
            )
            await db.execute("INSERT INTO patient_phones VALUES ('p1', '+12125550142', 'home')")
    finally:
        await store.close()
    [item] = put_items(hub, {"patient": "MRN-W", "numbers": ["+12125550142"]})
    owner(
        hub,
        "UPDATE careline.worklist_items SET appointment_id = 'Appointment/a1', "
        "appointment_start = %s WHERE id = %s",
        START,
        item,
    )
    settings = console_config(tmp_path, hub, pg_cluster, agent) + worklist_config(
        f"127.0.0.1:{port}"
    )
    app = make_app(tmp_path, settings)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        patient = Sipp(tmp_path, "uas_target_answers.xml", port=port)
        patient.wait_listening()
        await start_worklist(app, pilot)
        await pilot.press("enter")
        screen = app.agent_screen
        await wait_for(pilot, lambda: screen.guidance.current() is not None, 15, "answered")
        attempt = screen.worklist.attempt
        assert attempt is not None
        assert attempt.call_id is not None
        run = screen.guidance.runs[attempt.call_id]
        day = START.astimezone().strftime("%A %d %B at %H:%M")
        assert run.context.get("patient.next_appointment") is None
        await verify_claimed_as(app, pilot, "1961-03-09", "lopez")
        await wait_for(
            pilot, lambda: run.context.get("patient.next_appointment") == day, what="day said"
        )
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), 15, "outcome")
        await pilot.press("1")
        await wait_for(pilot, lambda: screen.worklist.attempt is None, 15, "saved")
        assert patient.wait() == 0, patient.report()
    assert owner(hub, "SELECT state, outcome FROM careline.worklist_items") == [
        ("done", "confirmed")
    ]
