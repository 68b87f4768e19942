# SPDX-License-Identifier: GPL-2.0-or-later
"""Pre-visit preparation: which text to read out after a booking, with its facts filled in.

A :class:`~console.core.scripts.models.Preparation` lists the services
(appointment types) it is for; the one listing the booking's service wins
(case ignored), else the library's default. Its parts are templates: the
appointment's facts (``{appointment.date}``, ``{appointment.arrive_by}``…)
and the usual patient and organisation placeholders are filled in as plain
text, the EHR's names shown literally.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta, tzinfo

from console.core.appointment_changes import AppointmentChange
from console.core.records import dataclass
from console.core.scripts.models import Preparation
from console.core.scripts.placeholders import render


@dataclass(frozen=True, slots=True, repr=False)
class PreVisit:
    """The preparation for the call's booked appointment, as the guidance pane shows it."""

    title: str
    """What it is for, e.g. "Before Diabetes review · Diabetes review"."""
    parts: tuple[tuple[str, str], ...]
    """(heading, text to read out) in order; the heading may be empty."""
    note: str = ""
    """For the agent only."""

    def __repr__(self) -> str:
        # The text names the patient, the service and the day.
        return f"PreVisit(parts={len(self.parts)})"


def select_preparation(preparations: Iterable[Preparation], service: str) -> Preparation | None:
    """The preparation listing ``service`` (case ignored), else the default one, else None."""
    wanted = service.strip().casefold()
    fallback = None
    for preparation in preparations:
        if wanted and wanted in (listed.casefold() for listed in preparation.services):
            return preparation
        if preparation.default and fallback is None:
            fallback = preparation
    return fallback


def appointment_values(
    change: AppointmentChange, preparation: Preparation, tz: tzinfo | None = None
) -> dict[str, object]:
    """The ``appointment.*`` placeholder values of a booked appointment, local to ``tz``
    (None: the machine's zone)."""
    if change.start is None:
        return {}
    start = change.start.astimezone(tz) if tz is not None else change.start.astimezone()
    arrive = start - timedelta(minutes=preparation.arrive_minutes_before)
    return {
        "appointment.date": start.strftime("%A %d %B"),
        "appointment.time": start.strftime("%H:%M"),
        "appointment.arrive_by": arrive.strftime("%H:%M"),
        "appointment.service": change.service or None,
        "appointment.clinician": change.clinician or None,
        "appointment.location": change.location or None,
    }


def read_out(preparation: Preparation, values: Mapping[str, object]) -> tuple[tuple[str, str], ...]:
    """(heading, text) of each part to read to the patient, placeholders filled in."""
    # A folded YAML block ends with a line break: the pane lays out the parts itself.
    return tuple((heading, render(text, values).strip()) for heading, text in preparation.parts())
