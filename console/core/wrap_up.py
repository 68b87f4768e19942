# SPDX-License-Identifier: GPL-2.0-or-later
"""What the wrap-up and callbacks dialogs hand back, and the time text they read and show.

Plain data and pure functions: the dialogs in :mod:`console.dialogs` are the
only Textual side. Times are UTC-aware datetimes everywhere; the agent types
and reads them in local time, so the conversions live here, with the zone
passed in (``None``: the machine's zone) so that tests do not depend on it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Literal

from console.core.interactions import Callback
from console.core.records import dataclass
from console.core.scripts.forms import FollowUpTask
from console.core.scripts.models import Answer

DUE_FORMATS = "+2h, +1d, tomorrow 09:00 or YYYY-MM-DD HH:MM"
"""The ways a follow-up due time can be typed, for hints and error messages."""

_RELATIVE = re.compile(r"^\+\s*(\d{1,4})\s*([mhd])$")
_DAY_WORD = re.compile(r"^(today|tomorrow)(?:\s+(\d{1,2}):(\d{2}))?$")
_ABSOLUTE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:\s+|T)(\d{1,2}):(\d{2})$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
_DEFAULT_TIME = time(9, 0)


class DueError(ValueError):
    """A due time that cannot be read; ``str()`` is the message for the agent."""


@dataclass(frozen=True, slots=True, repr=False)
class WrapUpResult:
    """A finished (or timed-out) wrap-up, ready to be recorded with the interaction."""

    disposition: str
    """Disposition id (the form's, or the configured default when the time ran out)."""
    fields: Mapping[str, Answer] = field(default_factory=dict)
    """Parsed field values by field id; on expiry only the fields that were valid."""
    notes: str = ""
    """The agent's notes."""
    follow_up: FollowUpTask | None = None
    """The callback asked for, if any (on expiry only when it was complete and valid)."""
    feedback_consent: bool | None = None
    """Whether the caller agreed to a feedback survey; None when not asked or not recorded."""
    expired: bool = False
    """The wrap-up time ran out and this is what had been entered so far."""
    extension_reason: str | None = None
    """Why the agent asked for more time, when they did."""

    def __repr__(self) -> str:
        # Notes, field values and the follow-up reason may hold PHI: ids and flags only.
        return (
            f"WrapUpResult(disposition={self.disposition!r}, expired={self.expired!r}, "
            f"follow_up={self.follow_up is not None!r}, fields={sorted(self.fields)!r})"
        )


@dataclass(frozen=True, slots=True)
class CallbackChoice:
    """What the agent wants to do with a callback from the list."""

    action: Literal["dial", "done"]
    """``dial``: call the number now; ``done``: record an outcome without calling."""
    callback: Callback
    """The callback chosen (its repr shows ids only)."""


def _local_zone(moment: datetime, tz: tzinfo | None) -> datetime:
    return moment.astimezone(tz) if tz is not None else moment.astimezone()


def _at_local(day: date, at: time, tz: tzinfo | None) -> datetime:
    if tz is not None:
        return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
    # A naive local time: astimezone() reads it in the machine's zone, DST included.
    return datetime.combine(day, at).astimezone(UTC)  # noqa: DTZ001


def parse_due(text: str, now: datetime, tz: tzinfo | None = None) -> datetime:
    """The UTC time ``text`` names, typed in local time (zone ``tz``; None: the machine's).

    Accepted: ``+30m``, ``+2h``, ``+1d`` (from ``now``); ``today 14:00``,
    ``tomorrow 09:00`` (``tomorrow`` alone is 09:00); ``YYYY-MM-DD HH:MM``.
    Whether the time is in the future and not too far out is the form's check.
    Raises :class:`DueError` otherwise.
    """
    typed = " ".join(text.strip().casefold().split())
    if not typed:
        raise DueError(f"enter a due time: {DUE_FORMATS}")
    if match := _RELATIVE.match(typed):
        amount, unit = int(match[1]), match[2]
        return now.astimezone(UTC) + timedelta(**{_UNITS[unit]: amount})
    try:
        if match := _DAY_WORD.match(typed):
            today = _local_zone(now, tz).date()
            day = today + timedelta(days=1 if match[1] == "tomorrow" else 0)
            at = _DEFAULT_TIME if match[2] is None else time(int(match[2]), int(match[3]))
            return _at_local(day, at, tz)
        if match := _ABSOLUTE.match(typed):
            year, month, dom, hour, minute = (int(part) for part in match.groups())
            return _at_local(date(year, month, dom), time(hour, minute), tz)
    except ValueError:
        raise DueError(f"no such date or time; use {DUE_FORMATS}") from None
    raise DueError(f"enter the due time as {DUE_FORMATS}")


def format_due_input(due: datetime, tz: tzinfo | None = None) -> str:
    """``due`` as the agent would type it: local ``YYYY-MM-DD HH:MM``."""
    return _local_zone(due, tz).strftime("%Y-%m-%d %H:%M")


def describe_due(due: datetime, now: datetime, tz: tzinfo | None = None) -> str:
    """``due`` in local time, short: ``today 14:30``, ``tomorrow 09:00``, ``Fri 09:00``."""
    local = _local_zone(due, tz)
    days = (local.date() - _local_zone(now, tz).date()).days
    clock = local.strftime("%H:%M")
    if days == 0:
        return f"today {clock}"
    if days == 1:
        return f"tomorrow {clock}"
    if days == -1:
        return f"yesterday {clock}"
    if -6 <= days <= 6:
        return f"{local.strftime('%a')} {clock}"
    return f"{local.strftime('%Y-%m-%d')} {clock}"


def overdue_by(due: datetime, now: datetime) -> str:
    """How late ``due`` is at ``now``, short: ``25m``, ``2h``, ``3d``; empty if not late."""
    late = now - due
    if late <= timedelta(0):
        return ""
    minutes = int(late.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)}m"
    if minutes < 48 * 60:
        return f"{minutes // 60}h"
    return f"{minutes // (24 * 60)}d"
