# SPDX-License-Identifier: GPL-2.0-or-later
"""Preview dialling in the real console: outbound calls to SIPp patients (issue 19)."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import CarelineApp
from console.core.config import CarelineConfig
from console.core.store import Store
from console.core.worklists.calling import utc_text
from console.core.worklists.claims import WorklistUnavailableError
from console.core.worklists.store import Claim, Outcome, WorklistStore
from console.dialogs.choice import ChoicePicker
from console.dialogs.worklist import OutcomePicker, WorklistPreview
from console.widgets.guidance import GuidancePane
from console.widgets.status_bar import StatusBar
from tests.baresip import Baresip
from tests.console_app import make_app, screen_text, shows_toast, wait_for
from tests.support import Sipp
from tests.tiny_disk import TinyDisk
from tests.worklist_console import (
    APPOINTMENT_START,
    BIRTH,
    HOSTILE,
    audit_rows,
    config,
    dial_and_answer,
    interaction_form,
    item,
    seed,
    spoken,
    start_worklist,
    verify_claimed,
)


async def test_answered_call_runs_the_script_and_saves_confirmed(
    worklist_console: tuple[CarelineApp, Pilot[int]], tmp_path: Path, sipp_port: int
) -> None:
    app, pilot = worklist_console
    await seed(app, given=HOSTILE)
    patient = Sipp(tmp_path, "uas_target_answers.xml", port=sipp_port)
    patient.wait_listening()
    await start_worklist(app, pilot)
    text = screen_text(app)
    assert "Outbound" in str(app.agent_screen.query_one(StatusBar).render())
    # Hostile name: shown literally (markup not applied, escapes stripped); no family name.
    assert "[bold" in text
    assert "\x1b" not in text
    assert "Secret-Family" not in text
    assert "Reminder: appointment tomorrow" in text
    assert "+12125550142" in text
    assert "Attempt 1 of 3" in text
    await pilot.press("enter")
    screen = app.agent_screen
    await wait_for(
        pilot, lambda: screen.guidance.current() is not None, 15, "script running on the call"
    )
    assert screen.query_one(GuidancePane).run is not None
    assert "read exactly" in screen_text(app)
    await pilot.press("h")
    await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), 15, "outcome picker")
    await pilot.press("1")  # confirmed
    await wait_for(pilot, lambda: screen.worklist.attempt is None, what="saved")
    await pilot.pause(0.3)
    assert (await item(app))[:3] == ("done", 1, "confirmed")
    disposition, form = await interaction_form(app)
    assert disposition == "worklist_confirmed"
    assert form["direction"] == "outbound"
    assert form["worklist"] == "appointment-reminders"
    assert patient.wait() == 0, patient.report()


@pytest.mark.parametrize(
    ("scenario", "proposed", "outcome"),
    [
        ("uas_target_busy.xml", "Busy", "busy"),  # 486
        ("uas_target_never_answers.xml", "No answer", "no_answer"),  # given up after 5 s
    ],
)
async def test_a_failed_call_proposes_its_outcome_and_is_retried_later(
    worklist_console: tuple[CarelineApp, Pilot[int]],
    tmp_path: Path,
    sipp_port: int,
    scenario: str,
    proposed: str,
    outcome: str,
) -> None:
    app, pilot = worklist_console
    await seed(app)
    patient = Sipp(tmp_path, scenario, port=sipp_port)
    patient.wait_listening()
    await start_worklist(app, pilot)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), 20, "outcome picker")
    assert f"proposed: {proposed}" in screen_text(app)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.agent_screen.worklist.attempt is None, what="saved")
    await pilot.pause(0.3)
    state, attempts, saved, next_at = await item(app)
    assert (state, attempts, saved) == ("pending", 1, outcome)
    assert next_at > utc_text(app.services.clock())
    assert patient.wait() == 0, patient.report()


async def test_a_call_that_ends_before_the_dial_reply_still_asks_for_its_outcome(
    worklist_console: tuple[CarelineApp, Pilot[int]], tmp_path: Path, sipp_port: int
) -> None:
    """The engine's events for a dialled call may be read before its reply to ``dial``
    (the reply only wakes the dial worker): a busy patient's call has then ended before
    the worklist knows its call id, and its outcome must still be asked for."""
    app, pilot = worklist_console
    await seed(app)
    patient = Sipp(tmp_path, "uas_target_busy.xml", port=sipp_port)
    patient.wait_listening()
    await start_worklist(app, pilot)
    screen, phone = app.agent_screen, app.services.phone
    ended = asyncio.Event()
    apply, command = screen.desk.apply, phone.command

    def seen(event: Any) -> Any:
        if type(event).__name__ == "CallEnded":
            ended.set()
        return apply(event)

    async def late_reply(cmd: str, **args: Any) -> dict[str, Any]:
        reply = await command(cmd, **args)
        if cmd == "dial":
            await asyncio.wait_for(ended.wait(), 20)  # the desk has let the call go
        return reply

    screen.desk.apply = seen  # type: ignore[method-assign]
    phone.command = late_reply  # type: ignore[method-assign]
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), 20, "outcome picker")
    assert "proposed: Busy" in screen_text(app)
    await pilot.press("enter")
    await wait_for(pilot, lambda: screen.worklist.attempt is None, what="saved")
    assert (await item(app))[:3] == ("pending", 1, "busy")
    assert not screen.guidance.runs  # no script left running for the ended call
    assert patient.wait() == 0, patient.report()


async def test_opted_out_blocks_the_patient_at_once(
    worklist_console: tuple[CarelineApp, Pilot[int]], tmp_path: Path, sipp_port: int
) -> None:
    app, pilot = worklist_console
    await seed(app)
    async with app.services.store.transaction() as db:
        await db.execute(
            """INSERT INTO worklist_items SELECT 'i2', 'visit-feedback', 'feedback', 'k2',
                   patient_id, reason, 'feedback-survey', due_from, due_until, generated_on,
                   0, 1, 0, '2999-01-01T00:00:00Z', 'pending', NULL, NULL, NULL, NULL, NULL,
                   updated_at, NULL, NULL, '', '' FROM worklist_items WHERE id = 'i1'"""
        )
    patient = Sipp(tmp_path, "uas_target_answers.xml", port=sipp_port)
    patient.wait_listening()
    await start_worklist(app, pilot)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.agent_screen.guidance.current() is not None, 15, "answered")
    await pilot.press("h")  # hung up mid-script
    await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), 15, "outcome picker")
    await pilot.press("b", "8")  # opted out, and asks for a callback
    await wait_for(pilot, lambda: app.agent_screen.worklist.attempt is None, what="saved")
    await pilot.pause(0.3)
    assert (await item(app))[:3] == ("done", 1, "opted_out")
    rows = await app.services.store.fetch_all("SELECT patient_id FROM worklist_opt_outs")
    assert rows == [("p1",)]
    # Every other list's item for the patient is blocked at once.
    other = await app.services.store.fetch_all("SELECT state FROM worklist_items WHERE id = 'i2'")
    assert other == [("blocked",)]
    callbacks = await app.services.interactions.callbacks(app.services.clock().replace(year=2999))
    assert [c.patient_id for c in callbacks] == ["p1"]
    assert patient.wait() == 0, patient.report()


async def test_skip_puts_the_item_back_for_later_and_esc_leaves(
    worklist_console: tuple[CarelineApp, Pilot[int]],
) -> None:
    app, pilot = worklist_console
    await seed(app)
    await start_worklist(app, pilot)
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, ChoicePicker), what="skip reasons")
    await pilot.press("enter")  # not now: back in an hour
    await wait_for(pilot, lambda: app.agent_screen.worklist.attempt is None, what="skipped")
    await pilot.pause(0.3)
    state, attempts, _, next_at = await item(app)
    assert (state, attempts) == ("pending", 0)
    assert next_at > utc_text(app.services.clock())
    assert not isinstance(app.screen, WorklistPreview)  # nothing else is due
    await pilot.press("W")  # stop
    await pilot.pause(0.2)
    assert "Outbound" not in str(app.agent_screen.query_one(StatusBar).render())


async def test_a_baresip_patient_who_hangs_up_mid_script(tmp_path: Path) -> None:
    """An independent softphone answers the reminder call and hangs up while the script
    runs: the agent is asked for the outcome with nothing proposed (it was answered), the
    script worked so far is kept with the call, and "no answer" puts the item back."""
    phone = Baresip(tmp_path, user="+12125550142", auto_answer=True)  # answers its number only
    phone.start()
    try:
        app = make_app(tmp_path, config(f"127.0.0.1:{phone.sip_port}"))
        async with app.run_test(size=(120, 36), notifications=True) as pilot:
            await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
            await seed(app)
            await start_worklist(app, pilot)
            await pilot.press("enter")
            screen = app.agent_screen
            await wait_for(
                pilot,
                lambda: screen.worklist.attempt is not None and screen.worklist.attempt.answered,
                15,
                "answered",
            )
            assert phone.wait_event("CALL_ESTABLISHED")["direction"] == "incoming"
            assert screen.guidance.current() is not None  # the script is running
            phone.hangup()  # the patient hangs up mid-script
            await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), 15, "outcome")
            assert "proposed" not in screen_text(app)  # answered: the agent knows best
            await pilot.press("5")  # no answer (reached, but not through the reminder)
            await wait_for(pilot, lambda: screen.worklist.attempt is None, what="saved")
            await pilot.pause(0.3)
            state, attempts, outcome, _ = await item(app)
            assert (state, attempts, outcome) == ("pending", 1, "no_answer")  # tried again
            disposition, form = await interaction_form(app)
            assert disposition == "worklist_no_answer"
            assert form["direction"] == "outbound"
    finally:
        phone.stop()


class FlakyClaims:
    """This machine's claims, except that the methods named in ``down`` fail the way the
    hub's claimer does when the hub is down (the layer above is what is tested)."""

    def __init__(self, inner: WorklistStore) -> None:
        self.inner = inner
        self.down: set[str] = set()

    def _check(self, name: str) -> None:
        if name in self.down:
            raise WorklistUnavailableError("the hub did not answer in 5 s")

    async def claim_next(self, agent_id: str, now: datetime, list_id: str | None = None) -> Any:
        self._check("claim_next")
        return await self.inner.claim_next(agent_id, now, list_id)

    async def renew(self, claim: Claim, now: datetime) -> Claim | None:
        self._check("renew")
        return await self.inner.renew(claim, now)

    async def record(self, claim: Claim, outcome: Outcome, now: datetime) -> bool:
        self._check("record")
        return await self.inner.record(claim, outcome, now)

    async def release(self, claim: Claim, now: datetime, until: datetime | None = None) -> None:
        self._check("release")
        await self.inner.release(claim, now, until)

    async def opt_out(self, patient_id: str, now: datetime, source: str = "") -> None:
        self._check("opt_out")
        await self.inner.opt_out(patient_id, now, source)


