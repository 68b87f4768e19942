# SPDX-License-Identifier: GPL-2.0-or-later
"""Screen pop and verification in the real console, with the real engine and SIPp."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from console.core.audit import AuditLog
from console.core.demo import demo_care, demo_patients
from console.core.patients.directory import PatientDirectory
from console.core.patients.records import ImportItem, PatientRecord
from console.core.store import Store
from console.dialogs.patient_search import PatientSearchDialog
from console.dialogs.verify import VerifyDialog
from console.widgets.patient_card import PatientCard
from tests.console_app import make_app, screen_text, sip_port, talking, wait_for
from tests.patients import patient_record
from tests.support import Sipp

FAMILY_PHONE = "+12025550142"


def patient(
    mrn: str, given: str, family: str, born: str, flags: frozenset[str] = frozenset()
) -> PatientRecord:
    return patient_record(
        mrn, given, family, born, phone=FAMILY_PHONE, language="es", interpreter=True, flags=flags
    )


def haddads() -> list[PatientRecord]:
    """A mother and her daughter on one family phone."""
    return [
        patient("MRN-1", "Fatima", "Haddad", "1980-01-02"),
        patient("MRN-2", "Layla", "Haddad", "2014-05-06", frozenset({"minor"})),
    ]


async def seed(path: Path, records: Iterable[ImportItem]) -> None:
    store = await Store.open(path)
    try:
        await PatientDirectory(store, "US").import_records(records)
    finally:
        await store.close()


async def test_one_match_greets_then_verification_gates_details(tmp_path: Path) -> None:
    await seed(tmp_path / "store.sqlite3", [patient("MRN-7", "Maria José", "Lopez", "1961-03-09")])
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = Sipp(
            tmp_path, "uac_agent_hangs_up.xml", sip_port(app), callers=[("M Lopez", FAMILY_PHONE)]
        )
        card = app.agent_screen.query_one(PatientCard)
        await wait_for(pilot, lambda: card.matches is not None, what="screen pop")
        text = screen_text(app)
        assert "Greet: Maria" in text
        for secret in ("1961", "MRN-7", "Lopez", "José", "interpreter", "INTERPRETER"):
            assert secret not in str(card.render())  # nothing beyond the greeting
        await pilot.press("a")
        await wait_for(pilot, lambda: talking(app))
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, VerifyDialog), what="verify form")
        await pilot.press(*"1961-03-10", "enter", *"lopez", "enter")  # wrong date
        await wait_for(pilot, lambda: "Not verified" in screen_text(app), what="refusal")
        assert card.verified is None
        dob = app.screen.query_one("#dob")
        dob.value = "03/09/1961"  # type: ignore[attr-defined]
        app.screen.query_one("#name").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: card.verified is not None, what="verified")
        text = screen_text(app)
        assert "Maria José Lopez" in text
        assert "MRN-7" in text
        assert "INTERPRETER NEEDED" in text
        await pilot.press("h")
        assert sipp.wait() == 0, sipp.report()
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        log = AuditLog(store)
        assert (await log.verify()).ok
        rows = await store.fetch_all("SELECT action, outcome, patient_id IS NOT NULL FROM audit")
        assert [tuple(r) for r in rows] == [
            ("search", "ok", 0),
            ("verify", "fail", 0),
            ("verify", "pass", 1),
            ("view", "ok", 1),
        ]
    finally:
        await store.close()


async def test_family_phone_lists_first_names_and_unknown_caller(tmp_path: Path) -> None:
    await seed(tmp_path / "store.sqlite3", haddads())
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        card = app.agent_screen.query_one(PatientCard)
        family = Sipp(tmp_path, "uac_ring.xml", sip_port(app), callers=[("Haddad", FAMILY_PHONE)])
        await wait_for(pilot, lambda: card.matches is not None, what="screen pop")
        assert "2 patients share this number: Fatima, Layla" in str(card.render())
        await pilot.press("d")
        assert family.wait() == 0, family.report()
        stranger = Sipp(tmp_path, "uac_ring.xml", sip_port(app), callers=[("?", "+12025550199")])
        await wait_for(pilot, lambda: card.matches == (), what="no match")
        assert "Unknown caller" in str(card.render())
        await asyncio.sleep(0)
        await pilot.press("d")
        assert stranger.wait() == 0, stranger.report()


async def test_verified_card_shows_context_and_past_calls_and_audits_one_view(
    tmp_path: Path,
) -> None:
    await seed(tmp_path / "store.sqlite3", [*demo_patients(), *demo_care(datetime.now(UTC).date())])
    maria = [("Maria Lopez", "+12025550142")]
    app = make_app(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        card = app.agent_screen.query_one(PatientCard)
        for attempt in range(2):
            sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", sip_port(app), callers=maria)
            await wait_for(pilot, lambda: card.matches is not None, what="screen pop")
            greeting = str(card.render())
            assert "Likely about: upcoming appointment · prescription refill" in greeting
            for secret in ("Metformin", "Diabetes", "Moreau", "DEMO-0001", "1961"):
                assert secret not in greeting
            await pilot.press("a")
            await wait_for(pilot, lambda: talking(app))
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, VerifyDialog), what="form")
            await pilot.press(*"1961-03-09", "enter", *"lopez", "enter")
            await wait_for(pilot, lambda: "Care team" in screen_text(app), what="context")
            text = screen_text(app)
            assert "Diabetes follow-up · Dr. Ines Moreau · Riverside Clinic" in text
            assert "✗ no refills authorised: needs prescriber approval" in text
            assert "✓ refill eligible (3 authorised" in text
            assert "Primary care: Dr. Ines Moreau (Internal medicine) +12025551001" in text
            assert "Care coordinator: Grace Lindqvist, RN" in text
            if attempt == 0:
                assert "none at this desk" in text
                await pilot.press("n", *"metformin", "escape")
                await pilot.pause(0.3)
            else:
                assert "inbound answered — metformin" in text
            await pilot.press("h")
            assert sipp.wait() == 0, sipp.report()
            await wait_for(pilot, lambda: card.matches is None, what="card cleared")
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        rows = await store.fetch_all(
            "SELECT action, category FROM audit WHERE action = 'view' ORDER BY seq"
        )
        assert [tuple(r) for r in rows] == [
            ("view", "demographics,flags,appointments,medications,care_team"),
            ("view", "demographics,flags,appointments,medications,care_team,interactions"),
        ]
        assert (await AuditLog(store).verify()).ok
    finally:
        await store.close()


async def test_unknown_caller_is_found_by_search_then_verified(tmp_path: Path) -> None:
    await seed(tmp_path / "store.sqlite3", haddads())
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        card = app.agent_screen.query_one(PatientCard)
        sipp = Sipp(tmp_path, "uac_ring.xml", sip_port(app), callers=[("?", "+12025550199")])
        await wait_for(pilot, lambda: card.matches == (), what="no match")
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, PatientSearchDialog), what="search")
        await pilot.press(*"haddad", "enter")
        await wait_for(pilot, lambda: "Haddad, Layla" in screen_text(app), what="results")
        assert "2014-05-06" not in screen_text(app)  # the birth year only: the caller says the date
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, VerifyDialog), what="verify form")
        await pilot.press(*"1980-01-02", "enter", *"haddad", "enter")
        await wait_for(pilot, lambda: card.verified is not None, what="verified")
        assert "Fatima Haddad" in screen_text(app)
        await pilot.press("d")
        assert sipp.wait() == 0, sipp.report()
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        rows = await store.fetch_all("SELECT action, outcome FROM audit ORDER BY seq")
        assert [tuple(r) for r in rows] == [
            ("search", "ok"),  # the screen pop
            ("search", "ok"),  # the agent's search
            ("verify", "pass"),
            ("view", "ok"),
        ]
    finally:
        await store.close()
