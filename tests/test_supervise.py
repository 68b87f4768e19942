"""The supervisor's wallboard over a local store fed by several simulated agents."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from console.core.interactions import InteractionStore
from console.core.store import Store
from console.floor_view.app import LiveTable, SupervisorApp, create_supervisor
from console.floor_view.source import LocalFloor

NOW = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("utc_local_time")


def z(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class Agents:
    """Several simulated consoles publishing into one store's outbox."""

    def __init__(self, store: Store) -> None:
        self.outbox = InteractionStore(store, clock=lambda: NOW)

    async def state(
        self, agent: str, name: str, availability: str, ago: float, **extra: Any
    ) -> None:
        on_call = extra.pop("on_call", 0)
        payload = {
            "agent_id": agent,
            "agent_name": name,
            "availability": availability,
            "reason": extra.pop("reason", ""),
            "since": z(ago),
            "on_call": bool(on_call),
            "call_since": z(on_call) if on_call else None,
            "at": z(min(ago, on_call or ago)),
            **extra,
        }
        await self.outbox.publish("agent_state", agent, payload)

    async def call(
        self, agent: str, call: str, event: str, ago: float, queue: str, **t: float
    ) -> None:
        payload = {
            "agent_id": agent,
            "call_id": call,
            "queue": queue,
            "event": event,
            "wait_s": 0.0,
            "talk_s": 0.0,
            "acw_s": 0.0,
            "at": z(ago),
            **t,
        }
        await self.outbox.publish("call_event", call, payload)


async def floor(path: Path) -> None:
    store = await Store.open(path)
    try:
        agents = Agents(store)
        await agents.state("a1", "Ann Lee", "available", 300, on_call=75)
        await agents.state("a2", "Bo [b]Chen[/b]", "not_ready", 1000, reason="Break \x1b[31m")
        await agents.state("a3", "Cy Diaz", "wrap_up", 40)
        await agents.state("a4", "Di Evans", "available", 30)
        await agents.call("a1", "c1", "offered", 120, "nurse-line")
        await agents.call("a1", "c1", "answered", 105, "nurse-line", wait_s=15)
        await agents.call("a3", "c2", "offered", 400, "nurse-line")
        await agents.call("a3", "c2", "answered", 360, "nurse-line", wait_s=40)
        await agents.call("a3", "c2", "ended", 40, "nurse-line", wait_s=40, talk_s=320)
        await agents.call("a4", "c3", "offered", 200, "nurse-line")
        await agents.call("a4", "c3", "abandoned", 180, "nurse-line", wait_s=20)
        await agents.call("a4", "c4", "offered", 50, "billing")
        await agents.call("a4", "c5", "offered", 25, "billing")
    finally:
        await store.close()


def make(path: Path) -> SupervisorApp:
    def open_source() -> Any:
        return LocalFloor.open(path, poll_s=0.05)

    opener: Callable[[], Any] = open_source
    return create_supervisor(opener, clock=lambda: NOW)


async def settle(pilot: Pilot[int], seq: int) -> None:
    app = pilot.app
    assert isinstance(app, SupervisorApp)
    for _ in range(100):
        if app.floor.last_seq >= seq:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.4)


def cells(app: SupervisorApp, table_id: str) -> list[list[str]]:
    table = app.query_one(table_id, LiveTable)
    return [[cell.plain for cell in table.get_row(row.key)] for row in table.ordered_rows]


async def test_wallboard_updates_rows_in_place_filters_and_sorts(tmp_path: Path) -> None:
    path = tmp_path / "floor.sqlite3"
    await floor(path)
    app = make(path)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot, 17)
        assert cells(app, "#queues") == [
            ["billing", "2", "0:50", "0", "0", "–", "–", "–", "–"],
            ["nurse-line", "0", "–", "2", "1", "50%", "33%", "5:20", "–"],
        ]
        agents = cells(app, "#agents")
        assert [row[0] for row in agents] == ["Ann Lee", "Di Evans", "Cy Diaz", "Bo [b]Chen[/b]"]
        assert agents[0][1:5] == ["available · on call", "", "5:00", "1:15"]
        assert agents[3][2] == "Break �[31m"  # the escape is shown as a mark, never sent
        alerts = str(app.query_one("#alert-lines").render())
        assert "nurse-line: service level 50% under target 80%" in alerts
        assert "Bo [b]Chen[/b]: not_ready for 16:40" in alerts
        table = app.query_one("#agents", LiveTable)
        added = table.rows_added

        store = await Store.open(path)
        await Agents(store).state("a4", "Di Evans", "not_ready", 0, reason="Lunch")
        await store.close()
        await settle(pilot, 18)
        agents = cells(app, "#agents")
        assert agents[3][:3] == ["Di Evans", "not ready", "Lunch"]
        assert table.rows_added == added  # updated in place, not re-added

        await pilot.press("s")  # by time in state
        assert [row[0] for row in cells(app, "#agents")][0] == "Bo [b]Chen[/b]"
        await pilot.press("s")  # by name
        assert [row[0] for row in cells(app, "#agents")] == [
            "Ann Lee",
            "Bo [b]Chen[/b]",
            "Cy Diaz",
            "Di Evans",
        ]
        await pilot.press("f")  # billing only
        await pilot.pause(0.1)
        assert [row[0] for row in cells(app, "#queues")] == ["billing"]
        assert [row[0] for row in cells(app, "#agents")] == ["Di Evans"]
        await pilot.press("f", "f")  # nurse-line, then all again
        await pilot.pause(0.1)
        assert len(cells(app, "#queues")) == 2
        assert app.check_action("cycle_team", ()) is False  # no agent reports a team
        await pilot.press("q")


