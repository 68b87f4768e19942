# SPDX-License-Identifier: GPL-2.0-or-later
"""The wallboard's weekly trends pane (``w``): the figures of ``careline report``
for the floor and each queue, read when shown and then only every few minutes,
never on the wallboard's own refresh."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.core.reports.feedback import MeasuredStep
from console.core.reports.figures import ReportData
from console.core.reports.weeks import ReportWeeks
from console.core.store import Store
from console.floor_view.app import create_supervisor
from console.floor_view.source import HubFloor, LocalFloor
from console.floor_view.trends import TrendsPane
from tests.pg import Hub
from tests.report_fixture import deliver_fortnight, fortnight_store

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("utc_local_time")


class CountingFloor(LocalFloor):
    """The local floor, counting how often the report is read."""

    reads = 0

    async def report(
        self, weeks: ReportWeeks, *, sl_seconds: int, steps: Sequence[MeasuredStep]
    ) -> ReportData:
        """Count, then read as usual."""
        CountingFloor.reads += 1
        return await super().report(weeks, sl_seconds=sl_seconds, steps=steps)


async def test_the_trends_pane_shows_the_weeks_and_reads_only_when_due(tmp_path: Path) -> None:
    await fortnight_store(tmp_path / "store.sqlite3")

    async def open_floor() -> LocalFloor:
        return CountingFloor(await Store.open(tmp_path / "store.sqlite3"), agent_id="alice")

    app = create_supervisor(open_floor, clock=lambda: NOW, since=NOW)
    async with app.run_test(size=(100, 40)) as pilot:
        pane = app.query_one(TrendsPane)
        await pilot.pause()
        assert not pane.display
        assert CountingFloor.reads == 0  # hidden: nothing read
        await pilot.press("w")
        for _ in range(50):
            await pilot.pause(0.05)
            if "appointments" in str(pane.render()):
                break
        text = str(pane.render())
        lines = text.splitlines()
        assert lines[0].startswith("Floor")
        assert any(line.startswith("appointments") and "50%" in line for line in lines)
        assert any(line.startswith("feedback") and "NPS   +0" in line for line in lines)
        # The wallboard redraws many times a second; the pane is not read again.
        for _ in range(10):
            app.redraw()
            await pilot.pause(0.05)
        pane.read_if_due()
        await asyncio.sleep(0.05)
        assert CountingFloor.reads == 1
        await pilot.press("w")
        assert not pane.display


async def test_the_trends_pane_reads_the_hubs_report(hub: Hub, tmp_path: Path) -> None:
    await deliver_fortnight(hub, tmp_path, "alice")

    async def open_hub() -> HubFloor:
        return HubFloor(hub.dsn("alice"))

    app = create_supervisor(open_hub, clock=lambda: NOW, since=NOW)
    async with app.run_test(size=(100, 40)) as pilot:
        pane = app.query_one(TrendsPane)
        await pilot.press("w")
        for _ in range(100):
            await pilot.pause(0.05)
            if "visit-feedb" in str(pane.render()):
                break
        lines = str(pane.render()).splitlines()
    assert lines[0].startswith("Floor")
    assert any(line.startswith("appointments") and "50%" in line for line in lines)
    # The worklist's surveys (no calls on the floor: no service level), its name cut.
    assert any(line.startswith("visit-feedb…") and "NPS +100" in line for line in lines)
