# SPDX-License-Identifier: GPL-2.0-or-later
"""Making untrusted text safe to show: caller names, numbers, SIP headers.

The result is plain text for a terminal cell grid: no control characters
(so no escape sequences), no bidirectional overrides that could reorder what
the agent reads, and no more than ``max_cells`` columns. Markup is not this
module's concern: the UI always renders these strings as literal text, never
as Rich/Textual markup.
"""

from __future__ import annotations

import unicodedata

from rich.cells import cell_len

ELLIPSIS = "…"
REPLACEMENT = "\ufffd"

# Bidi embeddings, overrides, isolates and marks: a caller could use them to
# make "+1 555 0100" read as something else on screen.
_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)


def _clean_char(ch: str) -> str:
    if ch in _BIDI_CONTROLS:
        return ""
    category = unicodedata.category(ch)
    if category == "Cc":
        # Tabs/newlines become spaces; every other control (ESC, BEL, C1) is shown
        # as a replacement mark so that tampering stays visible.
        return " " if ch in "\t\n\r" else REPLACEMENT
    if category in ("Cs", "Co", "Cn") or ch in "\u2028\u2029":
        return REPLACEMENT
    return ch


def safe_text(value: object, max_cells: int = 48) -> str:
    """``value`` as a single line of printable text at most ``max_cells`` wide.

    Control characters become U+FFFD, bidi controls are removed, runs of
    whitespace collapse, and an over-long value is cut with an ellipsis.
    """
    text = "".join(_clean_char(ch) for ch in str(value))
    text = " ".join(text.split())
    if cell_len(text) <= max_cells:
        return text
    out: list[str] = []
    width = 0
    for ch in text:
        w = cell_len(ch)
        if width + w > max_cells - 1:
            break
        out.append(ch)
        width += w
    return "".join(out).rstrip() + ELLIPSIS


def caller_label(name: str, number: str, max_cells: int = 48) -> str:
    """How a caller is named on screen: the display name, else the number, else 'Unknown'."""
    return safe_text(name or number or "Unknown caller", max_cells)
