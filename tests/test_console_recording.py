# SPDX-License-Identifier: GPL-2.0-or-later
"""Recording in the real console (real engine, SIPp patient): the badge, the pause key,
consent asked of the agent, the verification form pausing it (also when the recording
started unseen, the link to the engine down), the store's rows and audit;
a full disk during the hourly purge or the upload to the hub, said once and caught up."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from textual.pilot import Pilot

from console.app import CarelineApp
from console.core.audit import AuditLog
from console.core.patients.directory import PatientDirectory
from console.core.recordings.keys import recordings_key
from console.core.recordings.sealing import new_key_pair, unseal
from console.core.store import Store
from console.dialogs.confirm import ConfirmDialog
from console.dialogs.dtmf_pad import DtmfPad
from console.dialogs.verify import VerifyDialog
from console.hub.recordings import HubRecording, fetch, listing
from console.widgets.recording_badge import RecordingBadge
from sip.recording_file import decrypt_recording, read_recording
from tests.audio_tone import write_tone_wav
from tests.console_app import (
    engine_beside,
    make_app,
    screen_text,
    shows_toast,
    sip_port,
    talking,
    toasts,
    wait_for,
)
from tests.patients import patient_record
from tests.pg import Hub
from tests.recording_calls import ANNOUNCEMENT_TONE, hub_login_yaml
from tests.support import Sipp
from tests.tiny_disk import TinyDisk

PHONE = "+12025550142"


async def seed(path: Path) -> None:
    """One patient on the caller's number, so the verification form can open."""
    store = await Store.open(path)
    try:
        record = patient_record("MRN-7", "Maria", "Lopez", "1961-03-09", phone=PHONE)
        await PatientDirectory(store, "US").import_records([record])
    finally:
        await store.close()


def config(directory: Path) -> str:
    return (
        "audio:\n  mode: none\n"
        f"recording:\n  directory: {directory}\n"
        "  queues:\n    '*':\n      mode: consent\n      retention_days: 7\n"
        "      pause_forms: [verify, keypad]\n"
    )


async def consented(
    app: CarelineApp, pilot: Pilot[int], tmp_path: Path
) -> tuple[Sipp, RecordingBadge]:
    """A SIPp patient (on the seeded patient's number) answered; the badge asks for consent
    and the agent records the patient's yes (R, then y): SIPp and the badge, recording."""
    await wait_for(pilot, lambda: app.phone.status.online, 20)
    sipp = Sipp(tmp_path, "uac_agent_hangs_up.xml", sip_port(app), callers=[("M Lopez", PHONE)])
    await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ringing")
    await pilot.press("a")
    await wait_for(pilot, lambda: talking(app), what="answered")
    badge = app.agent_screen.query_one(RecordingBadge)
    await wait_for(pilot, lambda: badge.state == "awaiting_consent", what="consent asked")
    assert "REC? awaiting consent" in str(badge.render())
    await pilot.press("R")
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="question")
    await pilot.press("y")
    await wait_for(pilot, lambda: badge.state == "recording", what="recording")
    return sipp, badge


async def hang_up(pilot: Pilot[int], sipp: Sipp, badge: RecordingBadge) -> None:
    """The agent hangs up (h) a little after the last step; the recording ends with the call."""
    await pilot.pause(0.5)
    await pilot.press("h")
    assert sipp.wait() == 0, sipp.report()
    await wait_for(pilot, lambda: badge.state == "", what="badge gone with the call")
    await pilot.pause(0.5)


async def close_the_form(
    app: CarelineApp, pilot: Pilot[int], sipp: Sipp, badge: RecordingBadge
) -> None:
    """The verify form, still open, has paused the recording: the agent closes it a second
    later (the recording resumes) and hangs up."""
    assert isinstance(app.screen, VerifyDialog)
    await pilot.pause(1.0)
    await pilot.press("escape")
    await wait_for(pilot, lambda: badge.state == "recording", what="resumed after the form")
    await hang_up(pilot, sipp, badge)


async def paused_once_by_the_form(tmp_path: Path) -> object:
    """After the call: its recording was paused once, by the verify form, and resumed when
    the form closed, in the store and in the file's marks. Who consented, as stored."""
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        pauses = await store.fetch_all(
            "SELECT reason, resumed_at IS NOT NULL FROM recording_pauses ORDER BY paused_at"
        )
        (row,) = await store.fetch_all("SELECT consent_by, file FROM recordings")
    finally:
        await store.close()
    assert [tuple(p) for p in pauses] == [("verify", 1)]
    key = recordings_key(tmp_path / "recordings", None).key
    recording = read_recording(Path(row[1]), key)
    assert [(m["fact"], m.get("reason")) for m in recording.marks] == [
        ("start", None),
        ("pause", "verify"),
        ("resume", "form"),
    ]
    return row[0]


