# SPDX-License-Identifier: GPL-2.0-or-later
"""What the floor sees of this console: agent state changes and call events.

Both go through the outbox (to the hub when there is one; read from the
local store by ``careline supervise`` and ``careline queue tail`` when there
is not). No patient data: a call event names the call, its queue and times.

Payloads (``schema`` 1, times UTC ISO 8601 ending in Z):

``agent_state`` (entity: the agent id), published when availability, its
reason or being on a call changes::

    {"agent_id", "agent_name", "availability": available|outbound|not_ready|wrap_up|offline,
     "reason", "since", "on_call": bool, "call_since": time or null, "at"}

and while on a call, for a supervisor who may listen in (issue 20): ``call_id`` (the
engine's id of the call talked on) and ``contact`` (the SIP URI that reaches the
agent's engine: the account's address-of-record, else the engine's listen address).

``call_event`` (entity: the call id), for queue statistics::

    {"agent_id", "call_id", "queue",
     "event": offered|answered|abandoned|missed|ended|wrapped|turned_away,
     "wait_s": seconds from ringing to answer or give-up (offered: 0),
     "talk_s": seconds talked (ended), "acw_s": seconds of wrap-up (wrapped), "at"}

``abandoned``: the caller gave up while it rang; ``missed``: it rang out or was
declined here; ``turned_away``: the engine refused it without ringing (busy in
wrap-up, not ready, queue full…), with the engine's ``reason`` code in an
extra ``reason`` field.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from console.core.agent_state import AgentState
from console.core.calls import LiveCall
from console.core.held_writes import HeldWrites
from console.core.interactions import InteractionStore, OutboxKind

CALL_EVENTS = ("offered", "answered", "abandoned", "missed", "ended", "wrapped", "turned_away")
"""Every ``call_event`` kind, in the order a call goes through them."""


def end_kind(call: LiveCall, ended_by: str) -> str:
    """How a call's end counts on the floor: ``ended`` once answered, else ``abandoned``
    when the caller gave up, else ``missed``."""
    if call.answered_at is not None:
        return "ended"
    return "abandoned" if ended_by == "caller" else "missed"


class FloorReporter:
    """Turns engine events into floor records in the outbox (inbound calls only)."""

    def __init__(
        self,
        interactions: InteractionStore,
        agent_id: str,
        agent_name: str,
        clock: Callable[[], datetime],
        held: HeldWrites | None = None,
        contact: Callable[[], str] = lambda: "",
    ) -> None:
        """``contact``: the SIP URI of the agent's engine now (see the module docstring)."""
        self._outbox = interactions
        self._held = held or HeldWrites()
        self.agent_id = agent_id
        self.agent_name = agent_name
        self._clock = clock
        self._contact = contact
        self._last_state: tuple[str, str, str | None] | None = None
        self._last_at: datetime | None = None

    def _utc(self, moment: datetime | None = None) -> str:
        moment = moment or self._clock()
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

    async def agent_state(
        self,
        agent: AgentState,
        active: LiveCall | None,
        *,
        heartbeat_s: float | None = None,
        behind: bool = False,
    ) -> None:
        """Publish the agent's state if it changed since the last one published, or
        (with ``heartbeat_s``) if nothing was published for that long: supervisors
        tell a quiet console from a lost one by it. With ``behind``, the record is
        written behind (:meth:`HeldWrites.behind`): this returns without waiting for it."""
        on_call = active is not None
        # No phone, no calls: the floor sees the agent offline whatever they chose.
        availability = agent.shown_availability if agent.phone_online else "offline"
        reason = agent.reason if agent.phone_online else "phone offline"
        key = (availability, reason, active.id if active is not None else None)
        now = self._clock()
        quiet = self._last_at is None or (
            heartbeat_s is not None and (now - self._last_at).total_seconds() >= heartbeat_s
        )
        if key == self._last_state and not quiet:
            return
        self._last_state = key
        self._last_at = now
        payload: dict[str, Any] = {
            "agent_id": self.agent_id,
            "agent_name": self.agent_name,
            "availability": availability,
            "reason": reason,
            "since": self._utc(agent.since) if agent.since else None,
            "on_call": on_call,
            "call_since": self._utc(active.answered_at)
            if active is not None and active.answered_at
            else None,
            "at": self._utc(),
        }
        if active is not None:
            payload["call_id"] = active.id
            payload["contact"] = self._contact()
        await self._publish("agent_state", self.agent_id, payload, behind=behind)

    async def call_event(
        self, event: str, call: LiveCall, *, at: datetime | None = None, behind: bool = False
    ) -> None:
        """Publish one event of an inbound call's life (``wrapped``: see :meth:`wrapped`);
        ``behind`` as for :meth:`agent_state`."""
        if call.direction != "inbound" or event not in CALL_EVENTS:
            return
        moment = at or self._clock()
        answered = call.answered_at
        if event in ("answered", "ended") and answered is not None:
            wait = (answered - call.received_at).total_seconds()
        elif event in ("abandoned", "missed"):
            wait = (moment - call.received_at).total_seconds()
        else:
            wait = 0.0
        talk = (moment - answered).total_seconds() if event == "ended" and answered else 0.0
        await self._call_record(
            call.id, call.queue, event, moment, wait_s=wait, talk_s=talk, behind=behind
        )

    async def turned_away(self, call_id: str, queue: str, reason: str, at: datetime) -> None:
        """A call was refused without ringing, for ``reason`` (the engine's code); written
        behind, as a call's other events are."""
        await self._call_record(call_id, queue, "turned_away", at, reason=reason, behind=True)

    async def wrapped(
        self, call_id: str, queue: str, acw_s: float, *, behind: bool = False
    ) -> None:
        """The wrap-up of a call was saved after ``acw_s`` seconds of after-call work;
        ``behind`` as for :meth:`agent_state`."""
        await self._call_record(
            call_id, queue, "wrapped", self._clock(), acw_s=acw_s, behind=behind
        )

    async def _call_record(
        self,
        call_id: str,
        queue: str,
        event: str,
        moment: datetime,
        *,
        wait_s: float = 0.0,
        talk_s: float = 0.0,
        acw_s: float = 0.0,
        reason: str | None = None,
        behind: bool = False,
    ) -> None:
        payload: dict[str, Any] = {
            "agent_id": self.agent_id,
            "call_id": call_id,
            "queue": queue or "",
            "event": event,
            "wait_s": round(max(wait_s, 0.0), 3),
            "talk_s": round(max(talk_s, 0.0), 3),
            "acw_s": round(max(acw_s, 0.0), 3),
            "at": self._utc(moment),
        }
        if reason is not None:
            payload["reason"] = reason
        await self._publish("call_event", call_id, payload, behind=behind)

    async def _publish(
        self, kind: OutboxKind, entity: str, payload: dict[str, Any], *, behind: bool = False
    ) -> None:
        # A full disk holds the record (in order) rather than failing the call.
        write = functools.partial(self._outbox.publish, kind, entity, payload)
        await self._held.write("floor event", write, behind=behind)
