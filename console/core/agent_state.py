# SPDX-License-Identifier: GPL-2.0-or-later
"""The agent's situation as the engine reports it, and why calls do (not) arrive.

:class:`AgentState` is built from engine events (availability, registration,
turned-away calls) and answers the agent's most common question in one
sentence: "why am I not getting calls?".
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from console.core.events import (
    AnyEvent,
    AudioChanged,
    AudioFact,
    AvailabilityChanged,
    CallTurnedAway,
    Hello,
    RegistrationChanged,
)
from console.core.records import dataclass
from console.core.text import caller_label, safe_text
from sip.library_report import summary as library_summary

_REFUSED_BECAUSE = {
    "not_encrypted": "it could not be encrypted (SRTP required)",
    "no_allowed_codec": "its phone offered no codec careline allows",
}
"""Turn-away reasons the agent must be told about at once (not routine busy/not-ready)."""
_WITH_DETAIL = {"no_allowed_codec"}
"""Reasons whose engine detail (which codecs each side has) helps whoever fixes it."""


def refusal_notice(event: CallTurnedAway) -> str:
    """The on-screen sentence for a ``call.turned_away`` the agent must see ("" if routine)."""
    why = _REFUSED_BECAUSE.get(event.reason)
    if why is None:
        return ""
    label = caller_label(event.caller_name, event.caller_number)
    detail = event.detail if event.reason in _WITH_DETAIL else ""
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
    audio: AudioFact = AudioFact()
    """How the agent hears callers (mode empty until the engine says)."""
    outbound: bool = False
    """The agent is working an outbound worklist (the console's fact, not the engine's)."""

    @property
    def shown_availability(self) -> str:
        """The state people see: ``outbound`` while working a worklist, else the engine's
        availability (wrap-up, not ready and offline say more than "outbound")."""
        if self.outbound and self.availability in ("available", "not_ready"):
            return "outbound"
        return self.availability

    def apply(self, event: AnyEvent) -> AgentState:
        """The state after one engine event."""
        match event:
            case Hello():
                state = self._with_audio(event.audio) if event.audio else self
                return replace(
                    state,
                    availability=event.availability,
                    reason=event.reason,
                    since=event.since,
                    registration=event.registration,
                    registration_detail=event.registration_detail,
                    queue_capacity=event.queue_capacity,
                    live_calls=len(event.calls),
                    library=library_summary(dict(event.library)),
                )
            case AvailabilityChanged(state=state, reason=reason, since=since):
                return replace(self, availability=state, reason=reason, since=since)
            case RegistrationChanged(state=state, detail=detail):
                return replace(self, registration=state, registration_detail=detail)
            case AudioChanged(audio=audio):
                return self._with_audio(audio)
            case CallTurnedAway(reason=reason):
                return replace(
                    self,
                    last_turned_away=_REFUSED_BECAUSE.get(reason, reason),
                    last_turned_away_at=event.time,
                    refusal_notice=refusal_notice(event),
                )
        return self

    def _with_audio(self, audio: AudioFact) -> AgentState:
        return replace(
            self, queue_capacity=audio.queue_capacity or self.queue_capacity, audio=audio
        )

    def audio_label(self) -> tuple[str, bool]:
        """How the agent hears callers, in a few words, and whether it needs attention."""
        audio = self.audio
        if audio.mode == "headset":
            return ("headset", False) if audio.ok else ("headset: no device", True)
        if audio.mode == "station":
            if audio.station_state == "up":
                return "phone connected", False
            if audio.station_state == "calling":
                return "calling your phone…", True
            return "phone not connected (u)", True
        if audio.mode == "none":
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
        if self.outbound and self.availability == "available":
            return "You are working a worklist and Ready: inbound calls ring here first."
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