async def test_the_agent_records_consent_pauses_and_the_verify_form_pauses_too(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "recordings"
    await seed(tmp_path / "store.sqlite3")
    app = make_app(tmp_path, config(directory))
    async with app.run_test(size=(200, 40)) as pilot:  # wide: the whole footer shows
        sipp, badge = await consented(app, pilot, tmp_path)
        assert "● REC" in str(badge.render())
        assert "R Rec pause" in screen_text(app)  # the footer offers the key now
        await pilot.pause(1.0)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, VerifyDialog), what="verify form")
        await wait_for(pilot, lambda: badge.state == "paused", what="paused by the form")
        await pilot.pause(1.0)
        await pilot.press("escape")
        await wait_for(pilot, lambda: badge.state == "recording", what="resumed after the form")
        await pilot.press("number_sign")
        await wait_for(pilot, lambda: isinstance(app.screen, DtmfPad), what="keypad")
        await wait_for(pilot, lambda: badge.state == "paused", what="paused by the keypad")
        await pilot.press("escape")
        await wait_for(pilot, lambda: badge.state == "recording", what="resumed after the pad")
        await pilot.press("R")
        await wait_for(pilot, lambda: badge.state == "paused", what="paused by the key")
        assert "PAUSED" in str(badge.render())
        await pilot.press("R")
        await wait_for(pilot, lambda: badge.state == "recording", what="resumed by the key")
        await hang_up(pilot, sipp, badge)
    store = await Store.open(tmp_path / "store.sqlite3")
    try:
        (row,) = await store.fetch_all(
            "SELECT call_id, mode, consent_by, state, retention_days, file FROM recordings"
        )
        assert tuple(row[1:5]) == ("consent", "agent", "stopped", 7)
        pauses = await store.fetch_all(
            "SELECT reason, resumed_at IS NOT NULL FROM recording_pauses ORDER BY paused_at"
        )
        assert [tuple(p) for p in pauses] == [("verify", 1), ("keypad", 1), ("agent", 1)]
        actions = await store.fetch_all(
            "SELECT action, outcome FROM audit WHERE category = 'recording' ORDER BY seq"
        )
        assert [tuple(a) for a in actions] == [
            ("record_start", "ok"),
            ("record_pause", "ok"),
            ("record_resume", "ok"),
            ("record_pause", "ok"),
            ("record_resume", "ok"),
            ("record_pause", "ok"),
            ("record_resume", "ok"),
            ("record_stop", "ok"),
        ]
        assert (await AuditLog(store).verify()).ok
    finally:
        await store.close()
    key = recordings_key(directory, None).key
    for name in ("engine.log", "engine.err"):
        written = (tmp_path / name).read_bytes() if (tmp_path / name).exists() else b""
        assert base64.b64encode(key) not in written
        assert key.hex().encode() not in written
    recording = read_recording(Path(row[5]), key)
    assert recording.complete
    facts = [m["fact"] for m in recording.marks]
    assert facts == ["start"] + ["pause", "resume"] * 3
    reasons = [m.get("reason") for m in recording.marks[1:]]
    assert reasons == ["verify", "form", "keypad", "form", "agent", "agent"]


async def test_a_recording_that_started_while_the_link_was_down_is_resynced_at_hello(
    tmp_path: Path,
) -> None:
    """The verify form is open while consent is awaited; the console's link to its
    (attached) engine drops, and the patient's 1 starts the recording meanwhile, unseen.
    At the engine's hello the console asks how the recording stands: it shows it, and the
    form still open pauses it, so the verification answers are not recorded (review 1f)."""
    directory = tmp_path / "recordings"
    await seed(tmp_path / "store.sqlite3")
    app = make_app(tmp_path, config(directory))
    with engine_beside(app):
        async with app.run_test(size=(200, 40)) as pilot:
            await wait_for(pilot, lambda: app.phone.status.online, 20)
            assert app.phone.attached
            # The patient presses 1 four seconds after the answer.
            sipp = Sipp(
                tmp_path, "uac_consents_late.xml", sip_port(app), callers=[("M Lopez", PHONE)]
            )
            await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ringing")
            await pilot.press("a")
            badge = app.agent_screen.query_one(RecordingBadge)
            await wait_for(pilot, lambda: badge.state == "awaiting_consent", what="consent asked")
            await pilot.press("v")
            await wait_for(pilot, lambda: isinstance(app.screen, VerifyDialog), what="verify form")
            app.phone.restart_delay = 8.0  # back well after the patient's 1
            writer = app.phone._writer  # the link drops (the engine keeps the call)
            assert writer is not None
            writer.close()
            await wait_for(pilot, lambda: not app.phone.status.online, what="link down")
            await wait_for(pilot, lambda: app.phone.status.online, 20, "attached again")
            await wait_for(pilot, lambda: badge.state == "paused", 10, "resynced, paused by form")
            await close_the_form(app, pilot, sipp, badge)
    assert await paused_once_by_the_form(tmp_path) == "patient"


