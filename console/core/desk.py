# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent's desk: what each engine event means, decided in one place.

Plain Python, no Textual and no I/O: an event goes in, the call queue and the
agent's state are updated, and an ordered list of effects comes out — write the
record, tell the floor, look up the patient, ring, open the wrap-up. The agent
screen runs the effects in that order (see ``console/controllers/effects.py``);
tests check the decisions here without a terminal or an engine.

The order is part of the meaning: on an engine event the screen repaints
before anything touches the disk (the agent sees a ringing call without waiting
for an fsync), the notes box is saved before its call's wrap-up opens, and the
wrap-up draft is on disk before the call's record is closed. When the engine is
lost, its calls' notes are saved and the calls closed before the repaint.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from enum import Enum, auto
from typing import Literal

from console.core.agent_state import AgentState
from console.core.calls import CallQueue, LiveCall
from console.core.clock import Clock, utc_now
from console.core.events import (
    AnyEvent,
    AudioChanged,
    AudioFact,
    CallAppeared,
    CallCodecChanged,
    CallEnded,
    CallEvent,
    CallHoldChanged,
    CallMuteChanged,
    CallReplaced,
    CallStateChanged,
    CallTransferChanged,
    CallTurnedAway,
    Hello,
    Ignored,
)
from console.core.floor import end_kind
from console.core.records import dataclass


class Step(Enum):
    """An effect that needs nothing but the desk itself."""

    REPAINT = auto()
    """The queue changed: redraw it (the call panes, the footer's keys)."""
    FOLLOW_NOTES = auto()
    """Move the notes box to the call it belongs to now (saving it first)."""
    ENGINE_HELLO = auto()
    """The engine (re)connected: apply the agent's audio choice, call their phone."""
    FLOOR_AGENT = auto()
    """The agent's state for the floor (written only when it changed, or as a heartbeat)."""
    SAVE_NOTES = auto()
    """Save the notes box now (after a Replaces, under the new call's recorded id)."""
    CLOSE_LEFT_OPEN = auto()
    """After a hello: close the stored calls still open that the engine no longer has."""


class CallWork(Enum):
    """What must start for one live call."""

    LOOK_UP_PATIENT = auto()
    """Screen pop for an inbound call (in the background: ringing never waits)."""
    RING = auto()
    """Bell and toast (a beep when it was answered automatically)."""
    START_GUIDANCE = auto()
    """The call was answered: start its script."""


@dataclass(frozen=True, slots=True)
class ForCall:
    """:class:`CallWork` for ``call``."""

    work: CallWork
    call: LiveCall


@dataclass(frozen=True, slots=True)
class Notice:
    """A sentence for the agent (a toast)."""

    text: str
    title: str = ""
    severity: Literal["information", "warning", "error"] = "information"
    timeout: float = 5.0


@dataclass(frozen=True, slots=True)
class NotesMoved:
    """The notes of ``old_id`` now belong to ``new_id`` (an attended transfer's Replaces)."""

    old_id: str
    new_id: str


@dataclass(frozen=True, slots=True)
class FloorCall:
    """A step of an inbound call's life for the floor (offered, answered, ended…)."""

    kind: str
    call: LiveCall
    at: datetime


@dataclass(frozen=True, slots=True)
class CallGone:
    """A call left the queue: no patient data outlives it; its script runs are taken."""

    call_id: str


@dataclass(frozen=True, slots=True)
class CallOver:
    """A call ended: open its wrap-up when it needs one (after :class:`CallGone`).

    ``call`` is None when the queue never knew the call (ended before the console saw it).
    """

    call_id: str
    call: LiveCall | None
    at: datetime
    wrap_up: bool
    """An answered inbound call: the agent owes a wrap-up."""


@dataclass(frozen=True, slots=True)
class Record:
    """Write what the event says about calls into the store."""

    event: AnyEvent


@dataclass(frozen=True, slots=True)
class TurnedAway:
    """A call refused without ringing: a history row and a floor event."""

    event: CallTurnedAway
    at: datetime


@dataclass(frozen=True, slots=True)
class PhoneLost:
    """The engine went away with these calls in the queue (the queue is already empty)."""

    calls: tuple[LiveCall, ...]


Effect = (
    Step
    | ForCall
    | Notice
    | NotesMoved
    | FloorCall
    | CallGone
    | CallOver
    | Record
    | TurnedAway
    | PhoneLost
)
"""Everything the desk can ask the screen to do."""


