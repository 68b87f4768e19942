# SPDX-License-Identifier: GPL-2.0-or-later
"""The supervisor's wallboard over a hub fed by several simulated agents.

A local store holds one agent's rows (this workstation's): the wallboard over
it is in tests/test_floor_trust.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from textual.pilot import Pilot

from console.floor_view.app import LiveTable, SupervisorApp, create_supervisor
from console.floor_view.source import HubFloor
from tests.console_app import wait_for
from tests.pg import Hub
from tests.still_screen import until_still
from tests.tmux import TmuxSession

NOW = datetime(2026, 11, 26, 10, 0, 0, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("utc_local_time")


def z(seconds_ago: float) -> str:
    return (NOW - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def state_payload(
    agent: str, name: str, availability: str, ago: float, **extra: Any
) -> dict[str, Any]:
    """An ``agent_state`` record, in state since ``ago`` seconds (on a call since
    ``on_call`` seconds, when given)."""
    on_call = extra.pop("on_call", 0)
    return {
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


def call_payload(
    agent: str, call: str, event: str, ago: float, queue: str, **t: Any
) -> dict[str, Any]:
    """A ``call_event`` record, ``ago`` seconds ago."""
    return {
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


class Agents:
    """Several simulated consoles whose records reach the hub (written as its owner)."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.source = uuid.uuid4()
        self.count = 0
        self.last_seq = 0
        """The seq of the latest row written."""

    async def publish(self, kind: str, agent: str, payload: dict[str, Any]) -> None:
        async with await psycopg.AsyncConnection.connect(self.hub.owner_dsn, autocommit=True) as db:
            cursor = await db.execute(
                "INSERT INTO careline.floor_events "
                "(agent_id, kind, payload, at, source, source_seq) "
                "VALUES (%s, %s, %s, now(), %s, %s) RETURNING seq",
                (agent, kind, json.dumps(payload), self.source, self.count),
            )
            row = await cursor.fetchone()
        assert row is not None
        self.count += 1
        self.last_seq = int(row[0])

    async def state(
        self, agent: str, name: str, availability: str, ago: float, **extra: Any
    ) -> None:
        payload = state_payload(agent, name, availability, ago, **extra)
        await self.publish("agent_state", agent, payload)

    async def call(
        self, agent: str, call: str, event: str, ago: float, queue: str, **t: Any
    ) -> None:
        await self.publish("call_event", agent, call_payload(agent, call, event, ago, queue, **t))


async def floor(hub: Hub) -> int:
    """A floor of four agents and two queues on the hub; the last seq."""
    agents = Agents(hub)
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
    await agents.call("a4", "c6", "turned_away", 15, "billing", reason="queue_full")
    return agents.last_seq


def make(hub: Hub) -> SupervisorApp:
    dsn = hub.add_supervisor("sup")

    async def open_hub() -> HubFloor:
        return HubFloor(dsn)

    return create_supervisor(open_hub, clock=lambda: NOW)


async def settle(pilot: Pilot[int], seq: int) -> None:
    """Let the wallboard read the floor up to ``seq`` and draw it (20 s at most: a loaded
    machine's hub is slow, and a key pressed before the agent's row is there does
    nothing), then paint."""
    app = pilot.app
    assert isinstance(app, SupervisorApp)
    await wait_for(
        pilot,
        lambda: app.floor.last_seq >= seq and app.up_to_date and columns_sized(app),
        20,
        f"rows up to {seq}, their columns sized",
    )
    await until_still(pilot)  # the tables fill and size their columns frames later


def columns_sized(app: SupervisorApp) -> bool:
    """Whether every table has measured its rows: a DataTable sizes its columns for new rows
    when it is next idle, and a loaded machine drew (and a snapshot caught) the rows in
    columns as wide as their labels ("Ann L" for Ann Lee)."""
    for table in app.query(LiveTable):
        for row in table.ordered_rows:
            pairs = zip(table.get_row(row.key), table.ordered_columns, strict=True)
            if any(cell.cell_len > column.content_width for cell, column in pairs):
                return False
    return True


@asynccontextmanager
async def wallboard(
    hub: Hub, seq: int, size: tuple[int, int]
) -> AsyncIterator[tuple[SupervisorApp, Pilot[int]]]:
    """The wallboard over ``hub`` running at ``size``, once it has read up to ``seq``."""
    app = make(hub)
    async with app.run_test(size=size) as pilot:
        await settle(pilot, seq)
        yield app, pilot


