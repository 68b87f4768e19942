# SPDX-License-Identifier: GPL-2.0-or-later
"""Sparklines and bars as text, in Unicode block glyphs or plain ASCII."""

from __future__ import annotations

from collections.abc import Sequence

BLOCKS = "▁▂▃▄▅▆▇█"
"""Sparkline glyphs, lowest to highest."""
ASCII_STEPS = "_.-:=+*#"
"""The same eight levels in ASCII."""


def sparkline(
    values: Sequence[float | None],
    *,
    low: float | None = None,
    high: float | None = None,
    ascii_only: bool = False,
) -> str:
    """One glyph per value between ``low`` and ``high`` (default: the values' own
    range); a missing value is a space, so a week without data shows as a gap."""
    steps = ASCII_STEPS if ascii_only else BLOCKS
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    bottom = min(known) if low is None else low
    top = max(known) if high is None else high
    span = top - bottom
    out = []
    for value in values:
        if value is None:
            out.append(" ")
            continue
        share = 0.5 if span <= 0 else min(max((value - bottom) / span, 0.0), 1.0)
        out.append(steps[round(share * (len(steps) - 1))])
    return "".join(out)


def bar(share: float | None, width: int, *, ascii_only: bool = False) -> str:
    """A bar ``width`` cells long, filled to ``share`` (0..1); blank for None."""
    if share is None or width <= 0:
        return " " * max(width, 0)
    filled = round(min(max(share, 0.0), 1.0) * width)
    full, empty = ("#", ".") if ascii_only else ("█", "░")
    return full * filled + empty * (width - filled)
