# SPDX-License-Identifier: GPL-2.0-or-later
"""A hand-computed fortnight of one agent's calls and surveys, recorded through the
real floor reporter, script runner, wrap-up and interaction store.

Week 2026-11-16, queue appointments: answered in 10 s (talk 200, wrap 40),
answered in 30 s (talk 100, wrap 20), abandoned after 45 s, one turned away.
Week 2026-11-23, queue refills: answered in 5 s (talk 60, no wrap-up), missed
after 30 s. Queue feedback: three survey calls answered in 3 s (talk 90,
wrap 10): satisfied 5 / recommend 10 with a comment full of identifiers,
satisfied 2 / recommend 3 with "what went wrong", one declined.

So (SL threshold 20 s): appointments SL 1/2, abandoned 1/3, AHT 180 s;
refills SL 1/1, abandoned 0/1, AHT 60 s; feedback SL 3/3, AHT 100 s, CSAT 1/2,
NPS (1 - 1) / 2 = 0.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from console.controllers.worklist_attempt import Attempt, outbound_record
from console.controllers.wrap_up import WrapUp, call_facts, interaction_from, script_record
from console.core.calls import LiveCall
from console.core.floor import FloorReporter
from console.core.interactions import InteractionStore
from console.core.reports.feedback import measured_steps
from console.core.reports.figures import Level, ReportData, Tally
from console.core.reports.weeks import ReportWeeks
from console.core.scripts.loader import load_library
from console.core.scripts.runner import ScriptRun
from console.core.store import Store
from console.core.worklists.store import Claim, Outcome
from console.dialogs.worklist import OutcomeChoice, Preview
from console.hub.connection import hub_connector
from console.hub.sync import SyncWorker
from tests.pg import Hub

WEEK_1 = date(2026, 11, 16)
WEEK_2 = date(2026, 11, 23)
WEEKS = ReportWeeks(WEEK_1, 2)
"""The fortnight's weeks."""
STEPS = measured_steps(load_library().scripts)
"""The shipped library's measured survey steps."""
HOSTILE_COMMENT = "Maria Lopez was lovely, call me on 555-123-4567 [bold]thanks[/bold]"
SURVEYS = (
    ("yes", "5", "yes", "10", HOSTILE_COMMENT),
    ("yes", "2", "Waited too long", "yes", "3", ""),
    ("no",),
)


class FloorDay:
    """Records calls for one agent as the console does: store rows, floor events,
    wrap-ups."""

    def __init__(self, store: Store, agent_id: str) -> None:
        self.store = store
        self.agent_id = agent_id
        self.interactions = InteractionStore(store)
        self.now = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
        self.floor = FloorReporter(self.interactions, agent_id, agent_id, lambda: self.now)
        self.count = 0

    async def call(
        self,
        at: datetime,
        queue: str,
        *,
        wait: float,
        talk: float | None = None,
        wrap: float | None = None,
        gave_up: bool = False,
        survey: tuple[str, ...] | None = None,
    ) -> None:
        """One inbound call: answered after ``wait`` s and talked ``talk`` s (wrapped
        in ``wrap`` s), or given up on (``gave_up``) / missed after ``wait`` s."""
        self.count += 1
        call_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.agent_id}/{self.count}"))
        protocol = {
            "id": call_id,
            "caller": {"display_name": "Caller", "number": "+15550100"},
            "called_uri": "sip:desk@127.0.0.1",
            "received_at": at.isoformat(),
            "queue": queue,
        }
        await self.store.call_started(self.agent_id, protocol)
        live = LiveCall.from_protocol(protocol)
        self.now = at
        await self.floor.call_event("offered", live)
        if talk is None:
            self.now = at + timedelta(seconds=wait)
            await self.floor.call_event("abandoned" if gave_up else "missed", live)
            return
        answered = at + timedelta(seconds=wait)
        live = dataclasses.replace(live, answered_at=answered)
        self.now = answered
        await self.store.call_answered(call_id, answered.isoformat())
        await self.floor.call_event("answered", live)
        ended = answered + timedelta(seconds=talk)
        self.now = ended
        await self.floor.call_event("ended", live)
        runs = []
        if survey is not None:
            run = ScriptRun(load_library().script("feedback-survey"))
            for raw in survey:
                run.answer(raw)
            runs.append(run)
        body = {
            "interaction_id": str(uuid.uuid4()),
            "call": call_facts(live, ended, None),
            "run": script_record(runs),
        }
        interaction, follow_ups = interaction_from(WrapUp(body), None, self.agent_id, "resolved")
        await self.interactions.finish(interaction, follow_ups)
        if wrap is not None:
            self.now = ended + timedelta(seconds=wrap)
            await self.floor.wrapped(call_id, queue, wrap)

    async def turned_away(self, at: datetime, queue: str) -> None:
        """A call refused without ringing."""
        self.count += 1
        await self.floor.turned_away(f"away-{self.agent_id}-{self.count}", queue, "busy", at)


