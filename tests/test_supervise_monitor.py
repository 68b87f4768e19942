# SPDX-License-Identifier: GPL-2.0-or-later
"""Listening in from the wallboard (issue 20): ``careline supervise``'s own phone starts at
the first key; 1 on an agent who is on a call joins it in listen mode, 2 switches to
whisper, x leaves; the agent's engine, on a real call with a patient engine, decides
with a hub grant the wallboard made as the supervisor's login (for an agent of the
supervisor's team)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NamedTuple

import pytest
from textual.pilot import Pilot

from console.core.config import load_config
from console.floor_view.app import SupervisorApp
from console.floor_view.monitor import FloorMonitor, GrantMaker, LocalGrantMaker, floor_monitor
from console.hub.connection import hub_connector
from console.hub.monitor_grants import HubGrants
from tests.audio_calls import PATIENT_TONE
from tests.baresip import Baresip
from tests.console_app import toasts, wait_for
from tests.monitor_calls import (
    HEARD,
    LISTEN_SECONDS,
    SUPERVISOR_TONE,
    Ear,
    Floor,
    levels,
    monitored_floor,
)
from tests.pg import Hub
from tests.test_supervise import Agents, make, settle

pytestmark = pytest.mark.usefixtures("utc_local_time")


def wallboard_monitor(tmp_path: Path, supervisor_dsn: str) -> FloorMonitor:
    """The wallboard's monitor as ``careline supervise`` builds it: no headset, a tone."""
    config = tmp_path / "supervise.yaml"
    config.write_text(f"audio:\n  mode: none\nsip:\n  audio_source: tone:{int(SUPERVISOR_TONE)}\n")
    monitor = floor_monitor(load_config(config, environ={}), supervisor_dsn)
    assert monitor is not None
    return monitor


async def agent_decides(floor: Floor, alice: HubGrants) -> None:
    """The agent's console: the request's grant, checked with the hub, accepted."""
    request = await asyncio.to_thread(floor.agent.wait_event, "monitor.request", 20)
    grant = await alice.verify(request["grant"], request["mode"], [floor.patient_call])
    await asyncio.to_thread(floor.accept, request, grant)


async def alice_on_a_call(hub: Hub, floor: Floor) -> Agents:
    """Alice talks with the floor's patient, as her console publishes it to the hub."""
    floor.call_in()
    agents = Agents(hub)
    contact = f"sip:agent@127.0.0.1:{floor.agent.port}"
    await agents.state(
        "alice", "Alice", "available", 60, on_call=30, call_id=floor.patient_call, contact=contact
    )
    return agents


async def no_more_requests(floor: Floor) -> None:
    """No other monitor request reached the agent's engine (a second leg would have)."""
    await asyncio.sleep(1.5)
    await asyncio.to_thread(floor.agent.command, "ping")  # reads what came meanwhile
    assert [e for e in floor.agent.events if e["event"] == "monitor.request"] == []


async def monitor_keys_done(app: SupervisorApp) -> None:
    """Every listening-in key's work has finished."""
    keys = [worker for worker in app.workers if worker.group == "monitor"]
    if keys:  # (none given, Textual waits for every worker: the floor's never ends)
        await app.workers.wait_for_complete(keys)


JOINING = "Joining Alice's call to {}… (x cancels)"


class HeldGrants:
    """A grant maker that makes its grants only once :attr:`release` is set."""

    def __init__(self, grants: GrantMaker) -> None:
        self.grants = grants
        self.release = asyncio.Event()

    async def make(self, agent_id: str, call_id: str, modes: tuple[str, ...]) -> str:
        """The wrapped maker's grant, once released."""
        await self.release.wait()
        return await self.grants.make(agent_id, call_id, modes)


class Watching(NamedTuple):
    """A wallboard on a hub where Alice, of the supervisor's team, talks with a patient."""

    app: SupervisorApp
    pilot: Pilot[int]
    monitor: FloorMonitor
    floor: Floor
    alice: HubGrants
    """Alice's console's grant book."""


