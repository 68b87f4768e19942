# SPDX-License-Identifier: GPL-2.0-or-later
"""The records: an interaction, the follow-ups it asks for, stored callbacks,
wrap-up drafts and outbox rows.

No ``repr`` here shows patient data, notes or answers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from datetime import datetime
from typing import Any

from console.core.interactions.values import (
    CallbackStatus,
    InteractionError,
    OutboxKind,
    Urgency,
    check_entries,
    check_text,
    check_uuid,
    new_id,
    to_json,
    urgency_rank,
    utc_text,
)
from console.core.records import dataclass


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Interaction:
    """One finished interaction, as the wrap-up hands it to the store.

    ``id`` is chosen when the wrap-up opens and kept for every retry: writing
    the same id twice stores it once.
    """

    agent_id: str
    started_at: datetime
    ended_at: datetime
    disposition: str
    """The wrap-up form's disposition code; never empty."""
    id: str = field(default_factory=new_id)
    """UUID; the hub's idempotency key."""
    call_id: str | None = None
    """The engine's call UUID, or None when the interaction had no call."""
    patient_id: str | None = None
    script_id: str | None = None
    script_version: str | None = None
    answers: Sequence[Mapping[str, Any]] = ()
    """``{"question": id, "value": JSON value, "at": ISO time}`` in the order answered."""
    red_flags: Sequence[Mapping[str, Any]] = ()
    """``{"rule": id, "at": ISO time}`` in the order raised."""
    appointments: Sequence[Mapping[str, Any]] = ()
    """The EHR Appointments the call booked, moved or cancelled, in order:
    ``{"id": Appointment id, "change": "booked" | "moved" | "cancelled", "at": ISO time}``
    (a move adds ``"replaces"``: the id it cancelled). ≈ FHIR Communication.about."""
    urgency: Urgency = "routine"
    """The highest urgency the call reached (see :func:`raise_urgency`)."""
    notes: str = ""
    form: Mapping[str, Any] = field(default_factory=dict)
    """The wrap-up form's other field values, by field id."""
    feedback_consent: bool = False
    created_at: datetime | None = None
    """When the store wrote it (set on rows read back; ignored when writing)."""

    def __post_init__(self) -> None:
        check_uuid(self.id, "interaction id")
        check_text(self.agent_id, "agent_id")
        check_text(self.disposition, "disposition")
        urgency_rank(self.urgency)
        started = utc_text(self.started_at, "started_at")
        ended = utc_text(self.ended_at, "ended_at")
        if ended < started:
            raise InteractionError("ended_at is before started_at")
        if not isinstance(self.notes, str):
            raise InteractionError("notes must be text")
        if not isinstance(self.feedback_consent, bool):
            raise InteractionError("feedback_consent must be True or False")
        check_entries(self.answers, "question", "answers")
        check_entries(self.red_flags, "rule", "red_flags")
        check_entries(self.appointments, "id", "appointments")
        if not isinstance(self.form, Mapping):
            raise InteractionError("form must be an object of field values")
        to_json(self.form, "form")

    def __repr__(self) -> str:
        return f"Interaction(id={self.id!r}, call_id={self.call_id!r})"


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class FollowUp:
    """A callback an interaction asks for, before it is stored."""

    number: str
    """The number to call (E.164 where known)."""
    due_at: datetime
    owner: str
    """Who is to call: an agent id or a team/queue name."""
    reason: str = ""
    patient_id: str | None = None
    """None: the patient of the interaction that asks for it."""
    id: str = field(default_factory=new_id)

    def __post_init__(self) -> None:
        check_uuid(self.id, "callback id")
        check_text(self.number, "callback number")
        check_text(self.owner, "callback owner")
        utc_text(self.due_at, "callback due_at")
        if not isinstance(self.reason, str):
            raise InteractionError("callback reason must be text")

    def __repr__(self) -> str:
        return f"FollowUp(id={self.id!r})"


@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Callback:
    """A stored callback, as the callbacks list shows it."""

    id: str
    interaction_id: str
    """The interaction that asked for it."""
    patient_id: str | None
    number: str
    due_at: datetime
    owner: str
    reason: str
    status: CallbackStatus
    done_at: datetime | None
    outcome_interaction_id: str | None
    created_at: datetime
    overdue: bool
    """Open and due before the ``now`` it was listed at."""

    def __repr__(self) -> str:
        return f"Callback(id={self.id!r}, status={self.status!r}, overdue={self.overdue!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Draft:
    """The wrap-up in progress for one call."""

    call_id: str
    saved_at: datetime
    body: dict[str, Any]
    """Whatever the wrap-up screen saved, as it saved it."""
    call_ended_at: datetime | None
    """When the call ended; None while the engine may still hold it."""

    @property
    def call_finished(self) -> bool:
        """The call is over: the console reopens this wrap-up at start."""
        return self.call_ended_at is not None

    def __repr__(self) -> str:
        return f"Draft(call_id={self.call_id!r})"


@dataclass(frozen=True, slots=True, repr=False)
class OutboxRow:
    """One fact waiting for the hub sync."""

    seq: int
    kind: OutboxKind
    entity_id: str
    payload: dict[str, Any]
    created_at: datetime

    def __repr__(self) -> str:
        return f"OutboxRow(seq={self.seq}, kind={self.kind!r}, entity_id={self.entity_id!r})"
