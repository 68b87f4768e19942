# SPDX-License-Identifier: GPL-2.0-or-later
"""The demo's reminder worklist: generated at launch from the demo patients, one opted
out, and the demo's target process answering the list's numbers the way the list says."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from console.core.config import load_config
from console.core.demo_worklist import (
    DEMO_ANSWERERS,
    DEMO_CALLER_ID,
    demo_answerers_json,
    demo_worklist_config,
)
from console.core.store import Store
from console.launch import _load_demo_patients
from sip.demo_caller import STRANGER, VOICE
from tests.audio_calls import capture
from tests.audio_tone import dominant_frequency, read_wav_mono16, tone_level
from tests.engine_calls import ended_as
from tests.support import ROOT, EngineProcess, free_udp_port, wait_udp_bound
from tests.tmux import TmuxSession


async def _items(path: Path) -> list[tuple[object, ...]]:
    store = await Store.open(path)
    try:
        return [
            tuple(row)
            for row in await store.fetch_all(
                """SELECT p.mrn, i.state, COALESCE(i.block_reason, ''), i.script_id, i.due_until
                   FROM worklist_items i JOIN patients p ON p.id = i.patient_id
                   WHERE i.list_id = 'appointment-reminders' ORDER BY p.mrn"""
            )
        ]
    finally:
        await store.close()


def test_the_demo_store_has_tomorrows_reminders_with_the_opt_out_blocked(
    tmp_path: Path,
) -> None:
    path = tmp_path / "demo.sqlite3"
    config = load_config(None)
    config = config.model_copy(update={"worklists": demo_worklist_config(config.worklists)})
    assert config.worklists.caller_id == DEMO_CALLER_ID
    _load_demo_patients(path, config)
    _load_demo_patients(path, config)  # a second launch adds nothing twice
    rows = asyncio.run(_items(path))
    assert [r[0] for r in rows] == [a.mrn for a in DEMO_ANSWERERS]
    states = {str(r[0]): (r[1], r[2]) for r in rows}
    assert states.pop("DEMO-0106") == ("blocked", "opted_out")
    assert set(states.values()) == {("pending", "")}
    assert {r[3] for r in rows} == {"appointment-reminder-confirmation"}
    # Tomorrow, the clinic's day (New York) — the due day is the appointment's (UTC) day.
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    assert all(abs((date.fromisoformat(str(r[4])) - tomorrow).days) <= 1 for r in rows)


@pytest.fixture
def answerers(tmp_path: Path) -> Iterator[int]:
    """The demo's target process with the worklist's answerers, on a free port."""
    port = free_udp_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sip.demo_caller",
            "--listen",
            f"127.0.0.1:{port}",
            "--lines",
            "0",
            "--answerers",
            json.dumps(demo_answerers_json()),
            "--log",
            str(tmp_path / "targets.log"),
        ],
        cwd=ROOT,
    )
    try:
        wait_udp_bound(port)  # pjsua2 up and listening
        yield port
    finally:
        proc.terminate()
        assert proc.wait(10) == 0


def test_the_worklists_numbers_answer_busy_or_ring_as_the_demo_says(
    engine: EngineProcess, answerers: int
) -> None:
    def dial(number: str) -> str:
        reply = engine.command("dial", number=f"sip:{number}@127.0.0.1:{answerers}")
        assert reply["ok"], reply
        return str(reply["result"]["call_id"])

    by = {a.answers: a.number for a in DEMO_ANSWERERS}
    busy = dial(by["busy"])
    ended_as(engine, busy, "rejected", "caller", sip_status=486)
    for answers in ("answer", "wrong_number"):
        call_id = dial(by[answers])
        engine.wait_event("call.state", call_id=call_id, state="active", timeout=10)
        assert engine.command("hangup", call=call_id)["ok"]
        ended_as(engine, call_id, "completed", "agent")
    ringing = dial(by["no_answer"])
    time.sleep(4)  # longer than any answerer takes: still not answered
    assert not [
        e
        for e in engine.events
        if e["event"] == "call.state" and e.get("call_id") == ringing and e["state"] == "active"
    ]
    assert engine.command("hangup", call=ringing)["ok"]
    engine.wait_event("call.ended", call_id=ringing)


def test_the_wrong_number_sounds_like_nobody_on_the_list(tmp_path: Path, answerers: int) -> None:
    """The patient's phone plays the patient's rising tones; the wrong number a stranger's
    low falling ones: the agent hears at once that it is not them."""
    agent = EngineProcess(tmp_path, "--allow-capture")
    agent.wait_event("engine.ready")
    heard: dict[str, list[int]] = {}
    try:
        by = {a.answers: a.number for a in DEMO_ANSWERERS}
        for answers in ("answer", "wrong_number"):
            reply = agent.command("dial", number=f"sip:{by[answers]}@127.0.0.1:{answerers}")
            assert reply["ok"], reply
            call_id = str(reply["result"]["call_id"])
            agent.wait_event("call.state", call_id=call_id, state="active", timeout=10)
            capture(agent, call_id, tmp_path / f"{answers}.wav", 3.5)
            assert agent.command("hangup", call=call_id)["ok"]
            ended_as(agent, call_id, "completed", "agent")
            rate, heard[answers] = read_wav_mono16(tmp_path / f"{answers}.wav")
    finally:
        assert agent.stop() == 0, agent.log_tail()

    def loudest(samples: list[int], tones: tuple[tuple[float, float], ...]) -> float:
        return max(tone_level(samples, rate, hz) for hz, _ in tones if hz)

    patient, stranger = heard["answer"], heard["wrong_number"]
    assert loudest(patient, VOICE) > 10 * loudest(patient, STRANGER)
    assert loudest(stranger, STRANGER) > 10 * loudest(stranger, VOICE)
    assert round(dominant_frequency(stranger, rate)) in {262, 349}


def test_careline_demo_starts_with_the_reminder_list_and_its_opt_out(isolated_home: Path) -> None:
    """The real ``careline demo`` in a terminal: its store has tomorrow's list at launch."""
    env = {k: v for k, v in os.environ.items() if k.startswith(("XDG_", "HOME", "PATH"))}
    env["TERM"] = "xterm-256color"
    session = TmuxSession([sys.executable, "-m", "console", "demo", "--interval", "60"], env)
    try:
        session.wait_for("phone online", 30)
        store = isolated_home / "xdg_data_home" / "careline" / "demo.sqlite3"
        rows = asyncio.run(_items(store))
        session.keys("q")
        time.sleep(0.5)
        if "Quit anyway?" in session.screen():
            session.keys("y")
        session.wait_for("CARELINE-EXIT 0", 20)
    finally:
        session.kill()
    assert len(rows) == len(DEMO_ANSWERERS)
    assert [r[1:3] for r in rows if r[0] == "DEMO-0106"] == [("blocked", "opted_out")]


