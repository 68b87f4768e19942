# SPDX-License-Identifier: GPL-2.0-or-later
"""The words of an interaction record and the checks every record makes.

Urgencies, callback states, outbox kinds, the UTC time format the store
writes, and the validation helpers; error messages name fields and ids, never
their values (which may be PHI).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal, cast, get_args

Urgency = Literal["routine", "urgent", "emergency"]
"""How urgent an interaction is; red flags raise it, nothing lowers it."""
URGENCIES: tuple[Urgency, ...] = get_args(Urgency)
"""Urgencies from lowest to highest."""
CallbackStatus = Literal["open", "done", "cancelled"]
"""Where a callback stands."""
OutboxKind = Literal["interaction", "callback", "agent_state", "call_event", "audit_head"]
"""What an outbox row describes."""
PAYLOAD_SCHEMA = 1
"""The ``schema`` number in every outbox payload, for the hub to tell shapes apart."""


class InteractionError(ValueError):
    """An interaction, callback or draft is invalid or cannot be written.

    Messages name fields and ids, never their values (which may be PHI).
    """


def urgency_rank(urgency: str) -> int:
    """Position of ``urgency`` in ``routine < urgent < emergency``."""
    try:
        return URGENCIES.index(cast(Urgency, urgency))
    except ValueError:
        raise InteractionError(
            f"urgency must be one of {', '.join(URGENCIES)}, not {urgency!r}"
        ) from None


def raise_urgency(current: Urgency, proposed: Urgency) -> Urgency:
    """The urgency after ``proposed`` is applied: raised if higher, never lowered."""
    return proposed if urgency_rank(proposed) > urgency_rank(current) else current


def utc_text(moment: datetime, what: str = "time") -> str:
    """``moment`` as the store writes times: UTC ISO 8601, milliseconds, ending in Z.

    A naive datetime is refused: the store cannot know which zone it meant.
    """
    if not isinstance(moment, datetime):
        raise InteractionError(f"{what} must be a datetime")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InteractionError(f"{what} must be timezone-aware (UTC), not naive")
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """A time as the store wrote it (see :func:`utc_text`)."""
    return datetime.fromisoformat(text)


def new_id() -> str:
    """A fresh UUID4, as text."""
    return str(uuid.uuid4())


def check_uuid(value: str, what: str) -> None:
    """Refuse ``value`` unless it is a UUID."""
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise InteractionError(f"{what} must be a UUID") from None


def check_text(value: object, what: str) -> None:
    """Refuse ``value`` unless it is text with something besides spaces."""
    if not isinstance(value, str) or not value.strip():
        raise InteractionError(f"{what} must be non-empty text")


def to_json(value: object, what: str) -> str:
    """Compact JSON of plain values, or an :class:`InteractionError` naming ``what``."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        # json's message may quote the offending value, which may be PHI.
        raise InteractionError(f"{what} must hold JSON values only") from None


def check_entries(entries: object, key: str, what: str) -> None:
    """Refuse ``entries`` unless it is a JSON list of objects with a text ``key`` and ``at``."""
    if isinstance(entries, str | bytes) or not isinstance(entries, Sequence):
        raise InteractionError(f"{what} must be a list")
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get(key), str):
            raise InteractionError(f"{what}[{index}] must be an object with a text {key!r}")
        if not isinstance(entry.get("at"), str):
            raise InteractionError(f"{what}[{index}] must have an 'at' time (ISO text)")
    to_json(entries, what)