class Desk:
    """The agent's live calls and state, and what each engine event means for them."""

    def __init__(
        self, outbound_names: Mapping[str, str] | None = None, clock: Clock = utc_now
    ) -> None:
        self.queue = CallQueue()
        self.agent = AgentState()
        self.outbound_names = dict(outbound_names or {})
        """Directory names by number or URI, given to dialled calls that have none."""
        self.clock = clock
        """The time of an event the engine sent without one."""

    def phone_status(self, online: bool, detail: str) -> list[Effect]:
        """The engine connection came up or went down."""
        self.agent = replace(self.agent, phone_online=online, phone_detail=detail)
        effects: list[Effect] = []
        if not online:
            lost = tuple(self.queue.clear())
            # The lost calls' notes are saved (and the box emptied) before they close.
            effects += [Step.FOLLOW_NOTES, PhoneLost(lost)]
        effects.append(Step.REPAINT)
        # The floor sees the agent offline while the phone is (no calls can reach them).
        return [*effects, Step.FLOOR_AGENT]

    def apply(self, event: AnyEvent) -> list[Effect]:
        """Update the queue and state from ``event``; the effects, in the order to run them."""
        if isinstance(event, Ignored):
            return []  # changes nothing: no repaint, no write (engine.ready, call.dtmf…)
        before = self.agent
        self.agent = before.apply(event)
        at = event.time or self.clock()
        effects: list[Effect] = []
        if isinstance(event, AudioChanged):
            effects += _audio_notices(before.audio, self.agent.audio)
        call, around = self._update_queue(event, at)
        if isinstance(event, CallEnded):
            around.append(CallGone(event.call_id))
        effects += [
            *around,
            Step.REPAINT,
            Step.FOLLOW_NOTES,
            *self._floor(event, call, at),
            Step.FLOOR_AGENT,
        ]
        if isinstance(event, CallEnded):
            effects.append(CallOver(event.call_id, call, at, _owes_wrap_up(call)))
        effects.append(Record(event))
        if isinstance(event, CallReplaced):
            effects.append(Step.SAVE_NOTES)
        elif isinstance(event, Hello):
            effects.append(Step.CLOSE_LEFT_OPEN)
        elif isinstance(event, CallTurnedAway):
            effects.append(TurnedAway(event, at))
        return effects

    def _update_queue(self, event: AnyEvent, at: datetime) -> tuple[LiveCall | None, list[Effect]]:
        """The queue after ``event``: the call it concerned and what must happen before
        the repaint (patient lookups, ringing, notices)."""
        queue = self.queue
        match event:
            case Hello(calls=calls):
                queue.reset(calls)
                lookups: list[Effect] = [
                    ForCall(CallWork.LOOK_UP_PATIENT, call)
                    for call in queue.calls()
                    if call.direction == "inbound"
                ]
                return None, [Step.ENGINE_HELLO, *lookups]
            case CallAppeared(call=call) if event.outgoing:
                queue.add(call)
                queue.name_outbound(call.id, self.outbound_names)
                return queue.get(call.id), []
            case CallAppeared(call=call):
                queue.add(call)
                return call, [ForCall(CallWork.LOOK_UP_PATIENT, call), ForCall(CallWork.RING, call)]
            case CallReplaced(call_id=old_id, new_call=call):
                queue.rename(old_id, call)
                return call, [NotesMoved(old_id, call.id)]
            case CallEnded(call_id=call_id):
                return queue.remove(call_id), []
            case CallEvent(call_id=call_id):
                current = queue.get(call_id)
                if current is None:
                    return None, []
                updated = _updated(current, event, at)
                if updated is None:
                    return None, []
                queue.update(updated)
                return updated, _call_changed(updated, event)
        return None, []

    def _floor(self, event: AnyEvent, call: LiveCall | None, at: datetime) -> list[Effect]:
        """The floor's view of an inbound call's life."""
        if call is None:
            return []
        match event:
            case CallAppeared() if not event.outgoing:
                return [FloorCall("offered", call, at)]
            case CallStateChanged(state="active") if call.state == "active":
                return [FloorCall("answered", call, at)]
            case CallEnded(ended_by=ended_by):
                return [FloorCall(end_kind(call, ended_by), call, at)]
        return []


def _updated(current: LiveCall, event: CallEvent, at: datetime) -> LiveCall | None:
    """``current`` after an event about it (None: the event changes nothing shown)."""
    match event:
        case CallStateChanged(state=state):
            state = state or current.state
            answered = current.answered_at
            if state == "active" and answered is None:
                answered = at
            return replace(current, state=state, answered_at=answered)
        case CallHoldChanged(local=local, remote=remote):
            return replace(current, local_hold=local, remote_hold=remote)
        case CallCodecChanged(codec=codec):
            return replace(current, codec=codec)
        case CallMuteChanged(muted=muted):
            return replace(current, muted=muted)
        case CallTransferChanged(status=status, target=target):
            updated = replace(current, transfer_status=status, transfer_target=target)
            if event.has_call:
                updated = replace(updated, consult_id=event.consult_id)
            return updated
    return None


def _call_changed(after: LiveCall, event: CallEvent) -> list[Effect]:
    """What the agent must be told or what must start when a known call changes."""
    match event:
        case CallStateChanged(state="active") if after.direction == "inbound":
            return [ForCall(CallWork.START_GUIDANCE, after)]
        case CallTransferChanged(status="failed"):
            why = event.detail or event.sip_status
            return [
                Notice(
                    f"Transfer failed ({why}); the caller is back with you.",
                    severity="error",
                    timeout=8,
                )
            ]
        case CallTransferChanged(status="succeeded"):
            return [Notice("Transfer completed.")]
    return []


def _owes_wrap_up(call: LiveCall | None) -> bool:
    return call is not None and call.direction == "inbound" and call.answered_at is not None


def _audio_notices(was: AudioFact, now: AudioFact) -> list[Effect]:
    """Tell the agent when their phone drops or connects, or the headset fails."""
    notices: list[Effect] = []
    if now.station_state == "down" and was.station_state != "down":
        notices.append(
            Notice(
                f"{now.station_detail or 'Your phone is not connected'}. Press u to call it again.",
                title="Your phone",
                severity="error",
                timeout=10,
            )
        )
    elif now.station_state == "up" and was.station_state != "up":
        notices.append(Notice("Your phone is connected: calls come to it."))
    if now.mode == "headset" and not now.ok and was.ok:
        notices.append(Notice(f"Headset: {now.detail}", title="Audio", severity="error"))
    return notices