async def test_a_worklist_that_cannot_be_reached_is_said_and_nothing_is_lost(
    tmp_path: Path, sipp_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    flaky: list[FlakyClaims] = []

    def claims(store: Store, config: CarelineConfig) -> FlakyClaims:
        flaky.append(FlakyClaims(WorklistStore(store, config.worklists)))
        return flaky[-1]

    monkeypatch.setattr("console.services._worklists", claims)
    app = make_app(tmp_path, config(f"127.0.0.1:{sipp_port}"))
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        await seed(app)
        [hub] = flaky
        hub.down = {"claim_next", "release"}
        await pilot.press("W")
        await wait_for(pilot, lambda: shows_toast(app, "cannot be reached"), what="said")
        assert not isinstance(app.screen, WorklistPreview)
        await pilot.press("W")  # leave (a release that fails lets the lease lapse)
        hub.down = set()
        await start_worklist(app, pilot)  # back: the item is offered

        patient = Sipp(tmp_path, "uas_target_answers.xml", port=sipp_port)
        patient.wait_listening()
        await pilot.press("enter")
        screen = app.agent_screen
        await wait_for(pilot, lambda: screen.guidance.current() is not None, 15, "answered")
        hub.down = {"record"}
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), 15, "outcome")
        await pilot.press("1")  # confirmed: the hub is down, so it is asked again
        await wait_for(pilot, lambda: shows_toast(app, "Outcome not saved"), what="not saved")
        await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), what="asked again")
        hub.down = set()
        await pilot.press("1")
        await wait_for(pilot, lambda: screen.worklist.attempt is None, what="saved")
        await pilot.pause(0.3)
        assert (await item(app))[:3] == ("done", 1, "confirmed")
        assert patient.wait() == 0, patient.report()


