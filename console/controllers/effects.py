# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs the desk's effects (``console/core/desk.py``) on the screen and the disk.

The desk decides what an engine event means; this runs what it decided, in
its order, by handing each effect to the controller that owns it. The floor's
records and the call's rows are written behind (``HeldWrites.behind``, in order
with every other write): a slow disk or a store another program holds locked
never keeps the screen from showing a call ringing or answered. The one wait
before a ringing row is drawn is the directory's, and it is bounded
(:data:`~console.controllers.patients.GREETING_WAIT_S`): the greeting is drawn with
the row.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence

from textual.css.query import NoMatches

from console.controllers.audio import AudioControl
from console.controllers.base import Context, Controller
from console.controllers.guidance import GuidanceFlow
from console.controllers.lost_calls import LostCallsFlow
from console.controllers.notes import NotesFlow
from console.controllers.patients import PatientFlow, greeting_deadline
from console.controllers.wrap_up import CallEnding, WrapUpFlow
from console.core.calls import LiveCall
from console.core.desk import (
    CallGone,
    CallOver,
    CallWork,
    Effect,
    FloorCall,
    ForCall,
    NotesMoved,
    Notice,
    PhoneLost,
    Record,
    Step,
    TurnedAway,
)
from console.core.records import dataclass
from console.core.text import caller_label


@dataclass(frozen=True, slots=True)
class Parts:
    """The controllers the effects go to."""

    patients: PatientFlow
    guidance: GuidanceFlow
    wrap_up: WrapUpFlow
    notes: NotesFlow
    lost_calls: LostCallsFlow
    audio: AudioControl


class DeskEffects(Controller):
    """Hands each effect to its controller."""

    def __init__(self, context: Context, parts: Parts, repaint: Callable[[], None]) -> None:
        super().__init__(context)
        self.parts = parts
        self.repaint = repaint
        """Redraw the call panes from the desk (the screen's own)."""
        self._ending: dict[str, CallEnding] = {}
        """Per call gone: what its wrap-up needs (patient, script runs, appointment changes)."""
        self._greeting_deadline = 0.0
        """Until when the effects being run wait for the patient cards (event loop time)."""

    async def run(self, effects: Sequence[Effect]) -> None:
        """Run ``effects`` in order."""
        self._greeting_deadline = greeting_deadline()
        for effect in effects:
            await self._run(effect)

    async def _run(self, effect: Effect) -> None:
        parts, services = self.parts, self.services
        match effect:
            case Step():
                await self._step(effect)
            case ForCall(work=work, call=call):
                await self._for_call(work, call)
            case Notice(text=text, title=title, severity=severity, timeout=timeout):
                self.screen.notify(
                    text, title=title, severity=severity, timeout=timeout, markup=False
                )
            case NotesMoved(old_id=old_id, new_id=new_id):
                parts.notes.renamed(old_id, new_id)
            case CallGone(call_id=call_id):
                self._ending[call_id] = parts.lost_calls.let_go(call_id)
            case FloorCall(kind=kind, call=call, at=at):
                await services.floor.call_event(kind, call, at=at, behind=True)
            case CallOver(call_id=call_id, call=call, at=at):
                ending = self._ending.pop(call_id, CallEnding())
                if call is not None and effect.wrap_up:
                    # The draft is on disk before the call is closed (see LostCallsFlow.close).
                    await parts.wrap_up.call_ended(call, at, ending)
                elif call is not None and call.direction == "outbound":
                    await parts.wrap_up.outbound_ended(call, at)
            case Record(event=event):
                if await services.recorder.record(event, behind=True):
                    self.screen.run_worker(
                        self._history_once_written(), group="history", exclusive=True
                    )
            case TurnedAway(event=event, at=at):
                await parts.lost_calls.turned_away(event, at)
            case PhoneLost(calls=calls):
                await parts.lost_calls.engine_lost(calls)
                await self.host.refresh_history()

    async def _step(self, step: Step) -> None:
        parts = self.parts
        if step is Step.REPAINT:
            self.repaint()
        elif step is Step.FOLLOW_NOTES:
            await parts.notes.follow()
        elif step is Step.ENGINE_HELLO:
            parts.audio.engine_hello()
        elif step is Step.FLOOR_AGENT:
            await self.services.floor.agent_state(self.desk.agent, self.queue.active(), behind=True)
        elif step is Step.SAVE_NOTES:
            await parts.notes.save()  # under the new call's id, now that it is recorded
        elif step is Step.CLOSE_LEFT_OPEN:
            await parts.lost_calls.close_left_open()

    async def _history_once_written(self) -> None:
        """The finished call in the history once its row is written (a held row: once
        the store takes it, through ``HeldWrites.on_saved``)."""
        await self.services.held.settled()
        with contextlib.suppress(NoMatches):  # the console closed while the rows were written
            await self.host.refresh_history()

    async def _for_call(self, work: CallWork, call: LiveCall) -> None:
        parts = self.parts
        if work is CallWork.LOOK_UP_PATIENT and not parts.patients.looked_up(call.id):
            # Before the repaint, briefly: the greeting is drawn with the ringing row.
            await parts.patients.lookup(call.id, call.caller_number, self._greeting_deadline)
        elif work is CallWork.RING:
            self._ring(call)
        elif work is CallWork.START_GUIDANCE:
            parts.guidance.start(call)

    def _ring(self, call: LiveCall) -> None:
        if call.auto_answered:
            self.screen.app.bell()  # auto-in: a beep instead of ringing
            return
        if self.services.config.ui.bell:
            self.screen.app.bell()
        # After the next frame: the ringing row paints first, the toast follows.
        self.screen.call_after_refresh(self._ringing_toast, call)

    def _ringing_toast(self, call: LiveCall) -> None:
        # Over the lock or sign-in screen a toast must not name the caller (PHI).
        session = self.services.session
        if session.locked or session.signing_in:
            text = "A call is ringing"
        else:
            text = f"Ringing: {caller_label(call.caller_name, call.caller_number)}"
        self.screen.notify(text, title="Incoming call", markup=False, timeout=4)
