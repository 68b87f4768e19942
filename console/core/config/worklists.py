# SPDX-License-Identifier: GPL-2.0-or-later
"""The ``worklists:`` section: the calling rules every outbound worklist keeps.

The rules themselves (who is on which list, with which script) are YAML in
``scripts_library/worklists/``; what is here is the law of the call centre,
the same for every list: when a patient may be called, how often, from which
number.
"""

from __future__ import annotations

from datetime import time
from typing import Annotated, Self

from console.core.config.base import Section
from console.core.schema import Field, field_validator, model_validator

DEFAULT_TIME_ZONE = "America/New_York"
"""The calling rules' zone when the configuration names none."""


class WorklistsConfig(Section):
    """Outbound worklists: calling window, caps, caller ID."""

    window_start: time = time(8, 0)
    """Earliest local time (the patient's zone) a worklist call may be placed."""
    window_end: time = time(21, 0)
    """Latest local time a call may start (exclusive)."""
    default_time_zone: Annotated[str, Field(min_length=1, max_length=64)] = DEFAULT_TIME_ZONE
    """The zone used when neither the patient's address nor number names one (IANA name)."""
    max_calls_per_day: Annotated[int, Field(ge=1, le=10)] = 1
    """Most outbound calls to one patient per local day, across all worklists."""
    max_calls_per_week: Annotated[int, Field(ge=1, le=30)] = 3
    """Most outbound calls to one patient in seven days, across all worklists."""
    caller_id: Annotated[str, Field(pattern=r"^\+[1-9][0-9]{6,14}$")] | None = None
    """The E.164 number worklist calls present; None: no item is offered (an outbound
    call without a callable caller ID is not placed)."""
    callback_number: Annotated[str, Field(max_length=32)] = ""
    """The number a voicemail asks the patient to call back (``{org.callback_number}``)."""
    claim_minutes: Annotated[int, Field(ge=1, le=240)] = 15
    """How long a console holds a claimed item before it returns to the list (a console
    that died with it lets it go)."""
    inbound_first: bool = True
    """While working a worklist the agent stays Ready: inbound calls still ring and the next
    item is not offered while a call rings or is up. False: the agent is Not ready
    ("outbound") for inbound calls while working the list."""
    ring_seconds: Annotated[int, Field(ge=5, le=120)] = 30
    """A worklist call not answered within this long is given up (proposed: no answer)."""

    @field_validator("default_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        if value == DEFAULT_TIME_ZONE:
            # A known zone (tests/test_config.py): a console that sets none starts without
            # zoneinfo and the sysconfig it reads (0.3 MiB), loaded with the first rule.
            return value
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name)") from None
        return value

    @model_validator(mode="after")
    def _window_order(self) -> Self:
        if self.window_start >= self.window_end:
            raise ValueError("window_start must be before window_end (same day)")
        if self.max_calls_per_day > self.max_calls_per_week:
            raise ValueError("max_calls_per_day cannot exceed max_calls_per_week")
        return self
