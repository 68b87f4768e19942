# SPDX-License-Identifier: GPL-2.0-or-later
"""Calls that end without a hang-up: lost with the engine or a console, or turned away.

- The engine died under this console (its child): its calls are closed as lost
  at once, and each answered inbound one opens its wrap-up (marked CALL LOST,
  for the agent to decide on a call back). An engine this console attached to
  is not its child and may live on: its calls wait for its next hello.
- At every hello, calls the store holds open that the engine does not know (a
  console and engine killed together, a power cut, a call that ended while no
  console was attached) are closed the same way, at the last moment known,
  reusing a wrap-up draft already saved.
- A call the engine refused without ringing is a history row and a
  ``turned_away`` floor event.

The wrap-up's draft is written before the call is closed, so a console killed
in between finds the call still open at its next start and does this again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime

from textual.timer import Timer

from console.controllers.base import Context, Controller
from console.controllers.booking import BookingFlow
from console.controllers.guidance import GuidanceFlow
from console.controllers.patients import PatientFlow
from console.controllers.refills import RefillFlow
from console.controllers.wrap_up import CallEnding, WrapUpFlow
from console.core.calls import LiveCall, parse_time
from console.core.events import CallTurnedAway
from console.core.floor import end_kind
from console.core.interactions import Draft
from console.core.recorder import turned_away_reason


class LostCallsFlow(Controller):
    """Closes lost calls (with their wrap-ups) and records turned-away ones."""

    def __init__(
        self,
        context: Context,
        patients: PatientFlow,
        guidance: GuidanceFlow,
        wrap_up: WrapUpFlow,
        booking: BookingFlow,
        refills: RefillFlow,
    ) -> None:
        super().__init__(context)
        self.patients = patients
        self.guidance = guidance
        self.wrap_up = wrap_up
        self.booking = booking
        self.refills = refills
        self.finished: set[str] = set()
        """Calls this console saw end or closed as lost: never "left open", whatever
        the disk says (their closing writes may be held in memory, a full disk)."""
        self._history_timer: Timer | None = None

    def let_go(self, call_id: str) -> CallEnding:
        """A call is over: never "left open" again, its patient data forgotten (none
        outlives its call), its script runs and appointment changes taken. Returns
        what its wrap-up needs."""
        self.finished.add(call_id)
        verified = self.patients.verified.get(call_id)
        runs = self.guidance.take(call_id)
        changes = self.booking.take(call_id)
        self.patients.forget(call_id)
        self.refills.forget(call_id)
        return CallEnding(verified.id if verified else None, runs, changes)

    async def engine_lost(self, lost: Sequence[LiveCall]) -> None:
        """The phone went offline with ``lost`` in the queue (already cleared)."""
        if self.services.phone.attached:
            return  # an attached engine may be alive with its calls: its hello decides
        screen = self.screen
        now = self.services.clock()
        for call in lost:
            await self.close(call, now, self.let_go(call.id))
        if lost:
            restarting = "" if self.services.phone.attach_only else " Restarting the phone…"
            screen.notify(
                f"The phone engine stopped; {len(lost)} call(s) were lost "
                f"(answered ones open for wrap-up).{restarting}",
                severity="error",
                markup=False,
            )

    async def close(
        self,
        call: LiveCall,
        at: datetime,
        ending: CallEnding,
        draft: Draft | None = None,
    ) -> None:
        """Close one lost call: for the floor, its wrap-up (answered inbound), then its row."""
        self.finished.add(call.id)
        await self.services.floor.call_event(end_kind(call, "console"), call, at=at, behind=True)
        if call.direction == "inbound" and call.answered_at is not None:
            if draft is not None:
                self.wrap_up.reopen(draft)
            else:
                await self.wrap_up.call_ended(call, at, ending, lost=True)
        await self.services.recorder.lost(call, at)

    async def close_left_open(self) -> None:
        """After ``hello``: close the calls left open that the engine does not know."""
        services = self.services
        known = {call.id for call in self.queue.calls()} | self.finished
        left = [
            row
            for row in await services.store.open_calls(services.config.agent.id)
            if row.id not in known
        ]
        if not left:
            return
        drafts = {draft.call_id: draft for draft in await services.interactions.load_drafts()}
        answered = 0
        for row in left:
            call = LiveCall(
                id=row.id,
                caller_name=row.caller_name,
                caller_number=row.caller_number,
                called_uri=row.called_uri,
                state="disconnected",
                received_at=parse_time(row.received_at) or services.clock(),
                answered_at=parse_time(row.answered_at),
                direction=row.direction,
                queue=row.queue,
            )
            answered += call.answered_at is not None and call.direction == "inbound"
            # Calls of an attached engine that died: what this console held of them goes.
            remembered = self.let_go(row.id)
            draft = drafts.get(row.id)
            # The last moment known: the draft's end (the call ended, the console died
            # before closing it), else its answer or its ring.
            at = parse_time((draft.body.get("call") or {}).get("ended_at")) if draft else None
            ending = dataclasses.replace(
                remembered, patient_id=row.patient_id or remembered.patient_id
            )
            at = at or call.answered_at or call.received_at
            await self.close(call, at, ending, draft=draft)
        self.screen.notify(
            f"{len(left)} call(s) left open when careline or its phone last stopped were "
            f"closed as lost; {answered} answered one(s) open for wrap-up (call back?).",
            severity="warning",
            markup=False,
            timeout=15,
        )
        await self.host.refresh_history()

    async def turned_away(self, event: CallTurnedAway, at: datetime) -> None:
        """A call the engine refused without ringing: in the history and on the floor."""
        call_id = await self.services.recorder.turned_away(event)
        reason = turned_away_reason(event.reason)
        await self.services.floor.turned_away(call_id, event.queue, reason, at)
        # A burst of refused INVITEs (a flood) is one history redraw, not one each.
        if self._history_timer is None:
            self._history_timer = self.screen.set_timer(0.5, self._refresh_history)

    async def _refresh_history(self) -> None:
        self._history_timer = None
        await self.host.refresh_history()
