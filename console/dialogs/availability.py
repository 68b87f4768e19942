# SPDX-License-Identifier: GPL-2.0-or-later
"""Choosing the agent's state: Ready, Not ready with a reason, or Offline."""

from __future__ import annotations

from console.dialogs.choice import ChoicePicker


class AvailabilityPicker(ChoicePicker[tuple[str, str]]):
    """Dismisses with (state, reason), or None on Esc."""

    def __init__(self, reasons: list[str], current: str) -> None:
        choices: list[tuple[tuple[str, str], str]] = [(("available", ""), "Ready (take calls)")]
        choices += [(("not_ready", reason), f"Not ready — {reason}") for reason in reasons]
        choices.append((("offline", ""), "Offline"))
        super().__init__(f"Your state (now: {current})", choices)
        self.current = current