async def record_fortnight(store: Store, agent_id: str = "alice") -> FloorDay:
    """The fortnight of the module docstring, in ``store``."""
    day = FloorDay(store, agent_id)
    monday = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
    await day.call(monday, "appointments", wait=10, talk=200, wrap=40)
    await day.call(monday + timedelta(hours=1), "appointments", wait=30, talk=100, wrap=20)
    await day.call(monday + timedelta(hours=2), "appointments", wait=45, gave_up=True)
    await day.turned_away(monday + timedelta(hours=3), "appointments")
    later = monday + timedelta(days=7)
    await day.call(later, "refills", wait=5, talk=60)
    await day.call(later + timedelta(hours=1), "refills", wait=30)
    for n, answers in enumerate(SURVEYS):
        await day.call(
            later + timedelta(hours=2 + n), "feedback", wait=3, talk=90, wrap=10, survey=answers
        )
    return day


async def fortnight_store(path: Path, agent_id: str = "alice") -> Path:
    """A store file at ``path`` holding the fortnight (closed again)."""
    store = await Store.open(path)
    try:
        await record_fortnight(store, agent_id)
    finally:
        await store.close()
    return path


def by_name(data: ReportData, level: Level) -> dict[str, tuple[Tally, ...]]:
    """Each group's weekly tallies at ``level``, by name."""
    return {series.name: series.tallies for series in data.series(level)}


def figures(tally: Tally) -> tuple[object, ...]:
    """What the fixture's docstring computes by hand, for one tally."""
    return (
        tally.offered,
        tally.answered,
        tally.service_level,
        tally.abandon_rate,
        tally.aht_s,
        tally.turned_away,
        tally.csat,
        tally.nps,
    )


async def record_worklist_survey(store: Store, agent_id: str, at: datetime) -> None:
    """A visit-feedback worklist call (outbound: no queue, no floor events) on which the
    patient answered satisfied 4, recommend 9, recorded as the worklist records it."""
    run = ScriptRun(load_library().script("feedback-survey"))
    for raw in ("yes", "4", "yes", "9", ""):
        run.answer(raw)
    claim = Claim(
        "item-1", "token", "visit-feedback", "p-1", "Feedback on the visit", "feedback-survey",
        ("+15550100",), (at + timedelta(minutes=15)).isoformat(),
    )  # fmt: skip
    preview = Preview("Feedback after a visit", "Maria", claim.reason, "+15550100", 1, 1)
    attempt = Attempt(claim, preview, None, dialled_at=at, answered=True, runs=(run,))
    interaction, follow_ups = outbound_record(
        attempt, OutcomeChoice(Outcome.CONFIRMED), at + timedelta(minutes=3), agent_id
    )
    await InteractionStore(store).finish(interaction, follow_ups)


async def deliver_fortnight(hub: Hub, tmp_path: Path, agent_id: str) -> None:
    """The fortnight and a worklist survey, recorded in ``agent_id``'s own store under
    ``tmp_path`` and delivered to ``hub`` by the real sync, as that agent."""
    store = await Store.open(tmp_path / f"{agent_id}.sqlite3")
    try:
        await record_fortnight(store, agent_id)
        await record_worklist_survey(store, agent_id, datetime(2026, 11, 24, 10, 0, tzinfo=UTC))
        worker = SyncWorker(store, hub_connector(hub.add_agent(agent_id)), region="US")
        await worker.deliver()
        left = await store.fetch_all(
            "SELECT seq, last_error, dead_at FROM outbox WHERE sent_at IS NULL"
        )
        assert not left
    finally:
        await store.close()
