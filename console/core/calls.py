"""The console's picture of live calls, built from engine events.

:class:`CallQueue` holds what the agent sees: ringing calls waiting, the call
being talked on, and when each started. It is updated only from protocol
events, so it is the same after a reconnect (the ``hello`` snapshot rebuilds
it) as before.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any


def parse_time(value: object) -> datetime | None:
    """An engine timestamp (ISO 8601, ``Z``) as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class LiveCall:
    """One call the engine holds for this agent."""

    id: str
    caller_name: str
    caller_number: str
    called_uri: str
    state: str
    received_at: datetime
    answered_at: datetime | None = None

    @classmethod
    def from_protocol(cls, call: dict[str, Any]) -> LiveCall:
        """Build from a protocol call object (untrusted strings kept verbatim)."""
        caller = call.get("caller") or {}
        return cls(
            id=str(call["id"]),
            caller_name=str(caller.get("display_name", "")),
            caller_number=str(caller.get("number", "")),
            called_uri=str(call.get("called_uri", "")),
            state=str(call.get("state", "ringing")),
            received_at=parse_time(call.get("received_at")) or datetime.now(UTC),
            answered_at=parse_time(call.get("answered_at")),
        )

    @property
    def ringing(self) -> bool:
        """Waiting for the agent to answer."""
        return self.state == "ringing"

    def seconds_waiting(self, now: datetime) -> float:
        """Time since the call arrived."""
        return max(0.0, (now - self.received_at).total_seconds())

    def seconds_talking(self, now: datetime) -> float:
        """Time since the call was answered (0 if not answered)."""
        if self.answered_at is None:
            return 0.0
        return max(0.0, (now - self.answered_at).total_seconds())


class CallQueue:
    """Live calls in arrival order, updated from engine events."""

    def __init__(self) -> None:
        self._calls: dict[str, LiveCall] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[LiveCall]:
        return iter(self.calls())

    def calls(self) -> list[LiveCall]:
        """Every live call, longest waiting first."""
        return sorted(self._calls.values(), key=lambda call: call.received_at)

    def get(self, call_id: str) -> LiveCall | None:
        """The live call with this id."""
        return self._calls.get(call_id)

    def ringing(self) -> list[LiveCall]:
        """Calls waiting to be answered, longest waiting first."""
        return [call for call in self.calls() if call.ringing]

    def active(self) -> LiveCall | None:
        """The call the agent is talking on (or connecting), if any."""
        for call in self.calls():
            if call.state in ("active", "connecting"):
                return call
        return None

    def reset(self, calls: list[dict[str, Any]]) -> None:
        """Replace everything with the engine's snapshot (after hello)."""
        self._calls = {}
        for call in calls:
            live = LiveCall.from_protocol(call)
            self._calls[live.id] = live

    def clear(self) -> list[LiveCall]:
        """Forget every call (engine lost); returns what was dropped."""
        dropped = self.calls()
        self._calls = {}
        return dropped

    def apply(self, event: dict[str, Any]) -> LiveCall | None:
        """Update from one event; returns the call it concerned, if any."""
        name = event.get("event")
        if name == "call.incoming":
            call = LiveCall.from_protocol(event["call"])
            self._calls[call.id] = call
            return call
        call_id = str(event.get("call_id", ""))
        current = self._calls.get(call_id)
        if current is None:
            return None
        if name == "call.state":
            state = str(event.get("state", current.state))
            answered = current.answered_at
            if state == "active" and answered is None:
                answered = parse_time(event.get("time")) or datetime.now(UTC)
            updated = replace(current, state=state, answered_at=answered)
            self._calls[call_id] = updated
            return updated
        if name == "call.ended":
            return self._calls.pop(call_id)
        return None


def format_duration(seconds: float) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` above."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
