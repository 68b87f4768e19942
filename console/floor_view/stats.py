# SPDX-License-Identifier: GPL-2.0-or-later
"""Queue and agent statistics folded from floor events (plain Python, no Textual).

:class:`FloorState` takes events in sequence order (:meth:`FloorState.apply`)
and answers, for a moment ``now``, what the wallboard shows: per queue the
calls waiting, the longest wait, answered, abandoned and turned-away counts,
both service level definitions, average handle and after-call-work times; per
agent the state, reason, time in state, call duration and the age of its last
event; a sparkline of waiting calls; and the alerts. Rows that are not floor
records (:class:`~console.floor_view.rows.BadRow`) are counted, never applied.

Definitions (``T`` = :attr:`Thresholds.sl_threshold_s`):

- waiting: calls offered with no answered, abandoned or missed event yet;
- SL (answered) = answered within T / answered;
- SL (abandon-inclusive) = answered within T / (answered + abandoned);
- AHT = mean of talk + after-call work over ended calls (after-call work
  counts once the call is wrapped; an ended call not wrapped yet counts talk);
- ACW = mean after-call work over wrapped calls;
- turned away: calls refused without ringing (queue full, agent not ready, …),
  with the most common reason;
- time in state: since the agent's availability, or the call it is on, or the
  call it last ended, began, whichever is latest;
- call duration: from the answer (the ``answered`` call event, or the state's
  ``call_since``).

A service level with nothing to divide by is ``None`` (shown as "–").
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import field
from datetime import datetime, timedelta
from types import MappingProxyType

from console.core.records import dataclass
from console.floor_view.figures import (
    SPARK_BARS,
    AgentRow,
    Alert,
    QueueRow,
    duration,
    percent,
    sparkline,
)
from console.floor_view.rows import BadRow, FloorEvent, FloorRecord, parse_time

DEFAULT_STATE_LIMITS: Mapping[str, float] = MappingProxyType(
    {"wrap_up": 5 * 60.0, "not_ready": 15 * 60.0}
)
"""Seconds an agent may stay in a state before it is an alert."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    """What counts as good service and when the wallboard raises an alert."""

    sl_target: float = 0.80
    """Service level below which a queue is alerted (0..1)."""
    sl_threshold_s: float = 20.0
    """A call answered within this many seconds counts for the service level."""
    state_limits: Mapping[str, float] = field(default_factory=lambda: DEFAULT_STATE_LIMITS)
    """Seconds per availability (``wrap_up``, ``not_ready``) after which it is an alert."""
    stale_sync_s: float = 120.0
    """An agent (not offline) with no event for this long is alerted as stale."""
    history_minutes: int = 60
    """Minutes of waiting-call history in the sparkline."""


@dataclass(slots=True)
class _Call:
    queue: str
    offered_at: datetime
    outcome: str | None = None
    wait_s: float = 0.0
    talk_s: float | None = None
    acw_s: float | None = None
    reason: str = ""
    """Why it was turned away (``turned_away`` only)."""


@dataclass(slots=True)
class AgentStatus:
    """The latest known state of one agent."""

    agent_id: str
    name: str = ""
    availability: str = "offline"
    reason: str = ""
    since: datetime | None = None
    on_call: bool = False
    call_since: datetime | None = None
    team: str = ""
    last_event_at: datetime | None = None
    queues: set[str] = field(default_factory=set)
    """Queues this agent was offered calls from."""
    talking: dict[str, datetime] = field(default_factory=dict)
    """Calls answered and not ended yet: when each was answered."""
    call_ended_at: datetime | None = None
    """When the agent's last answered call ended."""
    call_id: str = ""
    """The call talked on, as the agent's console last said (for monitoring)."""
    contact: str = ""
    """The SIP URI of the agent's engine, as the agent's console last said."""

    def state_began(self) -> datetime | None:
        """When what the agent is doing now began: the availability, else the call
        it is on or last ended, whichever is latest."""
        moments = [self.since, self.call_since if self.on_call else self.call_ended_at]
        known = [moment for moment in moments if moment is not None]
        return max(known) if known else None