async def test_a_full_disk_when_the_outcome_is_saved_is_said_and_it_is_asked_again(
    tmp_path: Path, sipp_port: int, tiny_disk: TinyDisk
) -> None:
    """The disk holding the local list is full when the agent picks the outcome: the
    console stays up, says why and asks for it again; once space returns, the outcome
    picked again is saved."""
    app = make_app(tmp_path, config(f"127.0.0.1:{sipp_port}"))
    app.wiring = dataclasses.replace(app.wiring, store_path=tiny_disk.path / "store.sqlite3")
    app.held.retry_s = 0.3
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20, "phone online")
        await seed(app)
        patient = Sipp(tmp_path, "uas_target_answers.xml", port=sipp_port)
        patient.wait_listening()
        screen = app.agent_screen
        await dial_and_answer(app, pilot)
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), 15, "outcome")
        tiny_disk.fill()
        await pilot.press("1")  # confirmed: the list cannot take it now
        await wait_for(pilot, lambda: shows_toast(app, "Outcome not saved"), what="not saved")
        assert shows_toast(app, "is full")
        await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), what="asked again")
        assert app.is_running
        assert (await item(app))[2] is None
        tiny_disk.free()
        await pilot.press("1")
        await wait_for(pilot, lambda: screen.worklist.attempt is None, what="saved")
        await wait_for(pilot, lambda: app.held.count == 0, 10, "held writes saved")
        assert (await item(app))[:3] == ("done", 1, "confirmed")
        assert patient.wait() == 0, patient.report()