@asynccontextmanager
async def watching_alice(hub: Hub, tmp_path: Path) -> AsyncIterator[Watching]:
    """The supervisor's wallboard (no phone yet) with Alice's row on a call."""
    alice = HubGrants(hub_connector(hub.add_agent("alice")), "alice")
    app: SupervisorApp = make(hub)
    hub.team("north", "sup", "alice")  # a supervisor joins the calls of their teams' agents
    monitor = wallboard_monitor(tmp_path, hub.dsn("sup"))
    app.monitor = monitor
    with monitored_floor(tmp_path, engine_patient=True, phone=False) as floor:
        agents = await alice_on_a_call(hub, floor)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot, agents.last_seq)
            yield Watching(app, pilot, monitor, floor, alice)


async def test_keys_on_an_agent_row_listen_switch_to_whisper_and_leave(
    hub: Hub, tmp_path: Path
) -> None:
    async with watching_alice(hub, tmp_path) as (app, pilot, monitor, floor, alice):
        assert not monitor.started  # the wallboard came up without a phone
        await pilot.press("1")
        await agent_decides(floor, alice)
        await wait_for(pilot, lambda: "Listening to Alice" in monitor.status(), 20, "on")
        assert app.query_one("#monitor-line").display
        await pilot.press("2")
        state = await asyncio.to_thread(
            floor.agent.wait_event,
            "monitor.state",
            10,
            monitor_id=floor.monitor_id,
            mode="whisper",
        )
        assert state["supervisor"] == "sup"
        await wait_for(pilot, lambda: "Whispering to Alice" in monitor.status(), what="whisper")
        await pilot.press("x")
        ended = await asyncio.to_thread(
            floor.agent.wait_event, "monitor.ended", 10, monitor_id=floor.monitor_id
        )
        assert ended["reason"] == "left"
        await wait_for(pilot, lambda: monitor.status() == "Left Alice's call", what="left")


async def test_two_quick_keys_make_one_leg_in_the_last_mode_and_x_leaves_it(
    hub: Hub, tmp_path: Path
) -> None:
    """The second key comes while the first still starts the phone: it changes the mode
    the leg joins in, and makes no second grant or leg (one the supervisor could not
    leave, open to the call in whisper or barge)."""
    async with watching_alice(hub, tmp_path) as (app, pilot, monitor, floor, alice):
        # The grant is held until the second key is in: under load, a phone that came up
        # between two keys made the second a switch ("still joining"), not a join's mode.
        held = HeldGrants(monitor.grants)
        monitor.grants = held
        await pilot.press("1")
        await wait_for(pilot, lambda: monitor.status() == JOINING.format("listen"), what="1")
        await pilot.press("2")
        await wait_for(pilot, lambda: monitor.status() == JOINING.format("whisper"), what="2")
        held.release.set()
        request = await asyncio.to_thread(floor.agent.wait_event, "monitor.request", 20)
        assert request["mode"] == "whisper"
        grant = await alice.verify(request["grant"], request["mode"], [floor.patient_call])
        await asyncio.to_thread(floor.accept, request, grant)
        await wait_for(pilot, lambda: "Whispering to Alice" in monitor.status(), 20, "on")
        await monitor_keys_done(app)
        await no_more_requests(floor)
        legs = await asyncio.to_thread(floor.agent.command, "status")
        assert len(legs["result"]["monitors"]) == 1
        await pilot.press("x")
        ended = await asyncio.to_thread(
            floor.agent.wait_event, "monitor.ended", 10, monitor_id=floor.monitor_id
        )
        assert ended["reason"] == "left"
        await wait_for(pilot, lambda: monitor.status() == "Left Alice's call", what="left")
        status = await asyncio.to_thread(floor.agent.command, "status")
        assert status["result"]["monitors"] == []


async def test_x_while_joining_stops_the_join_and_the_next_key_joins(
    hub: Hub, tmp_path: Path
) -> None:
    async with watching_alice(hub, tmp_path) as (app, pilot, monitor, floor, alice):
        held = HeldGrants(monitor.grants)  # x comes while joining, however loaded
        monitor.grants = held
        await pilot.press("1")
        await wait_for(pilot, lambda: monitor.status() == JOINING.format("listen"), what="1")
        await pilot.press("x")
        stopped = "Stopped joining Alice's call"
        await wait_for(pilot, lambda: monitor.status() == stopped, what="stopped")
        held.release.set()
        await monitor_keys_done(app)  # the grant came after x: nothing was called
        await no_more_requests(floor)
        assert monitor.live() is None
        await pilot.press("1")
        await agent_decides(floor, alice)
        await wait_for(pilot, lambda: "Listening to Alice" in monitor.status(), 20, "on")
        await pilot.press("x")
        ended = await asyncio.to_thread(
            floor.agent.wait_event, "monitor.ended", 10, monitor_id=floor.monitor_id
        )
        assert ended["reason"] == "left"


