# SPDX-License-Identifier: GPL-2.0-or-later
"""The engine protocol: JSON objects, one per line, over a Unix socket or stdio.

This module is plain Python (no pjsua2) so that the console, the tests and
the benchmarks share the exact wire format with the engine. The full
reference with examples is ``docs/engine-protocol.md``.

Three kinds of message travel:

* command (client → engine): ``{"id": "7", "cmd": "answer", "call": "…"}``;
* reply (engine → the client that sent the command, exactly one per
  command): ``{"type": "reply", "id": "7", "ok": true, "result": {…}}`` or
  ``{"type": "reply", "id": "7", "ok": false, "error": {"code": "…",
  "message": "…"}}``;
* event (engine → every client): ``{"type": "event", "event": "call.state",
  "seq": 12, "time": "2026-…Z", …}``.
"""

from __future__ import annotations

import json
import time
from enum import StrEnum

from sip.plain import plain

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

PROTOCOL_VERSION = 1
"""Bumped on any incompatible change; clients refuse a version they do not know."""

MAX_LINE_BYTES = 64 * 1024
"""A longer line is a protocol error: it protects both sides from a runaway peer."""


class Command(StrEnum):
    """Every command the engine accepts."""

    PING = "ping"
    STATUS = "status"
    ANSWER = "answer"
    REJECT = "reject"
    HANGUP = "hangup"
    HOLD = "hold"
    RESUME = "resume"
    MUTE = "mute"
    UNMUTE = "unmute"
    DTMF = "dtmf"
    DIAL = "dial"
    TRANSFER = "transfer"
    CONSULT = "consult"
    COMPLETE = "complete"
    CANCEL_CONSULT = "cancel_consult"
    SWAP = "swap"
    AVAILABILITY = "availability"
    CAPTURE = "capture"
    CAPTURE_STOP = "capture_stop"
    REGISTER = "register"
    AUDIO = "audio"
    STATION = "station"
    MONITOR = "monitor"
    MONITOR_ACCEPT = "monitor_accept"
    MONITOR_REFUSE = "monitor_refuse"
    RECORDING = "recording"
    SHUTDOWN = "shutdown"


class Event(StrEnum):
    """Every event the engine pushes."""

    HELLO = "hello"
    READY = "engine.ready"
    STOPPING = "engine.stopping"
    REGISTRATION = "registration"
    AVAILABILITY = "agent.availability"
    CALL_INCOMING = "call.incoming"
    CALL_OUTGOING = "call.outgoing"
    CALL_STATE = "call.state"
    CALL_HOLD = "call.hold"
    CALL_CODEC = "call.codec"
    CALL_MUTE = "call.mute"
    CALL_DTMF = "call.dtmf"
    CALL_TRANSFER = "call.transfer"
    CALL_REFER = "call.refer"
    CALL_REPLACED = "call.replaced"
    CALL_TURNED_AWAY = "call.turned_away"
    CALL_ENDED = "call.ended"
    AUDIO = "audio"
    RECORDING = "recording"
    MONITOR_REQUEST = "monitor.request"
    MONITOR_STATE = "monitor.state"
    MONITOR_ENDED = "monitor.ended"


class Availability(StrEnum):
    """The agent's availability, as the engine applies it to incoming calls."""

    AVAILABLE = "available"
    """New calls ring (up to the queue's capacity)."""
    NOT_READY = "not_ready"
    """Away for a reason the agent gives (e.g. Lunch): new calls are turned away."""
    WRAP_UP = "wrap_up"
    """Finishing the last call's notes: new calls ring only with ``accept_calls_in_wrap_up``."""
    OFFLINE = "offline"
    """Signed out: new calls are turned away."""


class ErrorCode(StrEnum):
    """Typed error codes carried in failed replies."""

    BAD_REQUEST = "bad_request"
    UNKNOWN_COMMAND = "unknown_command"
    NO_SUCH_CALL = "no_such_call"
    INVALID_STATE = "invalid_state"
    SIP_ERROR = "sip_error"
    BAD_NUMBER = "bad_number"
    NO_CAPACITY = "no_capacity"
    NOT_ALLOWED = "not_allowed"
    SHUTTING_DOWN = "shutting_down"


class CallState(StrEnum):
    """Where a call is in its life, as the agent sees it."""

    RINGING = "ringing"
    """Inbound: waiting for the agent. Outbound: the far end is alerting (180)."""
    CALLING = "calling"
    """Outbound: INVITE sent, nothing back yet."""
    EARLY = "early"
    """Outbound: early media (183 with SDP)."""
    CONNECTING = "connecting"
    ACTIVE = "active"
    ENDED = "ended"


class EndedBy(StrEnum):
    """Who ended a call."""

    CALLER = "caller"
    """The other party (the patient, or whoever the agent called)."""
    AGENT = "agent"
    """The agent: hang-up, decline, or a transfer that handed the call on."""
    ENGINE = "engine"
    """The engine itself: turned away without ringing, or hung up as it stopped."""
    NETWORK = "network"
    """A SIP or network failure, or a call the phone library lost."""


class EndReason(StrEnum):
    """Why a call ended."""

    COMPLETED = "completed"
    """Answered, then hung up by either side."""
    CANCELLED = "cancelled"
    """The caller gave up before the call was answered."""
    REJECTED = "rejected"
    """The agent (or auto-answer) declined the call."""
    FAILED = "failed"
    """A SIP or network failure ended it."""
    SHUTDOWN = "shutdown"
    """The engine was stopping and hung the call up."""
    TRANSFERRED = "transferred"
    """Handed to another party by a transfer that succeeded."""


class ProtocolError(ValueError):
    """A line that is not a valid protocol message."""


@plain(frozen=True)
class CommandError(Exception):
    """A command failed; becomes a failed reply with a typed code."""

    code: ErrorCode
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def utc_now_iso() -> str:
    """Current UTC time as ISO 8601 with millisecond precision and a ``Z``.

    From ``time``, not ``datetime``: the engine stamps every event and needs nothing
    else of ``datetime``, whose import was a quarter of a MiB of the idle engine.
    """
    now = time.time()
    seconds = int(now)
    millis = min(999, int((now - seconds) * 1000))
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{millis:03d}Z"


def encode(message: dict[str, Any]) -> bytes:
    """Serialise one message as a single UTF-8 line ending in ``\\n``.

    ``ensure_ascii`` keeps the line free of raw control or bidi characters
    that a caller may have put in a display name; they travel escaped.
    """
    return (json.dumps(message, ensure_ascii=True, separators=(",", ":")) + "\n").encode()


def decode(line: bytes | str) -> dict[str, Any]:
    """Parse one line into a message object, or raise :class:`ProtocolError`."""
    if len(line) > MAX_LINE_BYTES:
        raise ProtocolError(f"line longer than {MAX_LINE_BYTES} bytes")
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    except RecursionError:  # tens of thousands of nested brackets fit in one line
        raise ProtocolError("JSON nested too deeply") from None
    if not isinstance(value, dict):
        raise ProtocolError("a message must be a JSON object")
    return value


def reply_ok(request_id: str, result: dict[str, Any] | None = None) -> dict[str, Any]:
    """A successful reply to the command with ``request_id``."""
    return {"type": "reply", "id": request_id, "ok": True, "result": result or {}}


def reply_error(request_id: str | None, code: ErrorCode, message: str) -> dict[str, Any]:
    """A failed reply to the command with ``request_id``."""
    return {
        "type": "reply",
        "id": request_id,
        "ok": False,
        "error": {"code": str(code), "message": message},
    }
