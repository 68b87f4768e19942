# SPDX-License-Identifier: GPL-2.0-or-later
"""The rules a health-care caller must keep, as plain functions: enforced, not advised.

An item is offered only when none of :class:`Blocker` applies. Each blocker
has a code (stored, counted by ``careline worklist status``) and words for a
supervisor; neither carries patient data.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo


def _zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``. zoneinfo (and the sysconfig it reads) load with the first
    rule checked, not with every console start: an idle console works no worklist."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


class Blocker(StrEnum):
    """Why an item is not offered now."""

    OPTED_OUT = "opted_out"
    NO_NUMBER = "no_number"
    NO_CALLER_ID = "no_caller_id"
    OUTSIDE_WINDOW = "outside_window"
    DAILY_CAP = "daily_cap"
    WEEKLY_CAP = "weekly_cap"
    IN_PROGRESS = "in_progress"
    NOT_YET = "not_yet"
    EXPIRED = "expired"

    @property
    def words(self) -> str:
        """What a supervisor reads."""
        return _WORDS[self]


_WORDS = {
    Blocker.OPTED_OUT: "the patient asked not to be called",
    Blocker.NO_NUMBER: "no number the patient gave is on file",
    Blocker.NO_CALLER_ID: "worklists.caller_id is not configured",
    Blocker.OUTSIDE_WINDOW: "outside the patient's local calling window",
    Blocker.DAILY_CAP: "the patient was already called today",
    Blocker.WEEKLY_CAP: "the patient reached the weekly call limit",
    Blocker.IN_PROGRESS: "another item for this patient is being called",
    Blocker.NOT_YET: "waiting for the next attempt time",
    Blocker.EXPIRED: "its due day passed before it was reached (closed, never called late)",
}
LASTING = frozenset({Blocker.OPTED_OUT, Blocker.NO_NUMBER, Blocker.EXPIRED})
"""Blockers that do not pass with time: the item is stored as blocked."""


@lru_cache(maxsize=4096)
def zones_for_number(e164: str, default: str) -> tuple[str, ...]:
    """The IANA zones ``e164`` may ring in (phonenumbers' geography), else ``default``.

    A number that spans several zones gives them all: the window must hold in
    every one, so a call never lands early or late in the patient's real zone.
    """
    import phonenumbers
    from phonenumbers import timezone

    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return (default,)
    zones = tuple(z for z in timezone.time_zones_for_number(parsed) if z != "Etc/Unknown")
    return zones or (default,)


def patient_zones(numbers: Iterable[str], default: str) -> tuple[str, ...]:
    """The zones of a patient: those of the first number they gave (the directory keeps
    no address yet), else ``default``."""
    for number in numbers:
        return zones_for_number(number, default)
    return (default,)


def in_window(now: datetime, zones: Iterable[str], start: time, end: time) -> bool:
    """Whether ``now`` (aware) is inside [start, end) local time in every zone."""
    for zone in zones:
        local = now.astimezone(_zone(zone)).time()
        if not start <= local < end:
            return False
    return True


def due_ended(due_until: str, now: datetime, zones: Iterable[str]) -> bool:
    """Whether the item's due window (through the day ``due_until``, an ISO date) is over
    at ``now``: it ends at the first local midnight after that day in any of ``zones``,
    so a patient is never called late wherever they are. A date that is not one (the
    store is a file) cannot say the item is still due: it counts as over."""
    try:
        last = date.fromisoformat(due_until) if len(due_until) == 10 else None
    except (TypeError, ValueError):
        last = None
    if last is None:
        return True
    if last == date.max:
        return False  # the end of the calendar: no day after it
    ends = [
        datetime.combine(last + timedelta(days=1), time(0), tzinfo=_zone(zone)) for zone in zones
    ]
    ends = ends or [datetime.combine(last + timedelta(days=1), time(0), tzinfo=UTC)]
    return now >= min(ends)


def local_day_start(now: datetime, zones: Iterable[str]) -> datetime:
    """The UTC instant the patient's current local day began (the earliest over ``zones``,
    so a call near midnight counts for the day it was in wherever the patient is)."""
    starts = []
    for zone in zones:
        local = now.astimezone(_zone(zone))
        midnight = datetime.combine(local.date(), time(0), tzinfo=_zone(zone))
        starts.append(midnight.astimezone(UTC))
    return min(starts)


def cap_blocker(
    calls: Iterable[datetime], now: datetime, zones: Iterable[str], per_day: int, per_week: int
) -> Blocker | None:
    """The cap ``calls`` (the patient's past attempts, any list) already reach, if any.

    A day is the patient's local calendar day; a week is the seven days before now.
    """
    day_start = local_day_start(now, tuple(zones))
    week_start = now - timedelta(days=7)
    today = week = 0
    for at in calls:
        if at >= day_start:
            today += 1
        if at > week_start:
            week += 1
    if today >= per_day:
        return Blocker.DAILY_CAP
    if week >= per_week:
        return Blocker.WEEKLY_CAP
    return None


def utc_text(moment: datetime) -> str:
    """An aware instant as the store's fixed-width UTC text."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(text: str) -> datetime:
    """The store's UTC text as an aware instant."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
