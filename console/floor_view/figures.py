# SPDX-License-Identifier: GPL-2.0-or-later
"""What the wallboard shows at a moment: queue and agent rows, alerts, and how
durations, percentages and sparklines are written (plain Python, no Textual)."""

from __future__ import annotations

from console.core.records import dataclass

SPARK_BARS = "▁▂▃▄▅▆▇█"
"""Sparkline glyphs, lowest to highest."""


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One queue's line on the wallboard at a moment."""

    queue: str
    waiting: int
    longest_wait_s: float
    answered: int
    abandoned: int
    turned_away: int
    """Calls refused without ringing."""
    top_reason: str
    """The most common reason they were turned away ("" when none were)."""
    sl_answered: float | None
    sl_abandon: float | None
    aht_s: float | None
    acw_s: float | None


@dataclass(frozen=True, slots=True)
class AgentRow:
    """One agent's line on the wallboard at a moment."""

    agent_id: str
    name: str
    team: str
    availability: str
    on_call: bool
    reason: str
    in_state_s: float | None
    call_s: float | None
    sync_age_s: float | None
    call_id: str = ""
    """The call the agent talks on (the agent engine's id), for a supervisor to join."""
    contact: str = ""
    """The SIP URI of the agent's engine ("" when the agent's console did not say)."""


@dataclass(frozen=True, slots=True)
class Alert:
    """Something a supervisor should look at."""

    kind: str
    """``service_level``, ``turned_away``, ``state_too_long``, ``stale_sync`` or
    ``bad_rows``."""
    subject: str
    """The queue or agent id it is about."""
    text: str
    """One line for people (contains untrusted names: render literally)."""


def duration(seconds: float | None) -> str:
    """``seconds`` as m:ss or h:mm:ss; "–" for None."""
    if seconds is None:
        return "–"
    total = max(int(seconds), 0)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def percent(value: float | None) -> str:
    """A ratio as a whole percentage; "–" for None."""
    return "–" if value is None else f"{value * 100:.0f}%"


def sparkline(values: list[int]) -> str:
    """One glyph per value, scaled so the highest is a full bar (all zero: lowest bars)."""
    top = max(values, default=0)
    if top <= 0:
        return SPARK_BARS[0] * len(values)
    last = len(SPARK_BARS) - 1
    return "".join(SPARK_BARS[round(v / top * last)] for v in values)
