# SPDX-License-Identifier: GPL-2.0-or-later
"""Which weeks a report covers: UTC weeks starting on Monday, the last one being
the week that holds the report's end."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from console.core.records import dataclass

MAX_WEEKS = 260
"""The most weeks one report covers (five years)."""


def week_of(moment: datetime) -> date:
    """The Monday (UTC) of the week ``moment`` falls in."""
    day = moment.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


def week_start(week: date) -> datetime:
    """Midnight UTC at the start of ``week`` (a Monday)."""
    return datetime.combine(week, time(), tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class ReportWeeks:
    """The consecutive weeks of a report, oldest first."""

    first: date
    """Monday of the first week."""
    count: int
    """How many weeks."""

    @classmethod
    def ending(cls, last_day: date, count: int) -> ReportWeeks:
        """``count`` weeks, the last one holding ``last_day``."""
        if not 1 <= count <= MAX_WEEKS:
            raise ValueError(f"a report covers 1 to {MAX_WEEKS} weeks")
        last = last_day - timedelta(days=last_day.weekday())
        return cls(last - timedelta(weeks=count - 1), count)

    @classmethod
    def between(cls, first_day: date, last_day: date) -> ReportWeeks:
        """Every week from the one holding ``first_day`` to the one holding ``last_day``."""
        if last_day < first_day:
            raise ValueError("the report's end is before its start")
        first = first_day - timedelta(days=first_day.weekday())
        last = last_day - timedelta(days=last_day.weekday())
        return cls.ending(last_day, (last - first).days // 7 + 1)

    @property
    def weeks(self) -> list[date]:
        """Each week's Monday, oldest first."""
        return [self.first + timedelta(weeks=n) for n in range(self.count)]

    @property
    def start(self) -> datetime:
        """The first moment covered (UTC)."""
        return week_start(self.first)

    @property
    def end(self) -> datetime:
        """The first moment after the report (UTC)."""
        return week_start(self.first + timedelta(weeks=self.count))