async def test_a_stopped_recording_reaches_the_hub_sealed_for_qa(tmp_path: Path, hub: Hub) -> None:
    new_key_pair(tmp_path / "qa.pem", tmp_path / "qa.pub")
    directory = tmp_path / "recordings"
    hub.add_agent("alice")
    text = hub_login_yaml(tmp_path, hub, "alice") + config(directory)
    app = make_app(tmp_path, text + f"  qa_public_key: {tmp_path / 'qa.pub'}\n")
    async with app.run_test(size=(160, 40)) as pilot:
        sipp, _badge = await consented(app, pilot, tmp_path)
        await pilot.pause(1.0)
        await pilot.press("h")
        assert sipp.wait() == 0, sipp.report()
        sam = hub.add_supervisor("sam")
        hub.team("north", "sam", "alice")  # a supervisor reads their teams' recordings
        found: list[HubRecording] = []

        async def on_hub() -> bool:
            async with await psycopg.AsyncConnection.connect(sam) as conn:
                found[:] = await listing(conn)
            return bool(found)

        deadline = asyncio.get_running_loop().time() + 15
        while not await on_hub():
            assert asyncio.get_running_loop().time() < deadline, "the recording never reached"
            await pilot.pause(0.2)
    (recording,) = found
    assert (recording.agent_id, recording.mode, recording.consent_by) == (
        "alice",
        "consent",
        "agent",
    )
    async with await psycopg.AsyncConnection.connect(sam) as conn:
        fetched = await fetch(conn, recording.call_id)
    assert fetched is not None
    key = unseal(fetched.sealed_key, (tmp_path / "qa.pem").read_bytes())
    assert decrypt_recording(fetched.data, key).complete


@pytest.mark.parametrize("starts", ["awaiting_consent", "announcing"])
async def test_a_form_open_before_the_recording_starts_pauses_it_when_it_starts(
    tmp_path: Path, starts: str
) -> None:
    """The verify form opens while the recording waits for the patient's 1 (consent) or for
    its announcement to end: when it starts, the form pauses it, so the answers to the
    verification questions are not recorded; closing the form resumes it (review 1f)."""
    directory = tmp_path / "recordings"
    await seed(tmp_path / "store.sqlite3")
    text, scenario = config(directory), "uac_consents_late.xml"  # the patient's 1 after 4 s
    if starts == "announcing":
        wav = tmp_path / "announcement.wav"
        write_tone_wav(wav, ANNOUNCEMENT_TONE, 4.0, rate=16000)
        text = text.replace("mode: consent", f"mode: announce\n      announcement: {wav}")
        scenario = "uac_agent_hangs_up.xml"
    app = make_app(tmp_path, text)
    async with app.run_test(size=(200, 40)) as pilot:
        await wait_for(pilot, lambda: app.phone.status.online, 20)
        sipp = Sipp(tmp_path, scenario, sip_port(app), callers=[("M Lopez", PHONE)])
        await wait_for(pilot, lambda: bool(app.agent_screen.queue.ringing()), what="ringing")
        await pilot.press("a")
        badge = app.agent_screen.query_one(RecordingBadge)
        await wait_for(pilot, lambda: badge.state == starts, what=starts)
        await pilot.press("v")
        await wait_for(pilot, lambda: isinstance(app.screen, VerifyDialog), what="verify form")
        assert badge.state == starts, "the form must open before the recording starts"
        await wait_for(pilot, lambda: badge.state == "paused", 15, "started, paused by the form")
        await close_the_form(app, pilot, sipp, badge)
    await paused_once_by_the_form(tmp_path)


