# SPDX-License-Identifier: GPL-2.0-or-later
"""The automatic checks (issue 21) on calls the real console and engine made with SIPp
callers: red flag to transfer time, verification before details, holds."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from console.core.audit import AuditLog
from console.core.quality.checks import run_checks
from console.core.quality.facts import CallFacts, call_facts
from console.core.scripts.evaluation_forms import AutomaticCheck, Thresholds
from console.core.scripts.loader import load_library
from console.core.store import Store
from console.widgets.history import CallHistory
from console.widgets.patient_card import PatientCard
from console.widgets.red_flag import RedFlagBanner
from tests.console_app import make_app, scripted_call, wait_for
from tests.ehr_console import answer_and_verify
from tests.test_console_guidance import CONFIG
from tests.test_console_patients import patient, seed

LIBRARY = load_library()


async def stored_call(store_path: Path) -> CallFacts:
    """The one call the console stored, with its facts."""
    store = await Store.open(store_path)
    try:
        ((call_id,),) = await store.fetch_all("SELECT id FROM calls")
        facts = await call_facts(store, call_id)
    finally:
        await store.close()
    assert facts is not None
    return facts


async def test_red_flag_to_transfer_time_from_a_real_call(tmp_path: Path) -> None:
    app = make_app(tmp_path, CONFIG)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        sipp, _ = await scripted_call(app, pilot, tmp_path, "uac_transferee_ok.xml", "after-hours")
        await pilot.press("g", "enter", "1")
        await pilot.pause(0.5)
        await pilot.press("1")  # yes: chest pain
        banner = app.agent_screen.query_one(RedFlagBanner)
        await wait_for(pilot, lambda: bool(banner.flags), what="red flag")
        await asyncio.sleep(2.5)  # the agent hesitates before the one-key transfer
        await pilot.press("e")
        history = app.agent_screen.query_one(CallHistory)
        await wait_for(pilot, lambda: history.row_count == 1, 15, "transferred")
        assert sipp.wait() == 0, sipp.report()
    facts = await stored_call(tmp_path / "store.sqlite3")
    assert [flag["rule"] for flag in facts.red_flags] == ["chest_pain"]
    found = run_checks(facts, Thresholds(), LIBRARY)[AutomaticCheck.RED_FLAG_TRANSFER]
    assert found.outcome == "pass"
    delay = int(found.detail.split("transfer ")[1].split(" s")[0])
    assert 2 <= delay <= 10, found.detail
    strict = Thresholds(red_flag_transfer_seconds=1)
    late = run_checks(facts, strict, LIBRARY)[AutomaticCheck.RED_FLAG_TRANSFER]
    assert (late.outcome, late.detail) == (
        "fail",
        f"red flag to transfer {delay} s (limit 1 s)",
    )
    # The script stopped at the red flag (the caller was handed over mid-way), and a
    # red flag recorded with the wrap-up's default disposition does not match.
    findings = run_checks(facts, Thresholds(), LIBRARY)
    assert findings[AutomaticCheck.SCRIPT_COMPLETED].outcome == "fail"
    assert findings[AutomaticCheck.DISPOSITION_MATCHES].outcome == "fail"
    assert findings[AutomaticCheck.VERIFIED_BEFORE_DETAILS].outcome == "na"


async def test_verification_before_details_and_hold_time_from_a_real_call(
    tmp_path: Path,
) -> None:
    await seed(tmp_path / "store.sqlite3", [patient("MRN-7", "Maria", "Lopez", "1961-03-09")])
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = await answer_and_verify(pilot, app, tmp_path, scenario="uac_held_by_agent.xml")
        card = app.agent_screen.query_one(PatientCard)
        await wait_for(pilot, lambda: card.verified is not None, what="verified")
        await pilot.press("o")
        await asyncio.sleep(2.0)
        await pilot.press("o")
        history = app.agent_screen.query_one(CallHistory)
        await wait_for(pilot, lambda: history.row_count == 1, 15, "caller hung up")
        assert sipp.wait() == 0, sipp.report()
    facts = await stored_call(tmp_path / "store.sqlite3")
    findings = run_checks(facts, Thresholds(), LIBRARY)
    verified = findings[AutomaticCheck.VERIFIED_BEFORE_DETAILS]
    assert (verified.outcome, verified.alarm) == ("pass", False)
    assert findings[AutomaticCheck.HOLD_WITHIN_LIMIT].outcome == "pass"
    held = run_checks(facts, Thresholds(long_hold_seconds=1), LIBRARY)
    hold = held[AutomaticCheck.HOLD_WITHIN_LIMIT]
    assert hold.outcome == "fail"
    assert hold.detail.startswith("1 hold(s), ")
    assert findings[AutomaticCheck.RED_FLAG_TRANSFER].outcome == "na"

    # Should never happen: a detail view audited for the patient before any
    # verification (a defect, or a store written to by hand). Flagged loudly.
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        call = {
            "id": "call-2",
            "received_at": "2099-01-01T00:00:00.000Z",
            "caller": {"number": "+12025550142"},
        }
        await store.call_started(facts.agent_id, call)
        await store.call_answered("call-2", "2099-01-01T00:00:01.000Z")
        await store.call_ended(
            {"id": "call-2"},
            reason="hangup",
            ended_by="remote",
            sip_status=200,
            ended_at="2099-01-01T00:05:00.000Z",
        )
        await AuditLog(store).append(
            facts.agent_id,
            "view",
            "demographics",
            "ok",
            facts.patient_id,
            at=datetime(2099, 1, 1, 0, 1, tzinfo=UTC),
        )
        bad = await call_facts(store, "call-2")
    finally:
        await store.close()
    assert bad is not None
    alarm = run_checks(bad, Thresholds(), LIBRARY)[AutomaticCheck.VERIFIED_BEFORE_DETAILS]
    assert (alarm.outcome, alarm.alarm) == ("fail", True)
    assert alarm.detail == "DETAILS VIEWED BEFORE VERIFICATION"
