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
from console.core.text import caller_label, safe_text
from sip.library_report import summary as library_summary

_REFUSED_BECAUSE = {
    "not_encrypted": "it could not be encrypted (SRTP required)",
    "no_allowed_codec": "its phone offered no codec careline allows",
}
"""Turn-away reasons the agent must be told about at once (not routine busy/not-ready)."""
_WITH_DETAIL = {"no_allowed_codec"}
"""Reasons whose engine detail (which codecs each side has) helps whoever fixes it."""


def refusal_notice(event: dict[str, Any]) -> str:
    """The on-screen sentence for a ``call.turned_away`` the agent must see ("" if routine)."""
    reason = str(event.get("reason", ""))
    why = _REFUSED_BECAUSE.get(reason)
    if why is None:
        return ""
    caller = event.get("caller") or {}
    label = caller_label(str(caller.get("display_name", "")), str(caller.get("number", "")))
    detail = str(event.get("detail", "")) if reason in _WITH_DETAIL else ""
    # The detail names the caller's codecs: untrusted text, shown as one plain line.
    suffix = f" ({safe_text(detail, 120)})" if detail else ""
    return f"Call from {label} refused: {why}{suffix}."


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
    library: str = ""
    """The engine's phone library in one line (pjsua2 build, OpenSSL, TLS, slots)."""
    last_turned_away: str = ""
    """Why the most recent call was turned away, if one was."""
    last_turned_away_at: datetime | None = None
    refusal_notice: str = ""
    """The sentence to show for the latest turned-away call when the agent must know ("")."""
    audio_mode: str = ""
    """``headset``, ``station`` or ``none``; empty until the engine says."""
    audio_ok: bool = True
    """False when the headset could not be opened."""
    audio_detail: str = ""
    station_state: str = "off"
    """The station leg: ``off``, ``calling``, ``up`` or ``down``."""
    station_detail: str = ""

    def apply(self, event: dict[str, Any]) -> AgentState:
        """The state after one engine event."""
        name = event.get("event")
        if name == "hello":
            status = event.get("status") or {}
            availability = status.get("availability") or {}
            registration = status.get("registration") or {}
            return replace(
                self._with_audio(status.get("audio") or {}),
                availability=str(availability.get("state", "available")),
                reason=str(availability.get("reason", "")),
                since=parse_time(availability.get("since")),
                registration=str(registration.get("state", "none")),
                registration_detail=str(registration.get("detail", "")),
                queue_capacity=int(status.get("queue_capacity") or status.get("max_calls") or 3),
                live_calls=len(status.get("calls") or []),
                library=library_summary(status.get("library") or {}),
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
        if name == "audio":
            return self._with_audio(event)
        if name == "call.turned_away":
            return replace(
                self,
                last_turned_away=_REFUSED_BECAUSE.get(
                    str(event.get("reason", "")), str(event.get("reason", ""))
                ),
                last_turned_away_at=parse_time(event.get("time")),
                refusal_notice=refusal_notice(event),
            )
        return self

    def _with_audio(self, fact: dict[str, Any]) -> AgentState:
        if not fact:
            return self
        station = fact.get("station") or {}
        return replace(
            self,
            queue_capacity=int(fact.get("queue_capacity") or self.queue_capacity),
            audio_mode=str(fact.get("mode", "")),
            audio_ok=bool(fact.get("ok", True)),
            audio_detail=str(fact.get("detail", "")),
            station_state=str(station.get("state", "off")),
            station_detail=str(station.get("detail", "")),
        )

    def audio_label(self) -> tuple[str, bool]:
        """How the agent hears callers, in a few words, and whether it needs attention."""
        if self.audio_mode == "headset":
            return ("headset", False) if self.audio_ok else ("headset: no device", True)
        if self.audio_mode == "station":
            if self.station_state == "up":
                return "phone connected", False
            if self.station_state == "calling":
                return "calling your phone…", True
            return "phone not connected (u)", True
        if self.audio_mode == "none":
            return "no audio", False
        return "", False

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
