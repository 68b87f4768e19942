"""Snapshots of the main screen's states, at 80×24 and 160×48.

The console runs without an engine (start_phone=False) at a frozen time;
the engine's facts are fed in as the protocol events it would send. This is
the layer above the engine, so a fake is fine here; the same screens are
driven against the real engine in test_console_workspace.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.app import AppWiring, CarelineApp, create_app
from console.core.config import load_config
from console.core.demo import demo_care, demo_patients
from console.core.patients.directory import PatientDirectory
from console.core.phone import PhoneStatus
from console.core.store import Store
from console.messages import PhoneEvent, PhoneStatusChanged
from console.widgets.patient_card import PatientCard
from tests.console_app import screen_text

NOW = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("utc_local_time")


def iso(timestamp: float) -> str:
    """A protocol timestamp."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat().replace("+00:00", "Z")


def call(
    call_id: str,
    name: str,
    number: str,
    *,
    state: str = "ringing",
    waited: int = 30,
    talked: int | None = None,
    hold: bool = False,
    direction: str = "inbound",
    consult_for: str | None = None,
    transfer: dict[str, str] | None = None,
    priority: str = "",
) -> dict[str, Any]:
    """A protocol call object with times relative to NOW."""
    received = NOW.timestamp() - waited
    answered = None if talked is None else NOW.timestamp() - talked
    return {
        "id": call_id,
        "direction": direction,
        "state": state,
        "caller": {"display_name": name, "number": number, "uri": f"sip:{number}@127.0.0.1"},
        "called_uri": "sip:queue@127.0.0.1",
        "queue": "nurse-line" if direction == "inbound" else "",
        "headers": {"Priority": priority} if priority else {},
        "received_at": iso(received),
        "answered_at": iso(answered) if answered else None,
        "ended_at": None,
        "hold": {"local": hold, "remote": False},
        "muted": False,
        "auto_answered": False,
        "consult_for": consult_for,
        "consult_id": None,
        "transfer": transfer,
        "timeline": [],
    }


def hello(calls: list[dict[str, Any]]) -> dict[str, Any]:
    """The hello event an engine holding ``calls`` would send."""
    return {
        "type": "event",
        "event": "hello",
        "protocol": 1,
        "time": "2026-11-26T10:00:00.000Z",
        "status": {
            "protocol": 1,
            "listen": "127.0.0.1:5070",
            "max_calls": 4,
            "queue_capacity": 3,
            "availability": {
                "state": "available",
                "reason": "",
                "since": "2026-11-26T09:12:00.000Z",
            },
            "registration": {"state": "registered", "detail": "registered for 300 s"},
            "calls": calls,
        },
    }


STATES: dict[str, list[dict[str, Any]]] = {
    "idle": [],
    "ringing": [call("c1", "Maria Lopez", "+12025550142")],
    "two_calls_one_held": [
        call(
            "c1", "Maria Lopez", "+12025550142", state="active", waited=200, talked=180, hold=True
        ),
        call("c2", "James Okafor", "+12025550117", state="active", waited=70, talked=65),
        call("c3", "Wei Chen", "+12025550188", waited=12, priority="urgent"),
    ],
    "consult_in_progress": [
        call(
            "c1", "Maria Lopez", "+12025550142", state="active", waited=200, talked=180, hold=True
        ),
        call(
            "c2",
            "Nurse line",
            "4100",
            state="active",
            waited=20,
            talked=15,
            direction="outbound",
            consult_for="c1",
        ),
    ],
    "transfer_failed": [
        call(
            "c1",
            "Maria Lopez",
            "+12025550142",
            state="active",
            waited=200,
            talked=180,
            transfer={"kind": "blind", "target": "sip:billing@pbx.example.org", "status": "failed"},
        ),
    ],
}


def make(tmp_path: Path) -> CarelineApp:
    """A console with no engine, a frozen clock and an empty store."""
    config = load_config(environ={"CARELINE_UI__BELL": "false", "CARELINE_AGENT__NAME": "Robin"})
    wiring = AppWiring(
        engine_argv=["true"],
        socket_path=tmp_path / "none.sock",
        store_path=tmp_path / "store.sqlite3",
    )
    return create_app(config, wiring, clock=lambda: NOW, start_phone=False)


def feed(state: str) -> Callable[[Pilot[int]], Any]:
    """A run_before hook that puts the console in ``state``."""

    async def run_before(pilot: Pilot[int]) -> None:
        app = pilot.app
        assert isinstance(app, CarelineApp)
        screen = app.agent_screen
        screen.post_message(PhoneStatusChanged(PhoneStatus(True, "online", "127.0.0.1:5070")))
        screen.post_message(PhoneEvent(hello(STATES[state])))
        await pilot.pause(0.3)
        await pilot.wait_for_scheduled_animations()

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("state", list(STATES))
def test_main_screen(snap_compare: Any, tmp_path: Path, state: str, size: tuple[int, int]) -> None:
    assert snap_compare(make(tmp_path), terminal_size=size, run_before=feed(state))


def seed_demo_patients(path: Path) -> None:
    """The demo's invented patients and their context, dated from NOW."""

    async def load() -> None:
        store = await Store.open(path)
        try:
            await PatientDirectory(store, "US").import_records(
                [*demo_patients(), *demo_care(NOW.date())]
            )
        finally:
            await store.close()

    asyncio.run(load())


def patient_card(verified: bool) -> Callable[[Pilot[int]], Any]:
    """Maria rings; optionally the agent verifies her (date of birth + family name)."""
    ringing = feed("ringing")

    async def run_before(pilot: Pilot[int]) -> None:
        await ringing(pilot)
        app = pilot.app
        assert isinstance(app, CarelineApp)
        card = app.agent_screen.query_one(PatientCard)
        while card.matches is None:
            await pilot.pause(0.05)
        if verified:
            await pilot.press("v", *"1961-03-09", "enter", *"lopez", "enter")
            while card.context is None:
                await pilot.pause(0.05)
        await pilot.pause(0.3)

    return run_before


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
@pytest.mark.parametrize("verified", [False, True], ids=["greeting_only", "verified"])
def test_patient_card(
    snap_compare: Any, tmp_path: Path, verified: bool, size: tuple[int, int]
) -> None:
    """Before verification the card shows a first name and hints, nothing else."""
    seed_demo_patients(tmp_path / "store.sqlite3")
    assert snap_compare(make(tmp_path), terminal_size=size, run_before=patient_card(verified))


async def test_nothing_beyond_the_greeting_before_verification(tmp_path: Path) -> None:
    """The whole screen, not just the card: no detail of Maria's leaks anywhere."""
    await asyncio.to_thread(seed_demo_patients, tmp_path / "store.sqlite3")
    app = make(tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await patient_card(verified=False)(pilot)
        text = screen_text(app)
        assert "Greet: Maria" in text
        for detail in ("1961", "DEMO-0001", "Diabetes", "Metformin", "Moreau", "Riverside"):
            assert detail not in text
