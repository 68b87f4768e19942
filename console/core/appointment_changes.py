# SPDX-License-Identifier: GPL-2.0-or-later
"""What the agent did to the caller's appointments on a call: booked, moved, cancelled,
or offered to book once the EHR is back.

The booking controller records one :class:`AppointmentChange` per change, in
order; when the call ends they go with its wrap-up (pre-filling the form, see
:func:`console.core.scripts.forms.prefill`), the interaction records the
Appointment ids (:func:`recorded`), and the guidance pane picks the pre-visit
preparation by the last booking's service. Plain values only: a change
crosses the draft on disk as JSON (:meth:`AppointmentChange.to_json`), and a
draft written by hand or by an older console reads back as no change rather
than an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from console.core.records import dataclass

ChangeKind = Literal["booked", "moved", "cancelled", "book_later"]
"""``booked`` a new appointment, ``moved`` one (a new appointment, the old cancelled),
``cancelled`` one, or ``book_later``: the EHR could not book, a callback is offered."""
CHANGE_KINDS: tuple[ChangeKind, ...] = get_args(ChangeKind)
"""Every kind of change, in the order the docs list them."""

BOOK_LATER_REASON = "Book an appointment when the system is back"
"""The reason of the callback offered when the EHR cannot book (the callbacks list shows it)."""


@dataclass(frozen=True, slots=True, repr=False)
class AppointmentChange:
    """One change to the caller's appointments, as the wrap-up and the guidance read it."""

    change: ChangeKind
    at: datetime
    """When it was made (UTC-aware)."""
    appointment_id: str = ""
    """The EHR's Appointment id: the new one for a move; empty for ``book_later``."""
    start: datetime | None = None
    """When the appointment is (UTC-aware); None for ``book_later``."""
    service: str = ""
    """The service or appointment type, as the backend names it ("" when none)."""
    clinician: str = ""
    location: str = ""
    replaces: str = ""
    """For a move: the Appointment id cancelled by it."""

    @property
    def appointment(self) -> bool:
        """An appointment was booked (or moved to): preparation applies."""
        return self.change in ("booked", "moved") and self.start is not None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (times as ISO text), as the wrap-up draft keeps it."""
        return {
            "change": self.change,
            "at": self.at.astimezone(UTC).isoformat(),
            "appointment_id": self.appointment_id,
            "start": self.start.astimezone(UTC).isoformat() if self.start else None,
            "service": self.service,
            "clinician": self.clinician,
            "location": self.location,
            "replaces": self.replaces,
        }

    @classmethod
    def from_json(cls, value: object) -> AppointmentChange | None:
        """The change ``value`` (from :meth:`to_json`) stands for; None if it is not one."""
        if not isinstance(value, Mapping) or value.get("change") not in CHANGE_KINDS:
            return None
        at = _time(value.get("at"))
        texts = {
            name: value.get(name, "")
            for name in ("appointment_id", "service", "clinician", "location", "replaces")
        }
        if at is None or not all(isinstance(text, str) for text in texts.values()):
            return None
        start = _time(value.get("start"))
        if value.get("start") is not None and start is None:
            return None
        return cls(value["change"], at, start=start, **texts)

    def __repr__(self) -> str:
        # The service and the names may say what the patient is treated for: ids only.
        return f"AppointmentChange({self.change!r}, appointment_id={self.appointment_id!r})"


def read_changes(value: object) -> tuple[AppointmentChange, ...]:
    """The changes a draft kept (a list of :meth:`AppointmentChange.to_json`), the
    unreadable ones left out."""
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        return ()
    changes = (AppointmentChange.from_json(item) for item in value)
    return tuple(change for change in changes if change is not None)


def recorded(changes: Sequence[AppointmentChange]) -> list[dict[str, str]]:
    """What the interaction records of ``changes``: each Appointment touched, in order,
    ``{"id", "change", "at"}`` (and ``"replaces"`` for a move). An offer to book
    later touched none: its callback records it."""
    entries = []
    for change in changes:
        if not change.appointment_id:
            continue
        entry = {
            "id": change.appointment_id,
            "change": change.change,
            "at": change.at.astimezone(UTC).isoformat(),
        }
        if change.replaces:
            entry["replaces"] = change.replaces
        entries.append(entry)
    return entries


def last_booked(changes: Sequence[AppointmentChange]) -> AppointmentChange | None:
    """The appointment the call last booked or moved to that it did not cancel after."""
    cancelled = {change.appointment_id for change in changes if change.change == "cancelled"}
    for change in reversed(changes):
        if change.appointment and change.appointment_id not in cancelled:
            return change
    return None


def book_later_pending(changes: Sequence[AppointmentChange]) -> bool:
    """A booking was offered for later and nothing was booked after the offer."""
    for change in reversed(changes):
        if change.change == "book_later":
            return True
        if change.appointment:
            return False
    return False


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None