async def _demo_bookings(path: Path) -> dict[str, list[tuple[datetime, str]]]:
    from console.core.ehr.local_scheduling import LocalScheduling

    store = await Store.open(path)
    try:
        scheduling = LocalScheduling(store)
        since = datetime.now(UTC) - timedelta(days=1)
        found = {}
        for who in DEMO_ANSWERERS:
            booked = await scheduling.bookings(who.mrn.lower(), since=since)
            found[who.mrn] = [(b.start, b.clinician) for b in booked]
        [(first,)] = await store.fetch_all(
            "SELECT appointment_start FROM worklist_items i JOIN patients p "
            "ON p.id = i.patient_id WHERE p.mrn = ?",
            (DEMO_ANSWERERS[0].mrn,),
        )
        found["item"] = [(datetime.fromisoformat(str(first).replace("Z", "+00:00")), "")]
        return found
    finally:
        await store.close()


def test_the_demos_reminded_appointments_are_in_its_own_booking(tmp_path: Path) -> None:
    """The demo books on its own schedules: the list's appointments are there too, so the
    card lists them once the patient is verified, and rescheduled or cancelled changes
    them; a second launch books nothing twice."""
    path = tmp_path / "demo.sqlite3"
    config = load_config(None)
    config = config.model_copy(update={"worklists": demo_worklist_config(config.worklists)})
    _load_demo_patients(path, config)
    _load_demo_patients(path, config)
    found = asyncio.run(_demo_bookings(path))
    [(reminded, _)] = found.pop("item")
    assert [len(booked) for booked in found.values()] == [1] * len(DEMO_ANSWERERS)
    assert found[DEMO_ANSWERERS[0].mrn] == [(reminded, "Dr. Amara Osei")]
