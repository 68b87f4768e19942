# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's picture of live calls, built from engine events.

:class:`CallQueue` holds what the agent sees: ringing calls waiting, the call
being talked on, calls on hold, consult legs, and when each started. It is
updated only from protocol events, so it is the same after a reconnect (the
``hello`` snapshot rebuilds it) as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import field, replace
from datetime import UTC, datetime
from typing import Any

from console.core.records import dataclass

_PRIORITY_RANK = {"emergency": 0, "urgent": 1, "normal": 2, "non-urgent": 3}
"""RFC 3261 Priority values, most pressing first; anything else counts as normal."""


def parse_time(value: object) -> datetime | None:
    """An engine timestamp (ISO 8601, ``Z``) as an aware datetime, or None.

    A time without an offset is taken as UTC (the engine speaks UTC): a naive
    datetime would break every comparison with the console's aware clock.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


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
    direction: str = "inbound"
    queue: str = ""
    priority: str = ""
    local_hold: bool = False
    remote_hold: bool = False
    muted: bool = False
    auto_answered: bool = False
    consult_for: str | None = None
    consult_id: str | None = None
    transfer_status: str = ""
    transfer_target: str = ""
    dtmf_sent: str = ""
    """Digits the agent sent on this call (shown while the call is up, never stored)."""
    headers: dict[str, str] = field(default_factory=dict)
    codec: str = ""
    """The audio codec negotiated last, for people: ``G722 16 kHz``; empty before media."""
    record: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """The protocol call object as the engine sent it: what the store persists."""

    @classmethod
    def from_protocol(cls, call: dict[str, Any]) -> LiveCall:
        """Build from a protocol call object (untrusted strings kept verbatim)."""
        caller = call.get("caller") or {}
        hold = call.get("hold") or {}
        transfer = call.get("transfer") or {}
        headers = {str(k): str(v) for k, v in (call.get("headers") or {}).items()}
        return cls(
            id=str(call["id"]),
            caller_name=str(caller.get("display_name", "")),
            caller_number=str(caller.get("number", "")),
            called_uri=str(call.get("called_uri", "")),
            state=str(call.get("state", "ringing")),
            received_at=parse_time(call.get("received_at")) or datetime.now(UTC),
            answered_at=parse_time(call.get("answered_at")),
            direction=str(call.get("direction", "inbound")),
            queue=str(call.get("queue", "")),
            priority=headers.get("Priority", "").strip().lower(),
            local_hold=bool(hold.get("local", False)),
            remote_hold=bool(hold.get("remote", False)),
            muted=bool(call.get("muted", False)),
            auto_answered=bool(call.get("auto_answered", False)),
            consult_for=_call_ref(call.get("consult_for")),
            consult_id=_call_ref(call.get("consult_id")),
            transfer_status=str(transfer.get("status", "")),
            transfer_target=str(transfer.get("target", "")),
            headers=headers,
            codec=codec_label(call.get("codec")),
            record=call,
        )

    @property
    def ringing(self) -> bool:
        """An inbound call waiting for the agent to answer."""
        return self.state == "ringing" and self.direction == "inbound"

    @property
    def talking(self) -> bool:
        """Answered and not on hold at our side."""
        return self.state == "active" and not self.local_hold

    @property
    def priority_rank(self) -> int:
        """0 for emergency … 3 for non-urgent."""
        return _PRIORITY_RANK.get(self.priority, 2)

    def seconds_waiting(self, now: datetime) -> float:
        """Time since the call arrived."""
        return max(0.0, (now - self.received_at).total_seconds())

    def seconds_talking(self, now: datetime) -> float:
        """Time since the call was answered (0 if not answered)."""
        if self.answered_at is None:
            return 0.0
        return max(0.0, (now - self.answered_at).total_seconds())


class CallQueue:
    """Live calls, priority first then longest waiting, updated from engine events."""

    def __init__(self) -> None:
        self._calls: dict[str, LiveCall] = {}

    def __len__(self) -> int:
        return len(self._calls)

    def __iter__(self) -> Iterator[LiveCall]:
        return iter(self.calls())

    def calls(self) -> list[LiveCall]:
        """Every live call: priority on top, then longest waiting first."""
        return sorted(self._calls.values(), key=lambda c: (c.priority_rank, c.received_at))

    def get(self, call_id: str) -> LiveCall | None:
        """The live call with this id."""
        return self._calls.get(call_id)

    def ringing(self) -> list[LiveCall]:
        """Inbound calls waiting to be answered, in queue order."""
        return [call for call in self.calls() if call.ringing]

    def active(self) -> LiveCall | None:
        """The call the agent is talking on (or connecting/dialling), if any."""
        for call in self.calls():
            if (
                call.talking
                or call.state in ("connecting", "calling", "early")
                or (call.state == "ringing" and call.direction == "outbound")
            ):
                return call
        return None

    def held(self) -> list[LiveCall]:
        """Answered calls the agent has on hold."""
        return [call for call in self.calls() if call.state == "active" and call.local_hold]

    def consult_pair(self) -> tuple[LiveCall, LiveCall] | None:
        """(call being transferred, consult call) when a consult is up."""
        for call in self._calls.values():
            if call.consult_for and call.consult_for in self._calls:
                return self._calls[call.consult_for], call
        return None

    def reset(self, calls: Iterable[LiveCall]) -> None:
        """Replace everything with the engine's snapshot (after hello)."""
        self._calls = {call.id: call for call in calls}

    def clear(self) -> list[LiveCall]:
        """Forget every call (engine lost); returns what was dropped."""
        dropped = self.calls()
        self._calls = {}
        return dropped

    def name_outbound(self, call_id: str, names: dict[str, str]) -> None:
        """Give a dialled call the directory name of its number or URI, when it has none."""
        call = self._calls.get(call_id)
        if call is None or call.caller_name:
            return
        for key in (call.called_uri, call.caller_number):
            if key in names:
                self._calls[call_id] = replace(call, caller_name=names[key])
                return

    def note_dtmf(self, call_id: str, digits: str) -> None:
        """Remember digits the agent sent (for the call panel)."""
        call = self._calls.get(call_id)
        if call is not None:
            self._calls[call_id] = replace(call, dtmf_sent=(call.dtmf_sent + digits)[-24:])

    def add(self, call: LiveCall) -> None:
        """A new call (ringing in or dialled); a consult leg is linked to its original."""
        self._calls[call.id] = call
        original = self._calls.get(call.consult_for or "")
        if original is not None:
            self._calls[original.id] = replace(original, consult_id=call.id)

    def rename(self, old_id: str, call: LiveCall) -> None:
        """The same conversation under a new call id."""
        self._calls.pop(old_id, None)
        self._calls[call.id] = call

    def update(self, call: LiveCall) -> None:
        """A known call's new picture."""
        if call.id in self._calls:
            self._calls[call.id] = call

    def remove(self, call_id: str) -> LiveCall | None:
        """An ended call: gone, and no other call points at it any more."""
        removed = self._calls.pop(call_id, None)
        for other_id, other in list(self._calls.items()):
            if other.consult_id == call_id or other.consult_for == call_id:
                self._calls[other_id] = replace(other, consult_id=None, consult_for=None)
        return removed


def _call_ref(value: object) -> str | None:
    """Another call's id, or None (an id is a non-empty string; anything else is no link)."""
    return value if isinstance(value, str) and value else None


def codec_label(fact: object) -> str:
    """``G722 16 kHz`` from a protocol codec object (``name``, ``clock_rate``); "" if none."""
    if not isinstance(fact, dict):
        return ""
    name = str(fact.get("name", ""))[:32]
    rate = fact.get("clock_rate")
    if not name:
        return ""
    if not isinstance(rate, int) or rate <= 0:
        return name
    khz = rate / 1000
    return f"{name} {khz:g} kHz"


def format_duration(seconds: float) -> str:
    """``m:ss`` under an hour, ``h:mm:ss`` above."""
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
