# SPDX-License-Identifier: GPL-2.0-or-later
"""Worklist rules: the YAML documents of ``scripts_library/worklists/`` (``kind: worklist``).

A rule says whom a list calls and why: appointments some days ahead (a
reminder, or the preparation call when the service has a preparation),
prescriptions whose supply runs out within some days (a refill reminder), or
appointments that took place some days ago (a feedback call). It names the
script the call runs and the exact voicemail text, which the checker holds to
the minimum necessary: short, and no placeholder beyond the first name, the
clinic and the callback number.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from console.core.schema import Field, model_validator
from console.core.scripts.models import Line
from console.core.scripts.questions import DocumentId, FrozenModel

VOICEMAIL_MAX_CHARS = 300
"""Longest voicemail: about twenty seconds read out; a message is not a conversation."""
VOICEMAIL_PLACEHOLDERS = ("patient.first_name", "org.name", "org.callback_number")
"""All a voicemail may name: anyone may hear a voicemail, so no clinical detail."""


class ListKind(StrEnum):
    """What a worklist calls about."""

    APPOINTMENT_REMINDER = "appointment_reminder"
    REFILL_REMINDER = "refill_reminder"
    FEEDBACK = "feedback"


class Attempts(FrozenModel):
    """How often an item is tried, and how far apart."""

    max: Annotated[int, Field(ge=1, le=10)] = 3
    """Most attempts; after the last one without an outcome the item is done (no_answer)."""
    spacing_minutes: Annotated[int, Field(ge=0, le=10080)] = 120
    """Time between two attempts (the per-patient caps may push it further)."""


class WorklistRule(FrozenModel):
    """One outbound worklist: who is on it, the script, the voicemail."""

    kind: Literal["worklist"]
    """Document kind: ``worklist``."""
    id: DocumentId
    """Unique among worklists; the list's name in ``careline worklist``."""
    title: Line
    """What supervisors and agents see."""
    version: Annotated[int, Field(ge=1)]
    """Raise it when the rule changes."""
    description: Annotated[str, Field(max_length=1000)] = ""
    """What the list is for."""
    about: ListKind
    """``appointment_reminder``, ``refill_reminder`` or ``feedback``."""
    days: Annotated[int, Field(ge=0, le=90)]
    """Appointments this many days ahead (reminders), supply running out within this many
    days (refills), appointments this many days ago (feedback)."""
    services: list[Annotated[str, Field(min_length=1, max_length=100)]] = []
    """Appointment types (the directory's description) the list is for, case ignored;
    empty: every type. Not used by refill lists."""
    script: DocumentId
    """The script the call runs (a script id in the library)."""
    preparation_script: DocumentId | None = None
    """Reminders only: the script for an appointment whose service has a pre-visit
    preparation (the preparation call), instead of ``script``."""
    attempts: Attempts = Attempts()
    """Retries."""
    voicemail: Annotated[str, Field(min_length=1, max_length=2000)]
    """The exact message left on a voicemail (checked: short, first name, clinic and
    callback number only)."""

    @model_validator(mode="after")
    def _fits_kind(self) -> WorklistRule:
        if self.about is ListKind.REFILL_REMINDER and self.services:
            raise ValueError("services are appointment types: a refill list has none")
        if self.about is not ListKind.APPOINTMENT_REMINDER and self.preparation_script:
            raise ValueError("preparation_script is for appointment_reminder lists")
        if self.about is ListKind.FEEDBACK and self.days < 1:
            raise ValueError("a feedback list calls about past visits: days must be 1 or more")
        return self

    @property
    def default(self) -> bool:
        """A worklist is never a library default (the checker's id rule asks)."""
        return False