async def test_a_full_disk_during_the_purge_is_said_once_and_the_purge_finishes_later(
    tmp_path: Path, tiny_disk: TinyDisk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A recording comes past its retention while the store's disk is full: the hourly
    purge (every second here) cannot mark it deleted. The console stays up and says so
    once; once space returns, the next purge deletes it, audited once."""
    monkeypatch.setattr("console.controllers.recording.PURGE_EVERY_SECONDS", 1.0)
    path = tiny_disk.path / "store.sqlite3"
    old = tmp_path / "old.rec"
    old.write_bytes(b"sealed audio")
    expires = datetime.now(UTC) - timedelta(days=7) + timedelta(seconds=12)
    store = await Store.open(path)
    try:
        async with store.transaction() as db:
            await db.execute(
                "INSERT INTO recordings (call_id, agent_id, mode, file, state, started_at, "
                "retention_days) VALUES ('old-call', 'agent', 'consent', ?, 'stopped', ?, 7)",
                (str(old), expires.strftime("%Y-%m-%dT%H:%M:%SZ")),
            )
    finally:
        await store.close()
    app = make_app(tmp_path, config(tmp_path / "recordings"))
    app.wiring = dataclasses.replace(app.wiring, store_path=path)
    app.held.retry_s = 0.3
    said = "Old recordings not deleted now"
    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        tiny_disk.fill()  # before it expires: every purge from then on meets a full disk
        await wait_for(pilot, lambda: shows_toast(app, said), 25, "the purge's failure said")
        assert "full" in next(toast for toast in toasts(app) if said in toast)
        await pilot.pause(2.5)  # more purges fail: said once
        assert app.is_running
        assert sum(said in toast for toast in toasts(app)) == 1
        states = await app.services.store.fetch_all("SELECT state FROM recordings")
        assert states == [("stopped",)]
        tiny_disk.free()

        async def deleted() -> bool:
            rows = await app.services.store.fetch_all("SELECT state FROM recordings")
            return rows == [("deleted",)]

        deadline = asyncio.get_running_loop().time() + 10
        while not await deleted():
            assert asyncio.get_running_loop().time() < deadline, "never deleted"
            await pilot.pause(0.2)
        await wait_for(pilot, lambda: app.held.count == 0, 5, "held audit saved")
        audit = await app.services.store.fetch_all(
            "SELECT outcome FROM audit WHERE action = 'record_delete'"
        )
        assert audit == [("ok",)]
    assert not old.exists()


async def test_a_full_disk_when_an_upload_is_marked_sent_is_said_once_and_retried(
    tmp_path: Path, hub: Hub, tiny_disk: TinyDisk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub takes a stopped recording but the store's disk is full when the console
    marks it sent: the console stays up and says so once; once space returns, the next
    round marks it (the hub keeps one copy)."""
    monkeypatch.setattr("console.controllers.recording.PURGE_EVERY_SECONDS", 1.0)
    keys = tmp_path / "keys"
    keys.mkdir()
    new_key_pair(keys / "qa.pem", keys / "qa.pub")
    public = tmp_path / "qa.pub"  # not there until the disk is full: nothing goes before
    hub.add_agent("alice")
    text = hub_login_yaml(tmp_path, hub, "alice") + config(tmp_path / "recordings")
    app = make_app(tmp_path, text + f"  qa_public_key: {public}\n")
    app.wiring = dataclasses.replace(app.wiring, store_path=tiny_disk.path / "store.sqlite3")
    app.held.retry_s = 0.3
    said = "Recordings not sent to the hub now"

    async def states() -> list[tuple[object, ...]]:
        rows = await app.services.store.fetch_all(
            "SELECT state, uploaded_at IS NOT NULL FROM recordings"
        )
        return [tuple(row) for row in rows]

    async def until(what: str, wanted: list[tuple[object, ...]]) -> None:
        deadline = asyncio.get_running_loop().time() + 15
        while await states() != wanted:
            assert asyncio.get_running_loop().time() < deadline, what
            await pilot.pause(0.2)

    async with app.run_test(size=(160, 40), notifications=True) as pilot:
        sipp, badge = await consented(app, pilot, tmp_path)
        await pilot.pause(0.5)
        await hang_up(pilot, sipp, badge)
        await until("the recording stopped on disk", [("stopped", 0)])
        tiny_disk.fill()
        public.write_bytes((keys / "qa.pub").read_bytes())
        await wait_for(pilot, lambda: shows_toast(app, said), 15, "the upload's failure said")
        await pilot.pause(2.5)  # more rounds fail: said once
        assert app.is_running
        assert sum(said in toast for toast in toasts(app)) == 1
        assert await states() == [("stopped", 0)]
        tiny_disk.free()
        await until("marked sent", [("stopped", 1)])
    sam = hub.add_supervisor("sam")
    hub.team("north", "sam", "alice")  # a supervisor reads their teams' recordings
    async with await psycopg.AsyncConnection.connect(sam) as conn:
        assert len(await listing(conn)) == 1  # sent twice, kept once