def cells(app: SupervisorApp, table_id: str) -> list[list[str]]:
    table = app.query_one(table_id, LiveTable)
    return [[cell.plain for cell in table.get_row(row.key)] for row in table.ordered_rows]


async def test_settle_waits_for_the_draw_a_throttle_put_off(hub: Hub) -> None:
    """Rows read just after a draw wait for the next tick; a test that presses a key on
    them must wait for that draw too (CI: a key on a row not yet drawn did nothing)."""
    agents = Agents(hub)
    await agents.state("ann", "Ann", "available", 30)
    app = make(hub)
    app.refresh_s = 3.0  # a long throttle, as a loaded machine's late tick
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, agents.last_seq)
        await agents.state("bo", "Bo", "available", 30)
        await settle(pilot, agents.last_seq)
        assert [row[0] for row in cells(app, "#agents")] == ["Ann", "Bo"]


async def test_wallboard_updates_rows_in_place_filters_and_sorts(hub: Hub) -> None:
    last = await floor(hub)
    async with wallboard(hub, last, (160, 48)) as (app, pilot):
        assert cells(app, "#queues") == [
            ["billing", "2", "0:50", "0", "0", "1", "–", "–", "–", "–"],
            ["nurse-line", "0", "–", "2", "1", "0", "50%", "33%", "5:20", "–"],
        ]
        agents = cells(app, "#agents")
        assert [row[0] for row in agents] == ["Ann Lee", "Di Evans", "Cy Diaz", "Bo [b]Chen[/b]"]
        # In state since the call began, not since she became available.
        assert agents[0][1:5] == ["available · on call", "", "1:15", "1:15"]
        assert agents[3][2] == "Break �[31m"  # the escape is shown as a mark, never sent
        alerts = str(app.query_one("#alert-lines").render())
        assert "nurse-line: service level 50% under target 80%" in alerts
        assert "Bo [b]Chen[/b]: not_ready for 16:40" in alerts
        assert "billing: 1 call turned away, most often queue_full" in alerts
        table = app.query_one("#agents", LiveTable)
        added = table.rows_added

        await Agents(hub).state("a4", "Di Evans", "not_ready", 0, reason="Lunch")
        await settle(pilot, last + 1)
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


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
def test_wallboard_snapshot(snap_compare: Any, hub: Hub, size: tuple[int, int]) -> None:
    last = asyncio.run(floor(hub))

    async def settled(pilot: Pilot[int]) -> None:
        await settle(pilot, last)

    assert snap_compare(make(hub), terminal_size=size, run_before=settled)


async def test_team_filter_appears_when_agents_report_a_team(hub: Hub) -> None:
    agents = Agents(hub)
    await agents.state("a1", "Ann Lee", "available", 30, team="east")
    await agents.state("a2", "Bo Chen", "available", 30, team="west")
    await agents.state("a3", "Cy Diaz", "available", 30)
    async with wallboard(hub, agents.last_seq, (120, 30)) as (app, pilot):
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


async def test_wallboard_over_the_hub(hub: Hub) -> None:
    """Several agents' records on the hub reach the wallboard, also after a lost connection."""
    agents = Agents(hub)
    for agent in ("ann", "bo", "cy"):
        await agents.state(agent, agent.title(), "available", 30)
    app = make(hub)
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
        await agents.state("bo", "Bo", "not_ready", 30)
        for _ in range(200):
            if cells(app, "#agents")[-1][:2] == ["Bo", "not ready"]:
                break
            await pilot.pause(0.05)
        assert cells(app, "#agents")[-1][:2] == ["Bo", "not ready"]
        await pilot.press("q")