async def settled(pilot: Pilot[int]) -> None:
    await settle(pilot, 17)


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_wallboard_snapshot(snap_compare: Any, tmp_path: Path, size: tuple[int, int]) -> None:
    path = tmp_path / "floor.sqlite3"
    asyncio.run(floor(path))
    assert snap_compare(make(path), terminal_size=size, run_before=settled)


async def test_team_filter_appears_when_agents_report_a_team(tmp_path: Path) -> None:
    path = tmp_path / "floor.sqlite3"
    store = await Store.open(path)
    agents = Agents(store)
    await agents.state("a1", "Ann Lee", "available", 30, team="east")
    await agents.state("a2", "Bo Chen", "available", 30, team="west")
    await agents.state("a3", "Cy Diaz", "available", 30)
    await store.close()
    app = make(path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot, 3)
        assert app.check_action("cycle_team", ()) is True
        await pilot.press("t")
        await pilot.pause(0.1)
        assert [row[0] for row in cells(app, "#agents")] == ["Ann Lee"]
        assert "Team: east" in str(app.query_one("#view").render())
        await pilot.press("t", "t")  # west, then all
        await pilot.pause(0.1)
        assert len(cells(app, "#agents")) == 3
        await pilot.press("question_mark")
        assert app.query_one("#help").display
        await pilot.press("q")


HUB = importlib.util.find_spec("tests.pg") is not None
if HUB:
    from tests.pg import hub, pg_cluster  # noqa: F401 - fixtures for the hub test


@pytest.mark.skipif(not HUB, reason="tests/pg.py (the hub fixtures) is not there yet")
async def test_wallboard_over_the_hub(request: pytest.FixtureRequest) -> None:
    """Several agents' records on the hub reach the wallboard, also after a lost connection."""
    import psycopg

    from console.floor_view.source import HubFloor

    hub = request.getfixturevalue("hub")
    dsn: str = hub.add_supervisor("sup")
    source_id = uuid.uuid4()

    async def insert(n: int, agent: str, availability: str) -> None:
        payload = {
            "agent_id": agent,
            "agent_name": agent.title(),
            "availability": availability,
            "reason": "",
            "since": z(30),
            "on_call": False,
            "call_since": None,
            "at": z(30),
        }
        async with await psycopg.AsyncConnection.connect(hub.owner_dsn, autocommit=True) as db:
            await db.execute(
                "INSERT INTO careline.floor_events "
                "(agent_id, kind, payload, at, source, source_seq) "
                "VALUES (%s, 'agent_state', %s, now(), %s, %s)",
                (agent, json.dumps(payload), source_id, n),
            )

    for n, agent in enumerate(("ann", "bo", "cy")):
        await insert(n, agent, "available")

    async def open_hub() -> HubFloor:
        return HubFloor(dsn)

    app = create_supervisor(open_hub, clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(100):
            if len(cells(app, "#agents")) == 3:
                break
            await pilot.pause(0.05)
        assert [row[0] for row in cells(app, "#agents")] == ["Ann", "Bo", "Cy"]
        async with await psycopg.AsyncConnection.connect(hub.owner_dsn, autocommit=True) as db:
            await db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'careline-tail'"
            )
        await insert(3, "bo", "not_ready")
        for _ in range(200):
            if cells(app, "#agents")[-1][:2] == ["Bo", "not ready"]:
                break
            await pilot.pause(0.05)
        assert cells(app, "#agents")[-1][:2] == ["Bo", "not ready"]
        await pilot.press("q")
