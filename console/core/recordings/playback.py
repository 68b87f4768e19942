# SPDX-License-Identifier: GPL-2.0-or-later
"""Playing a recording back: its timeline to jump to, and faster speech at the same pitch.

The timeline is the recording's own marks (start, pause and resume with their
reason, hold, transfer steps, end) at their offsets, plus what the console
knows of the call around it (red flags raised, from the audit log). Speed 1.5x
keeps the voice's pitch: 30 ms slices, one every 40 ms or so, each lined up with
the one before and joined with a short cross-fade (WSOLA, in plain Python: a
call's minute takes about a second to prepare).
"""

from __future__ import annotations

import array
import operator
from datetime import datetime
from typing import Any

from console.core.records import dataclass

SLICE_MS = 30
"""Length of each slice kept when playing faster."""
FADE_MS = 3
"""Cross-fade between two slices (no click at the seams)."""
SEARCH_MS = 10
"""How far past its place a slice may start to line up with the one before."""
SPEEDS = (1.0, 1.5)
"""The speeds offered."""


@dataclass(frozen=True, slots=True)
class Moment:
    """One point on a recording's timeline."""

    seconds: float
    """Offset from the start of the audio."""
    fact: str
    """``start``, ``pause``, ``resume``, ``hold``, ``hold_end``, ``transfer``, ``red_flag``…"""
    detail: str = ""

    def label(self) -> str:
        """``mm:ss fact (detail)``."""
        minutes, seconds = divmod(int(self.seconds), 60)
        extra = f" ({self.detail})" if self.detail else ""
        return f"{minutes:02d}:{seconds:02d} {self.fact}{extra}"


def red_flags(created: str, seconds: float, raised: list[str]) -> list[Moment]:
    """Red flags raised during the recording (audit times, UTC ISO) as moments."""
    try:
        start = datetime.fromisoformat(created.replace("Z", "+00:00"))
    except ValueError:
        return []
    moments = []
    for at in raised:
        offset = (datetime.fromisoformat(at.replace("Z", "+00:00")) - start).total_seconds()
        if 0 <= offset <= seconds:
            moments.append(Moment(offset, "red_flag"))
    return moments


def timeline(
    marks: list[dict[str, Any]], rate: int, more: list[Moment] | None = None
) -> list[Moment]:
    """The marks of a recording (and ``more``, e.g. red flags) as moments, in time order
    (the end mark left out)."""
    moments = list(more or [])
    for mark in marks:
        fact = str(mark.get("fact", ""))
        if fact == "end" or not isinstance(mark.get("sample"), int):
            continue
        detail = " ".join(
            str(mark[key]) for key in ("reason", "kind", "status", "mode") if mark.get(key)
        )
        moments.append(Moment(mark["sample"] / rate, fact, detail))
    return sorted(moments, key=lambda moment: moment.seconds)


def speed_up(pcm: bytes, rate: int, speed: float) -> bytes:
    """16-bit mono ``pcm`` played ``speed`` times as fast, at the same pitch.

    Each slice starts where, within :data:`SEARCH_MS` of its place, it best continues
    the last one (the waveforms line up, WSOLA): no seam a listener hears as a buzz.
    """
    if speed == 1.0:
        return pcm
    samples = array.array("h", pcm[: len(pcm) // 2 * 2])
    size = rate * SLICE_MS // 1000
    fade = rate * FADE_MS // 1000
    search = rate * SEARCH_MS // 1000
    hop = int((size - fade) * speed)  # each slice adds size - fade samples after its fade
    out = array.array("h")
    for nominal in range(0, len(samples), hop):
        start = nominal
        if out:
            tail = out[-fade:]
            start = max(
                range(nominal, min(nominal + search, max(nominal, len(samples) - size)) + 1),
                key=lambda at: sum(map(operator.mul, tail, samples[at : at + fade])),
            )
        piece = samples[start : start + size]
        if out and len(piece) > fade:
            base = len(out) - fade
            for i in range(fade):
                weight = (i + 1) / (fade + 1)
                out[base + i] = int(out[base + i] * (1 - weight) + piece[i] * weight)
            piece = piece[fade:]
        out.extend(piece)
    return out.tobytes()
