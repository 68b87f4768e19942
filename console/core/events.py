# SPDX-License-Identifier: GPL-2.0-or-later
"""Engine events as typed values, decoded once where they enter the console.

The engine speaks JSON (``docs/engine-protocol.md``); everything in the console
past :func:`decode` works with the dataclasses here and matches on their type,
never on the ``"event"`` string. Decoding is total: an event the console does
not use, or one too malformed to use (a call without an id, a field of the
wrong type), becomes :class:`Ignored` with the reason, never an exception —
the engine is trusted to speak the protocol, but its strings (callers' names,
numbers, headers) are untrusted and are kept verbatim for safe rendering later.

The protocol objects a call arrives with are kept as ``record`` beside the
typed fields: the store persists them as the engine sent them (the timeline,
the caller's URI), and nothing else reads them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import field
from datetime import datetime
from typing import Any

from console.core.calls import LiveCall, codec_label, parse_time
from console.core.monitor_events import (
    MONITOR_EVENTS,
    MonitorChanged,
    MonitorEnded,
    MonitorRequested,
    decode_monitor,
)
from console.core.records import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineEvent:
    """What every event carries: its name and when the engine says it happened."""

    name: str
    """The protocol name (``call.incoming``…), for logs and the floor only."""
    time_text: str = ""
    """The engine's timestamp as sent (ISO 8601 ``…Z``), or ""."""
    time: datetime | None = None
    """The engine's timestamp, parsed (None when absent or unreadable)."""