async def test_a_refused_login_closes_the_wallboard_with_status_2(hub: Hub) -> None:
    hub.add_supervisor("sup")
    wrong = hub.dsn("sup", "not-the-password")

    async def open_hub() -> HubFloor:
        return HubFloor(wrong)

    app = create_supervisor(open_hub, clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        for _ in range(200):
            if app.return_code is not None:
                break
            await pilot.pause(0.05)
    assert app.return_code == 2
    assert "password authentication failed" in str(app.refusal)


def test_supervise_with_a_wrong_password_says_so_and_exits_2(hub: Hub) -> None:
    """The real CLI in a real terminal: the error is printed after the screen is restored."""
    hub.add_supervisor("sup")
    wrong = hub.dsn("sup", "not-the-password")
    session = TmuxSession(
        [sys.executable, "-m", "console", "supervise", "--dsn", wrong], dict(os.environ)
    )
    try:
        screen = session.wait_for("CARELINE-EXIT", timeout=30)
    finally:
        session.kill()
    assert "CARELINE-EXIT 2" in screen
    assert "careline: the hub refused the login of sup" in screen
    assert "Traceback" not in screen


async def test_call_time_and_waiting_now_start_at_the_answer(hub: Hub) -> None:
    last = await floor(hub)
    async with wallboard(hub, last, (160, 48)) as (app, pilot):
        assert str(app.query_one("#spark").render()).endswith("now 2")
        agents = Agents(hub)
        # Di picks up (her console says "on call", not yet answered) ...
        await agents.publish(
            "agent_state",
            "a4",
            state_payload("a4", "Di Evans", "available", 30, on_call=6) | {"call_since": None},
        )
        # ... the call is answered 5 s ago, and her console says nothing more for a minute.
        await agents.call("a4", "c4", "answered", 5, "billing", wait_s=45)
        await settle(pilot, agents.last_seq)
        di = next(row for row in cells(app, "#agents") if row[0] == "Di Evans")
        assert di[1:5] == ["available · on call", "", "0:05", "0:05"]
        # One call waits now; two did earlier in this minute (the sparkline's bar).
        assert str(app.query_one("#spark").render()).endswith("now 1")
        await pilot.press("q")


async def busy_floor(hub: Hub) -> int:
    """20 agents (the first 6 not heard from for 5 minutes) and 6 queues with a call each."""
    agents = Agents(hub)
    for n in range(20):
        await agents.state(f"a{n:02d}", f"Agent {n:02d}", "available", 300 if n < 6 else 30)
    for n in range(6):
        await agents.call("a06", f"c{n}", "offered", 20, f"queue-{n}")
    return agents.last_seq


def visible_agents(app: SupervisorApp) -> int:
    """Agent rows on screen without scrolling."""
    table = app.query_one("#agents", LiveTable)
    return max(min(table.row_count, table.scrollable_content_region.height - 1), 0)


@pytest.mark.parametrize(("size", "fit"), [((80, 24), 13), ((160, 48), 20)])
async def test_a_busy_floor_shows_most_agents_on_a_small_terminal(
    hub: Hub, size: tuple[int, int], fit: int
) -> None:
    last = await busy_floor(hub)
    async with wallboard(hub, last, size) as (app, pilot):
        assert len(app.floor.alerts(NOW)) == 6
        assert visible_agents(app) >= fit
        await pilot.press("q")


async def test_a_small_terminal_shows_a_few_alerts_and_a_shows_all(hub: Hub) -> None:
    last = await busy_floor(hub)
    async with wallboard(hub, last, (80, 24)) as (app, pilot):
        lines = str(app.query_one("#alert-lines").render()).splitlines()
        assert lines == [
            "Agent 00: no update for 5:00",
            "Agent 01: no update for 5:00",
            "+4 more alerts (a: show all)",
        ]
        view = str(app.query_one("#view").render())
        assert view.startswith("Queue: all · Sort: state · Waiting ▁▁")
        assert view.endswith("█  now 6")
        await pilot.press("a")
        await pilot.pause(0.1)
        assert len(str(app.query_one("#alert-lines").render()).splitlines()) == 6
        assert app.query_one("#alerts").region.height == 6
        await pilot.press("a")
        await pilot.pause(0.1)
        assert app.query_one("#alerts").region.height == 3
        await pilot.resize_terminal(120, 40)  # roomy again: the full layout, every alert
        await pilot.pause(0.3)
        assert app.check_action("toggle_alerts", ()) is False
        assert app.query_one("#spark").display
        assert len(str(app.query_one("#alert-lines").render()).splitlines()) == 6
        await pilot.press("q")


async def test_calls_turned_away_show_per_queue_with_the_commonest_reason(hub: Hub) -> None:
    last = await floor(hub)
    async with wallboard(hub, last, (160, 48)) as (app, pilot):
        assert [row[5] for row in cells(app, "#queues")] == ["1", "0"]
        agents = Agents(hub)
        for n, reason in enumerate(("agent not_ready", "queue_full", "agent not_ready")):
            payload = call_payload("a2", f"t{n}", "turned_away", 10 - n, "nurse-line")
            await agents.publish("call_event", "a2", payload | {"reason": reason})
        await settle(pilot, agents.last_seq)
        queues = cells(app, "#queues")
        assert [row[:6] for row in queues] == [
            ["billing", "2", "0:50", "0", "0", "1"],
            ["nurse-line", "0", "–", "2", "1", "3"],
        ]
        alerts = str(app.query_one("#alert-lines").render())
        assert "nurse-line: 3 calls turned away, most often agent not_ready" in alerts
        await pilot.press("q")
