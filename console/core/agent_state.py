"""The agent's situation as the engine reports it, and why calls do (not) arrive.

:class:`AgentState` is built from engine events (availability, registration,
turned-away calls) and answers the agent's most common question in one
sentence: "why am I not getting calls?".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from console.core.calls import parse_time


@dataclass(frozen=True, slots=True)
class AgentState:
    """Phone, availability, registration and queue facts, as plain values."""

    phone_online: bool = False
    phone_detail: str = "starting"
    availability: str = "available"
    reason: str = ""
    since: datetime | None = None
    registration: str = "none"
    """``none`` (no registrar configured), ``registering``, ``registered``, ``failed``…"""
    registration_detail: str = ""
    live_calls: int = 0
    queue_capacity: int = 3
    last_turned_away: str = ""
    """Why the most recent call was turned away, if one was."""
    last_turned_away_at: datetime | None = None

    def apply(self, event: dict[str, Any]) -> AgentState:
        """The state after one engine event."""
        name = event.get("event")
        if name == "hello":
            status = event.get("status") or {}
            availability = status.get("availability") or {}
            registration = status.get("registration") or {}
            return replace(
                self,
                availability=str(availability.get("state", "available")),
                reason=str(availability.get("reason", "")),
                since=parse_time(availability.get("since")),
                registration=str(registration.get("state", "none")),
                registration_detail=str(registration.get("detail", "")),
                queue_capacity=int(status.get("queue_capacity") or status.get("max_calls") or 3),
                live_calls=len(status.get("calls") or []),
            )
        if name == "agent.availability":
            return replace(
                self,
                availability=str(event.get("state", "available")),
                reason=str(event.get("reason", "")),
                since=parse_time(event.get("since")),
            )
        if name == "registration":
            return replace(
                self,
                registration=str(event.get("state", "failed")),
                registration_detail=str(event.get("detail", "")),
            )
        if name == "call.turned_away":
            return replace(
                self,
                last_turned_away=str(event.get("reason", "")),
                last_turned_away_at=parse_time(event.get("time")),
            )
        return self

    def explain(self, now: datetime) -> str:
        """One sentence: why calls are (not) reaching this agent right now."""
        if not self.phone_online:
            return f"Your phone is offline ({self.phone_detail}); careline is restarting it."
        if self.registration == "failed":
            return f"Your phone is not registered: {self.registration_detail}."
        if self.registration in ("registering", "unregistering"):
            return "Your phone is still registering with the PBX; calls can't reach you yet."
        if self.availability != "available":
            since = f" since {self.since.astimezone().strftime('%H:%M')}" if self.since else ""
            label = {"not_ready": "Not ready", "wrap_up": "in wrap-up", "offline": "Offline"}.get(
                self.availability, self.availability
            )
            reason = f" with reason {self.reason}" if self.reason else ""
            return f"You are {label}{since}{reason}: new calls are turned away until you are Ready."
        if self.live_calls >= self.queue_capacity:
            return (
                f"Your local queue is full ({self.live_calls}/{self.queue_capacity} calls): "
                "new calls get busy until you end or transfer one."
            )
        recent = ""
        if self.last_turned_away and self.last_turned_away_at is not None:
            ago = int((now - self.last_turned_away_at).total_seconds())
            if ago < 600:
                recent = f" (a call was turned away {ago} s ago: {self.last_turned_away})"
        return f"You are Ready and your phone is online: calls will ring here{recent}."