@dataclass(frozen=True, slots=True)
class AudioFact:
    """How the agent hears callers, as the engine reports it (``audio`` event or hello)."""

    mode: str = ""
    ok: bool = True
    detail: str = ""
    station_state: str = "off"
    station_detail: str = ""
    queue_capacity: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Hello(EngineEvent):
    """The engine's snapshot at (re)connection: everything the console shows is rebuilt."""

    calls: tuple[LiveCall, ...] = ()
    availability: str = "available"
    reason: str = ""
    since: datetime | None = None
    registration: str = "none"
    registration_detail: str = ""
    queue_capacity: int = 3
    audio: AudioFact | None = None
    library: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AvailabilityChanged(EngineEvent):
    """The agent's availability as the engine applies it (``agent.availability``)."""

    state: str = "available"
    reason: str = ""
    since: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationChanged(EngineEvent):
    """Registration with the PBX (``registration``)."""

    state: str = "failed"
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioChanged(EngineEvent):
    """The audio mode or its health changed (``audio``)."""

    audio: AudioFact


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAppeared(EngineEvent):
    """A call rang in (``call.incoming``) or the agent dialled one (``call.outgoing``)."""

    call: LiveCall
    outgoing: bool = False
    """True for a call the agent placed."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallReplaced(EngineEvent):
    """The same conversation under a new call id (an attended transfer's Replaces)."""

    call_id: str
    new_call: LiveCall


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEvent(EngineEvent):
    """An event about one known call, by id."""

    call_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallStateChanged(CallEvent):
    """``call.state``: ringing, connecting, active…"""

    state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallHoldChanged(CallEvent):
    """``call.hold``: hold at our side (``local``) or the far side (``remote``)."""

    local: bool = False
    remote: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallCodecChanged(CallEvent):
    """``call.codec``: the audio codec negotiated, as a label for people."""

    codec: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallMuteChanged(CallEvent):
    """``call.mute``."""

    muted: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTransferChanged(CallEvent):
    """``call.transfer``: trying, succeeded or failed."""

    status: str = ""
    target: str = ""
    detail: str = ""
    sip_status: int | None = None
    consult_id: str | None = None
    """The consult leg's id from the event's call object, when it has one."""
    has_call: bool = False
    """Whether the event carried the call object (then ``consult_id`` is current)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded(CallEvent):
    """``call.ended``: the call is gone, with why and who ended it."""

    reason: str = "failed"
    ended_by: str = "network"
    sip_status: int | None = None
    record: Mapping[str, Any] = field(default_factory=dict)
    """The final protocol call object (timeline included), or ``{"id": call_id}``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTurnedAway(EngineEvent):
    """``call.turned_away``: an INVITE refused without ringing (busy, not ready…)."""

    reason: str = ""
    detail: str = ""
    caller_name: str = ""
    caller_number: str = ""
    queue: str = ""
    record: Mapping[str, Any] = field(default_factory=dict)
    """The event as sent, for the store's row (caller URI, called URI, SIP status)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordingChanged(EngineEvent):
    """A call's recording changed (``recording``): started, paused, held, stopped, refused…"""

    call_id: str
    mode: str = ""
    """``announce`` or ``consent``."""
    state: str = ""
    """``announcing``, ``awaiting_consent``, ``recording``, ``refused``, ``failed``, ``stopped``."""
    paused: bool = False
    held: bool = False
    detail: str = ""
    """Why it failed, in words for the agent."""
    reason: str = ""
    """Why it was paused or resumed (``agent``, a form's id)."""
    consent_by: str = ""
    """``patient`` or ``agent``: who agreed (or refused)."""
    file: str = ""
    seconds: float | None = None
    bytes: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Ignored(EngineEvent):
    """An event the console has no use for, or one too malformed to use."""

    why: str = "not used by the console"


AnyEvent = (
    Hello
    | AvailabilityChanged
    | RegistrationChanged
    | AudioChanged
    | CallAppeared
    | CallReplaced
    | CallStateChanged
    | CallHoldChanged
    | CallCodecChanged
    | CallMuteChanged
    | CallTransferChanged
    | CallEnded
    | CallTurnedAway
    | RecordingChanged
    | MonitorRequested
    | MonitorChanged
    | MonitorEnded
    | Ignored
)
"""Every event the console acts on (a tagged union: match on the class)."""


class _MalformedError(Exception):
    """A field the event needs is missing or of the wrong type."""


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(source: Mapping[str, Any], key: str, default: str = "") -> str:
    value = source.get(key)
    return default if value is None else str(value)


def _status(source: Mapping[str, Any]) -> int | None:
    value = source.get("sip_status")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _call(value: object) -> LiveCall:
    if not isinstance(value, Mapping) or not value.get("id"):
        raise _MalformedError("no call object with an id")
    try:
        return LiveCall.from_protocol(dict(value))
    except Exception as exc:  # any unreadable field: the call is malformed
        raise _MalformedError(f"unreadable call object ({type(exc).__name__})") from None


def _call_id(raw: Mapping[str, Any]) -> str:
    call_id = _text(raw, "call_id")
    if not call_id:
        raise _MalformedError("no call_id")
    return call_id


def _count(value: object) -> int | None:
    """A positive whole number, or None (a bool, a float, 1e400 or "3" are not counts)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10_000:
        return value
    return None


def _audio(fact: Mapping[str, Any]) -> AudioFact:
    station = _mapping(fact.get("station"))
    return AudioFact(
        mode=_text(fact, "mode"),
        ok=bool(fact.get("ok", True)),
        detail=_text(fact, "detail"),
        station_state=_text(station, "state", "off"),
        station_detail=_text(station, "detail"),
        queue_capacity=_count(fact.get("queue_capacity")),
    )


def _hello(raw: Mapping[str, Any], base: dict[str, Any]) -> Hello:
    status = _mapping(raw.get("status"))
    availability = _mapping(status.get("availability"))
    registration = _mapping(status.get("registration"))
    calls = status.get("calls") or []
    if not isinstance(calls, list):
        raise _MalformedError("status.calls is not a list")
    capacity = _count(status.get("queue_capacity")) or _count(status.get("max_calls")) or 3
    audio = _mapping(status.get("audio"))
    return Hello(
        **base,
        calls=tuple(_snapshot_calls(calls)),
        availability=_text(availability, "state", "available"),
        reason=_text(availability, "reason"),
        since=parse_time(availability.get("since")),
        registration=_text(registration, "state", "none"),
        registration_detail=_text(registration, "detail"),
        queue_capacity=capacity,
        audio=_audio(audio) if audio else None,
        library=_mapping(status.get("library")),
    )


def _snapshot_calls(calls: list[Any]) -> list[LiveCall]:
    """The readable calls of a hello snapshot: one unreadable call is left out (and
    logged), not the whole snapshot with every other call and the agent's state."""
    readable = []
    for call in calls:
        try:
            readable.append(_call(call))
        except _MalformedError as exc:
            log.warning("hello: a call left out of the engine's snapshot (%s)", exc)
    return readable


def _transfer(raw: Mapping[str, Any], base: dict[str, Any]) -> CallTransferChanged:
    try:
        linked = _call(raw["call"]) if "call" in raw else None
    except _MalformedError:
        linked = None  # the transfer's outcome still counts; only the consult link is lost
    return CallTransferChanged(
        **base,
        call_id=_call_id(raw),
        status=_text(raw, "status"),
        target=_text(raw, "target"),
        detail=_text(raw, "detail"),
        sip_status=_status(raw),
        consult_id=linked.consult_id if linked else None,
        has_call=linked is not None,
    )


def _ended(raw: Mapping[str, Any], base: dict[str, Any]) -> CallEnded:
    call_id = _call_id(raw)
    record = raw.get("call")
    return CallEnded(
        **base,
        call_id=call_id,
        reason=_text(raw, "reason", "failed"),
        ended_by=_text(raw, "ended_by", "network"),
        sip_status=_status(raw),
        record=dict(record) if isinstance(record, Mapping) and record else {"id": call_id},
    )


def _turned_away(raw: Mapping[str, Any], base: dict[str, Any]) -> CallTurnedAway:
    caller = _mapping(raw.get("caller"))
    return CallTurnedAway(
        **base,
        reason=_text(raw, "reason"),
        detail=_text(raw, "detail"),
        caller_name=_text(caller, "display_name"),
        caller_number=_text(caller, "number"),
        queue=_text(raw, "queue"),
        record=dict(raw),
    )


def _recording(raw: Mapping[str, Any], base: dict[str, Any]) -> RecordingChanged:
    seconds = raw.get("seconds")
    size = raw.get("bytes")
    return RecordingChanged(
        **base,
        call_id=_call_id(raw),
        mode=_text(raw, "mode"),
        state=_text(raw, "state"),
        paused=bool(raw.get("paused")),
        held=bool(raw.get("held")),
        detail=_text(raw, "detail")[:200],
        reason=_text(raw, "reason")[:40],
        consent_by=_text(raw, "consent_by"),
        file=_text(raw, "file"),
        seconds=float(seconds) if isinstance(seconds, int | float) else None,
        bytes=size if isinstance(size, int) and not isinstance(size, bool) else None,
    )


def _decode(name: str, raw: Mapping[str, Any], base: dict[str, Any]) -> AnyEvent:
    """The typed event for ``raw`` (raises :class:`_MalformedError` or a type error)."""
    if name == "hello":
        return _hello(raw, base)
    if name == "agent.availability":
        return AvailabilityChanged(
            **base,
            state=_text(raw, "state", "available"),
            reason=_text(raw, "reason"),
            since=parse_time(raw.get("since")),
        )
    if name == "registration":
        return RegistrationChanged(
            **base, state=_text(raw, "state", "failed"), detail=_text(raw, "detail")
        )
    if name == "audio":
        return AudioChanged(**base, audio=_audio(raw))
    if name in ("call.incoming", "call.outgoing"):
        outgoing = name == "call.outgoing"
        return CallAppeared(**base, call=_call(raw.get("call")), outgoing=outgoing)
    if name == "call.replaced":
        return CallReplaced(
            **base, call_id=_text(raw, "call_id"), new_call=_call(raw.get("new_call"))
        )
    if name == "call.state":
        return CallStateChanged(**base, call_id=_call_id(raw), state=_text(raw, "state"))
    if name == "call.hold":
        return CallHoldChanged(
            **base,
            call_id=_call_id(raw),
            local=bool(raw.get("local")),
            remote=bool(raw.get("remote")),
        )
    if name == "call.codec":
        return CallCodecChanged(**base, call_id=_call_id(raw), codec=codec_label(dict(raw)))
    if name == "call.mute":
        return CallMuteChanged(**base, call_id=_call_id(raw), muted=bool(raw.get("muted")))
    if name == "call.transfer":
        return _transfer(raw, base)
    if name == "call.ended":
        return _ended(raw, base)
    if name == "call.turned_away":
        return _turned_away(raw, base)
    if name == "recording":
        return _recording(raw, base)
    if name in MONITOR_EVENTS:
        return decode_monitor(name, raw, base)
    return Ignored(**base)


def decode(raw: Mapping[str, Any]) -> AnyEvent:
    """The typed event for one protocol event object; never raises."""
    name = _text(raw, "event")
    time_value = raw.get("time")
    time_text = time_value if isinstance(time_value, str) else ""
    time = parse_time(time_text)
    base = {"name": name, "time_text": time_text, "time": time}
    try:
        return _decode(name, raw, base)
    except Exception as exc:  # an engine line must never take the console down
        # The reason names a field, never its value: values are callers' names and numbers.
        why = str(exc) if isinstance(exc, _MalformedError) else type(exc).__name__
        log.warning("ignoring a malformed %r event from the engine: %s", name[:40], why)
        return Ignored(name=name, time_text=time_text, time=time, why=f"malformed: {why}")