_MAX_TALKING = 16
"""Answered calls remembered per agent (an agent talks on one and holds a few)."""


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


class FloorState:
    """Everything the wallboard knows, folded from floor events in order."""

    def __init__(self, thresholds: Thresholds | None = None, since: datetime | None = None):
        self.thresholds = thresholds or Thresholds()
        self.since = since
        """Call events before this are left out of the queue statistics (e.g. the day start)."""
        self.last_seq = 0
        """The highest seq applied."""
        self.agents: dict[str, AgentStatus] = {}
        self._calls: dict[str, _Call] = {}
        self._waiting: dict[str, int] = {}
        # Per queue: (time, waiting count from then on), in time order.
        self._history: dict[str, list[tuple[datetime, int]]] = {}
        self.bad_rows = 0
        """Rows read that were not floor records (never applied)."""
        self.last_bad: BadRow | None = None
        """The latest of them."""

    # -- folding ------------------------------------------------------------

    def apply_all(self, events: Iterable[FloorRecord]) -> None:
        """Apply events in order."""
        for event in events:
            self.apply(event)

    def apply(self, event: FloorRecord) -> None:
        """Fold one event in (events at or below :attr:`last_seq` are ignored; a bad
        row is counted)."""
        if event.seq <= self.last_seq:
            return
        self.last_seq = event.seq
        if isinstance(event, BadRow):
            self.bad_rows += 1
            self.last_bad = event
            return
        agent = self.agents.get(event.agent_id)
        if agent is None:
            agent = self.agents[event.agent_id] = AgentStatus(event.agent_id)
        if agent.last_event_at is None or event.at > agent.last_event_at:
            agent.last_event_at = event.at
        if event.kind == "agent_state":
            self._agent_state(agent, event)
        elif event.kind == "call_event":
            self._call_event(agent, event)

    def _agent_state(self, agent: AgentStatus, event: FloorEvent) -> None:
        body = event.payload
        agent.name = _text(body.get("agent_name")) or agent.name
        agent.availability = _text(body.get("availability")) or "offline"
        agent.reason = _text(body.get("reason"))
        agent.since = parse_time(body.get("since"), event.at) if body.get("since") else event.at
        agent.on_call = body.get("on_call") is True
        call_since = body.get("call_since")
        if not agent.on_call:
            agent.call_since = None
        elif call_since:
            agent.call_since = parse_time(call_since, event.at)
        else:
            # A console reports "on call" as the agent picks up, before the
            # answer; the answered call event says when the talk began.
            agent.call_since = max(agent.talking.values(), default=None)
        if agent.availability == "offline":
            agent.talking.clear()
        if "team" in body:
            agent.team = _text(body.get("team"))
        agent.call_id = _text(body.get("call_id")) if agent.on_call else ""
        agent.contact = _text(body.get("contact")) if agent.on_call else ""

    def _agent_call(self, agent: AgentStatus, call_id: str, kind: str, at: datetime) -> None:
        """What a call event says about the agent: on a call since its answer, or not."""
        if kind == "answered":
            agent.talking[call_id] = at
            if len(agent.talking) > _MAX_TALKING:  # ends lost: forget the oldest
                del agent.talking[min(agent.talking, key=agent.talking.__getitem__)]
            # The latest answer is the call talked on (the others are held).
            if not agent.on_call or agent.call_since is None or at > agent.call_since:
                agent.call_since = at
            agent.on_call = True
        elif kind == "ended":
            agent.talking.pop(call_id, None)
            agent.call_ended_at = at
            agent.call_since = max(agent.talking.values(), default=None)
            agent.on_call = agent.call_since is not None

    def _call_event(self, agent: AgentStatus, event: FloorEvent) -> None:
        body = event.payload
        call_id = _text(body.get("call_id"))
        kind = _text(body.get("event"))
        queue = _text(body.get("queue"))
        if not call_id:
            return
        self._agent_call(agent, call_id, kind, event.at)
        if self.since is not None and event.at < self.since:
            return
        if queue:
            agent.queues.add(queue)
        call = self._calls.get(call_id)
        if kind == "turned_away":
            if call is None:
                call = self._calls[call_id] = _Call(queue, event.at)
            elif call.outcome is None:
                self._set_waiting(call.queue, -1, event.at)
            call.outcome = kind
            call.reason = _text(body.get("reason"))
            return
        if kind == "offered":
            if call is None:
                self._calls[call_id] = _Call(queue, event.at)
                self._set_waiting(queue, +1, event.at)
            return
        if call is None:
            # Offered before the window (or on a reader that started late).
            call = self._calls[call_id] = _Call(queue, event.at, outcome="unknown")
        if kind in ("answered", "abandoned", "missed"):
            if call.outcome is None:
                self._set_waiting(call.queue, -1, event.at)
            if call.outcome in (None, "unknown", "missed"):
                call.outcome = kind
                call.wait_s = _number(body.get("wait_s"))
        elif kind == "ended":
            call.talk_s = _number(body.get("talk_s"))
            if call.outcome is None:
                self._set_waiting(call.queue, -1, event.at)
                call.outcome = "answered"
                call.wait_s = _number(body.get("wait_s"))
        elif kind == "wrapped":
            call.acw_s = _number(body.get("acw_s"))

    def _set_waiting(self, queue: str, delta: int, at: datetime) -> None:
        count = max(self._waiting.get(queue, 0) + delta, 0)
        self._waiting[queue] = count
        history = self._history.setdefault(queue, [])
        bisect.insort(history, (at, count), key=lambda point: point[0])
        # Keep one point before the window so its start value is known.
        cutoff = at - timedelta(minutes=self.thresholds.history_minutes + 1)
        while len(history) > 1 and history[1][0] < cutoff:
            history.pop(0)

    # -- reading ------------------------------------------------------------

    def queue_names(self) -> list[str]:
        """Every queue seen, sorted."""
        return sorted({call.queue for call in self._calls.values()} | set(self._waiting))

    def team_names(self) -> list[str]:
        """Every non-empty team seen in agent states, sorted."""
        return sorted({agent.team for agent in self.agents.values() if agent.team})

    def queues(self, now: datetime, only: str | None = None) -> list[QueueRow]:
        """Each queue's statistics at ``now`` (only ``only`` when given), by name."""
        limit = self.thresholds.sl_threshold_s
        rows = []
        for name in self.queue_names():
            if only is not None and name != only:
                continue
            calls = [call for call in self._calls.values() if call.queue == name]
            waiting = [call for call in calls if call.outcome is None]
            answered = [call for call in calls if call.outcome == "answered"]
            abandoned = sum(1 for call in calls if call.outcome == "abandoned")
            reasons = Counter(call.reason for call in calls if call.outcome == "turned_away")
            within = sum(1 for call in answered if call.wait_s <= limit)
            handled = [
                (call.talk_s or 0.0) + (call.acw_s or 0.0)
                for call in calls
                if call.talk_s is not None
            ]
            rows.append(
                QueueRow(
                    queue=name,
                    waiting=len(waiting),
                    longest_wait_s=max(
                        ((now - call.offered_at).total_seconds() for call in waiting), default=0.0
                    ),
                    answered=len(answered),
                    abandoned=abandoned,
                    turned_away=reasons.total(),
                    top_reason=_top(reasons),
                    sl_answered=within / len(answered) if answered else None,
                    sl_abandon=within / (len(answered) + abandoned)
                    if answered or abandoned
                    else None,
                    aht_s=_mean(handled),
                    acw_s=_mean([call.acw_s for call in calls if call.acw_s is not None]),
                )
            )
        return rows

    def agent_rows(
        self, now: datetime, queue: str | None = None, team: str | None = None
    ) -> list[AgentRow]:
        """Each agent at ``now``, filtered by queue served and team, by agent id."""
        rows = []
        for agent_id in sorted(self.agents):
            agent = self.agents[agent_id]
            if queue is not None and queue not in agent.queues:
                continue
            if team is not None and agent.team != team:
                continue
            rows.append(
                AgentRow(
                    agent_id=agent_id,
                    name=agent.name or agent_id,
                    team=agent.team,
                    availability=agent.availability,
                    on_call=agent.on_call,
                    reason=agent.reason,
                    in_state_s=_age(now, agent.state_began()),
                    call_s=_age(now, agent.call_since) if agent.on_call else None,
                    sync_age_s=_age(now, agent.last_event_at),
                    call_id=agent.call_id,
                    contact=agent.contact,
                )
            )
        return rows

    def waiting_now(self, queue: str | None = None) -> int:
        """Calls waiting now (in ``queue``, or in all)."""
        if queue is not None:
            return self._waiting.get(queue, 0)
        return sum(self._waiting.values())

    def waiting_history(self, now: datetime, queue: str | None = None) -> list[int]:
        """Most calls waiting in each minute of the last hour (oldest first; ``now``'s last)."""
        minutes = self.thresholds.history_minutes
        start = now - timedelta(minutes=minutes)
        names = [queue] if queue is not None else list(self._history)
        points = sorted(
            (at, name, count)
            for name in names
            for at, count in self._history.get(name, [])
            if at <= now
        )
        current: dict[str, int] = {}
        buckets = [0] * minutes
        total = 0
        index = 0
        # Values from before the window set where it starts.
        while index < len(points) and points[index][0] < start:
            _, name, count = points[index]
            current[name] = count
            index += 1
        total = sum(current.values())
        for minute in range(minutes):
            end = start + timedelta(minutes=minute + 1)
            peak = total
            while index < len(points) and points[index][0] < end:
                _, name, count = points[index]
                current[name] = count
                total = sum(current.values())
                peak = max(peak, total)
                index += 1
            buckets[minute] = peak
        return buckets

    def alerts(
        self, now: datetime, queue: str | None = None, team: str | None = None
    ) -> list[Alert]:
        """Service levels under target, calls turned away, agents too long in a state,
        stale agents, bad rows."""
        found: list[Alert] = []
        target = self.thresholds.sl_target
        for row in self.queues(now, queue):
            if row.sl_answered is not None and row.sl_answered < target:
                found.append(
                    Alert(
                        "service_level",
                        row.queue,
                        f"{row.queue}: service level {percent(row.sl_answered)} "
                        f"under target {percent(target)}",
                    )
                )
            if row.turned_away:
                calls = "call" if row.turned_away == 1 else "calls"
                found.append(
                    Alert(
                        "turned_away",
                        row.queue,
                        f"{row.queue}: {row.turned_away} {calls} turned away, "
                        f"most often {row.top_reason}",
                    )
                )
        for agent in self.agent_rows(now, queue, team):
            limit = self.thresholds.state_limits.get(agent.availability)
            if limit is not None and agent.in_state_s is not None and agent.in_state_s > limit:
                found.append(
                    Alert(
                        "state_too_long",
                        agent.agent_id,
                        f"{agent.name}: {agent.availability} for {duration(agent.in_state_s)}",
                    )
                )
            stale = self.thresholds.stale_sync_s
            if (
                agent.availability != "offline"
                and agent.sync_age_s is not None
                and agent.sync_age_s > stale
            ):
                found.append(
                    Alert(
                        "stale_sync",
                        agent.agent_id,
                        f"{agent.name}: no update for {duration(agent.sync_age_s)}",
                    )
                )
        if self.last_bad is not None:
            rows = "row" if self.bad_rows == 1 else "rows"
            found.append(
                Alert(
                    "bad_rows",
                    str(self.last_bad.seq),
                    f"{self.bad_rows} bad floor {rows} ignored "
                    f"(last: seq {self.last_bad.seq}, {self.last_bad.problem})",
                )
            )
        return found


def _top(reasons: Counter[str]) -> str:
    """The most common reason (ties: the first alphabetically); "unknown" for a blank one."""
    if not reasons:
        return ""
    reason = min(reasons, key=lambda name: (-reasons[name], name))
    return reason or "unknown"


def _age(now: datetime, since: datetime | None) -> float | None:
    return None if since is None else max((now - since).total_seconds(), 0.0)


__all__ = [
    "DEFAULT_STATE_LIMITS",
    "SPARK_BARS",
    "AgentRow",
    "AgentStatus",
    "Alert",
    "FloorState",
    "QueueRow",
    "Thresholds",
    "duration",
    "percent",
    "sparkline",
]
