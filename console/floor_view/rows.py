# SPDX-License-Identifier: GPL-2.0-or-later
"""What a floor row may hold, checked before anything reads it.

Every row the floor reads was written by some agent's console, or by whoever
holds the hub owner's rights: its payload is untrusted. :func:`check_row`
turns one stored row into a :class:`FloorEvent` whose payload has exactly the
shapes :mod:`console.core.floor` publishes (known kinds and events, the right
types, bounded lengths, sane times), or into a :class:`BadRow` that says what
is wrong in a fixed phrase naming a field, never a value from the payload
(which could be patient data).

Whose event it is comes from the row, never from the payload: on the hub the
login that wrote it (``floor_events.agent_id``), in the local store this
workstation's agent. A payload whose ``agent_id`` names someone else is bad.

Plain Python, no Textual.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any

from console.core.floor import CALL_EVENTS
from console.core.records import dataclass

FLOOR_KINDS = ("agent_state", "call_event")
"""The outbox kinds the floor reads (see :mod:`console.core.floor`)."""

READ_EVENTS = tuple(dict.fromkeys((*CALL_EVENTS, "turned_away")))
"""Every ``call_event`` kind the floor understands (``turned_away``: refused without ringing)."""

AVAILABILITIES = ("available", "outbound", "not_ready", "wrap_up", "offline")
"""Every ``availability`` an ``agent_state`` may report."""

MAX_PAYLOAD_BYTES = 8192
"""A longer payload is a bad row, and is not even fetched (the size is)."""

MAX_FIELDS = 32
"""Fields a payload may have, known ones included."""

_AGENT_ID = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_MAX_SECONDS = 86400.0
_SKEW_S = 5.0

# Known text fields and their longest length (characters).
_TEXTS = {
    "agent_id": 64,
    "agent_name": 128,
    "reason": 128,
    "team": 64,
    "call_id": 128,
    "queue": 64,
    "event": 32,
    "availability": 32,
}
_TIMES = ("at", "since", "call_since")
_SECONDS = ("wait_s", "talk_s", "acw_s")
_REQUIRED = {"agent_state": ("availability",), "call_event": ("call_id", "event")}
_NULLABLE = ("since", "call_since", "reason", "team")


@dataclass(frozen=True, slots=True)
class FloorEvent:
    """One agent state change or call event, as the floor sees it."""

    seq: int
    """Position in the source's sequence (outbox seq locally, hub seq on the hub)."""
    agent_id: str
    """The agent the event is about: the row's, never the payload's say-so."""
    kind: str
    """``agent_state`` or ``call_event``."""
    payload: dict[str, Any]
    """The checked record (see :func:`check_row`); its text is still untrusted for display."""
    at: datetime
    """When it happened (the payload's ``at``; else when it was stored), aware UTC."""


@dataclass(frozen=True, slots=True)
class BadRow:
    """A stored row that is not a floor record: skipped, counted and reported."""

    seq: int
    """Its position in the source's sequence (readers move past it)."""
    problem: str
    """What is wrong, in a fixed phrase naming at most a field (no payload content)."""
    at: datetime
    """When it was stored, aware UTC."""


FloorRecord = FloorEvent | BadRow
"""What a floor source hands out for each row."""


class _BadPayloadError(Exception):
    """A payload problem; the message is a fixed phrase."""


def parse_time(value: object, fallback: datetime) -> datetime:
    """An ISO 8601 time as aware UTC (no zone: UTC); ``fallback`` if it is not one."""
    if isinstance(value, str) and len(value) <= 40:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return fallback
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    return fallback