async def test_the_call_is_a_screen_pop_and_v_verifies_the_claimed_patient(
    worklist_console: tuple[CarelineApp, Pilot[int]], tmp_path: Path, sipp_port: int
) -> None:
    """Before verification the card greets by first name and says why (as an inbound
    screen pop), the script names no day; v checks two identifiers against the claimed
    patient, audited; then the details show (a view, audited) and the day is said."""
    app, pilot = worklist_console
    await seed(app, given=HOSTILE)
    async with app.services.store.transaction() as db:  # a hub's reason is untrusted too
        await db.execute(
            "UPDATE worklist_items SET reason = ? WHERE id = 'i1'",
            ("Reminder: [red]x[/] \x1b[2J\u202eappointment tomorrow",),
        )
    patient = Sipp(tmp_path, "uas_target_answers.xml", port=sipp_port)
    patient.wait_listening()
    card = await dial_and_answer(app, pilot)
    screen = app.agent_screen
    shown = card.render().plain  # the card's own text (the pane wraps it on screen)
    assert shown.startswith("Greet: [bold\n")  # the first given name, literal, never markup
    assert "Calling about: Reminder: [red]x[/] " in shown
    assert "\x1b" not in shown
    assert "\u202e" not in shown
    text = screen_text(app)
    assert "\x1b" not in text
    for secret in ("Secret-Family", "MRN1", BIRTH, "Secret-Service", "Dr Secret"):
        assert secret not in text
    day = spoken(APPOINTMENT_START)
    call_id = screen.worklist.attempt.call_id if screen.worklist.attempt else None
    assert call_id is not None
    run = screen.guidance.runs[call_id]
    assert run.context.get("patient.next_appointment") is None  # not before verification
    assert day not in text

    await verify_claimed(app, pilot, dob="1999-01-01")  # a wrong date of birth: refused
    await wait_for(pilot, lambda: "do not match" in screen_text(app), what="refused")
    await pilot.press("escape")
    assert card.verified is None
    await verify_claimed(app, pilot)
    await wait_for(pilot, lambda: card.context is not None, what="verified card")
    shown = card.render().plain
    assert "✓ verified" in shown
    assert "MRN MRN1" in shown
    # The reminder's own appointment, once the verification is announced (a message).
    await wait_for(
        pilot, lambda: run.context.get("patient.next_appointment") == day, what="day said"
    )
    # The voicemail stays minimum-necessary even now: no day, service or clinician.
    voicemail = " ".join(text for _, text in screen.guidance.previsit[call_id].parts)
    assert "Please call us back on 555-0100" in voicemail
    for detail in (day, "Secret-Service", "Dr Secret", "2031"):
        assert detail not in voicemail
    rows = await audit_rows(app)
    verifications = [r for r in rows if r[0] == "verify"]
    # As on an inbound call: a failed attempt names nobody, the pass names the patient.
    assert [(r[1], r[3]) for r in verifications] == [(None, "fail"), ("p1", "pass")]
    views = [r for r in rows if r[0] == "view" and r[1] == "p1"]
    assert views, rows  # the card's details are a patient view
    linked = await app.services.store.fetch_all(
        "SELECT patient_id FROM calls WHERE id = ?", (call_id,)
    )
    assert linked == [("p1",)]

    await pilot.press("h")
    await wait_for(pilot, lambda: isinstance(app.screen, OutcomePicker), 15, "outcome picker")
    assert card.verified is None  # the card forgets the patient with the call
    await pilot.press("1")
    await wait_for(pilot, lambda: screen.worklist.attempt is None, what="saved")
    assert patient.wait() == 0, patient.report()
