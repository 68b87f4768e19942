# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's clock: aware UTC datetimes (tests hand the App a frozen one instead)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]
"""Returns the current time as an aware datetime."""


def utc_now() -> datetime:
    """The system clock, in UTC."""
    return datetime.now(UTC)