async def test_an_agent_not_on_a_call_cannot_be_joined_and_the_phone_never_starts(
    hub: Hub, tmp_path: Path
) -> None:
    app = make(hub)
    monitor = wallboard_monitor(tmp_path, hub.dsn("sup"))
    app.monitor = monitor
    agents = Agents(hub)
    await agents.state("bob", "Bob", "available", 60)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot, agents.last_seq)
        await pilot.press("1")
        await wait_for(pilot, lambda: "not on a call" in " ".join(toasts(app)), what="said")
        assert not monitor.started
        assert monitor.status() == ""


async def test_a_grant_that_cannot_be_made_is_said_and_the_wallboard_stays_up(
    hub: Hub, tmp_path: Path
) -> None:
    app = make(hub)
    monitor = FloorMonitor(
        lambda *_: pytest.fail("no phone may start"), LocalGrantMaker(tmp_path / "missing")
    )
    app.monitor = monitor
    agents = Agents(hub)
    await agents.state(
        "bob", "Bob", "available", 60, on_call=30, call_id="c-1", contact="sip:a@127.0.0.1:9"
    )
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot, agents.last_seq)
        await pilot.press("1")
        await wait_for(pilot, lambda: "FileNotFoundError" in " ".join(toasts(app)), what="said")
        assert not monitor.started
        assert app.is_running


async def test_a_supervisor_in_station_mode_hears_the_call_on_their_own_phone(
    hub: Hub, tmp_path: Path
) -> None:
    """Headset or station, as for agents: the first key also calls the supervisor's phone."""
    alice = HubGrants(hub_connector(hub.add_agent("alice")), "alice")
    app: SupervisorApp = make(hub)
    hub.team("north", "sup", "alice")  # a supervisor joins the calls of their teams' agents
    with (
        Baresip(
            tmp_path,
            user="sup-phone",
            tone_hz=SUPERVISOR_TONE,
            record_to=tmp_path / "s.wav",
            auto_answer=True,
        ) as phone,
        monitored_floor(tmp_path, engine_patient=True, phone=False) as floor,
    ):
        config = tmp_path / "supervise.yaml"
        config.write_text(f"audio:\n  mode: station\n  station:\n    number: '{phone.uri}'\n")
        monitor = floor_monitor(load_config(config, environ={}), hub.dsn("sup"))
        assert monitor is not None
        app.monitor = monitor
        agents = await alice_on_a_call(hub, floor)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(pilot, agents.last_seq)
            await pilot.press("1")
            await agent_decides(floor, alice)
            await wait_for(pilot, lambda: "Listening to Alice" in monitor.status(), 20, "on")
            await asyncio.to_thread(phone.wait_event, "CALL_ESTABLISHED", 15)
            ear = Ear(phone)
            await pilot.pause(1.0)  # the station leg's audio settles
            mark = ear.mark()
            await pilot.pause(LISTEN_SECONDS)
            rate, samples = ear.since(mark)
            assert levels(rate, samples)[PATIENT_TONE] > HEARD


async def test_a_refused_key_tells_the_supervisor_why(hub: Hub, tmp_path: Path) -> None:
    async with watching_alice(hub, tmp_path) as (app, pilot, monitor, floor, _):
        await pilot.press("1")
        request = await asyncio.to_thread(floor.agent.wait_event, "monitor.request", 20)
        await asyncio.to_thread(
            floor.agent.command,
            "monitor_refuse",
            monitor=request["monitor_id"],
            reason="expired",
        )
        said = "Could not join Alice's call: monitor grant expired"
        await wait_for(pilot, lambda: monitor.status() == said, 10, "the reason")
        assert said in str(app.query_one("#monitor-line").render())