def _time(payload: dict[str, Any], name: str) -> datetime | None:
    value = payload.get(name)
    if value is None:
        if name in _NULLABLE or name not in payload:
            return None
        raise _BadPayloadError(f"{name} is not a time")
    if not isinstance(value, str) or len(value) > 40:
        raise _BadPayloadError(f"{name} is not a time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _BadPayloadError(f"{name} is not a time") from None
    if moment.tzinfo is None:
        raise _BadPayloadError(f"{name} has no time zone")
    moment = moment.astimezone(UTC)
    if not _EARLIEST <= moment < _LATEST:
        raise _BadPayloadError(f"{name} is out of range")
    return moment


def _json_type(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def _check_fields(payload: dict[str, Any]) -> None:
    if len(payload) > MAX_FIELDS:
        raise _BadPayloadError("payload has too many fields")
    for name, value in payload.items():
        limit = _TEXTS.get(name)
        if limit is not None:
            if value is None and name in _NULLABLE:
                continue
            if not isinstance(value, str):
                raise _BadPayloadError(f"{name} is not text")
            if len(value) > limit:
                raise _BadPayloadError(f"{name} is too long")
        elif name in _SECONDS:
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise _BadPayloadError(f"{name} is not a number")
            if not (math.isfinite(value) and 0 <= value <= _MAX_SECONDS):
                raise _BadPayloadError(f"{name} is out of range")
        elif name == "on_call":
            if not isinstance(value, bool):
                raise _BadPayloadError("on_call is not true or false")
        elif name == "schema":
            if value != 1 or isinstance(value, bool):
                raise _BadPayloadError("schema is not 1")
        elif name not in _TIMES:
            # Unknown fields (a newer console's, a benchmark's) may ride along as
            # plain values; nothing nested and nothing long.
            if len(name) > 64:
                raise _BadPayloadError("a field name is too long")
            if isinstance(value, dict | list):
                raise _BadPayloadError("an unknown field holds a nested value")
            if isinstance(value, str) and len(value) > 256:
                raise _BadPayloadError("an unknown field is too long")
            if isinstance(value, float) and not math.isfinite(value):
                raise _BadPayloadError("an unknown field is not a finite number")


def _checked(kind: str, row_agent: str, payload: object) -> tuple[dict[str, Any], datetime | None]:
    if not isinstance(payload, dict):
        raise _BadPayloadError(f"payload is {_json_type(payload)}, not an object")
    _check_fields(payload)
    for name in _REQUIRED[kind]:
        if name not in payload:
            raise _BadPayloadError(f"{name} is missing")
    claimed = payload.get("agent_id")
    if claimed is not None and claimed != row_agent:
        raise _BadPayloadError("agent_id names another agent than the row's")
    at = _time(payload, "at")
    if kind == "agent_state":
        if payload["availability"] not in AVAILABILITIES:
            raise _BadPayloadError("availability is not a known state")
        for name in ("since", "call_since"):
            moment = _time(payload, name)
            if moment is not None and at is not None and (moment - at).total_seconds() > _SKEW_S:
                raise _BadPayloadError(f"{name} is after at")
    else:
        if payload["event"] not in READ_EVENTS:
            raise _BadPayloadError("event is not a known call event")
        if not payload["call_id"]:
            raise _BadPayloadError("call_id is empty")
    return {**payload, "agent_id": row_agent}, at


def check_row(
    seq: int,
    kind: str,
    row_agent: str,
    payload: str | None,
    stored_at: datetime,
    size: int | None = None,
) -> FloorRecord:
    """One stored row as a :class:`FloorEvent`, or a :class:`BadRow` saying what is wrong.

    ``payload`` is the row's JSON text (None when the source did not fetch it
    because ``size``, its length in bytes, is over :data:`MAX_PAYLOAD_BYTES`).
    ``row_agent`` is whose row it is: the hub login that wrote it, or this
    workstation's agent.
    """
    try:
        if kind not in FLOOR_KINDS:
            raise _BadPayloadError("kind is not a floor kind")
        if not _AGENT_ID.match(row_agent):
            raise _BadPayloadError("the row's agent is not a valid agent id")
        if payload is None or (size or 0) > MAX_PAYLOAD_BYTES:
            raise _BadPayloadError("payload is too large")
        if len(payload.encode("utf-8", "surrogatepass")) > MAX_PAYLOAD_BYTES:
            raise _BadPayloadError("payload is too large")
        try:
            body = json.loads(payload)
        except RecursionError:
            raise _BadPayloadError("payload is nested too deeply") from None
        except ValueError:
            raise _BadPayloadError("payload is not JSON") from None
        checked, at = _checked(kind, row_agent, body)
    except _BadPayloadError as bad:
        return BadRow(seq, str(bad), stored_at)
    return FloorEvent(seq, row_agent, kind, checked, at or stored_at)
