# SPDX-License-Identifier: GPL-2.0-or-later
"""The three themes: careline's default, high contrast, and monochrome-safe."""

from __future__ import annotations

from textual.theme import Theme

Signals = tuple[str, str, str, str, str, str]
"""primary, secondary, accent, warning, error, success."""
Ground = tuple[str | None, str, str, str]
"""foreground (None: Textual's default for a dark theme), background, surface, panel."""


def _dark_theme(name: str, signals: Signals, ground: Ground) -> Theme:
    """A dark theme from its signal colours and its ground colours."""
    primary, secondary, accent, warning, error, success = signals
    foreground, background, surface, panel = ground
    return Theme(
        name=name,
        primary=primary,
        secondary=secondary,
        accent=accent,
        warning=warning,
        error=error,
        success=success,
        foreground=foreground,
        background=background,
        surface=surface,
        panel=panel,
        dark=True,
    )


THEMES: dict[str, Theme] = {
    theme.name: theme
    for theme in (
        _dark_theme(
            "careline",
            ("#1F6FB2", "#3A8FB7", "#FFB000", "#E8A33D", "#D64545", "#3FA66B"),
            (None, "#10161D", "#18212B", "#22303C"),
        ),
        # For low vision and glare: pure black and white with saturated signals.
        _dark_theme(
            "high-contrast",
            ("#0050FF", "#00C8FF", "#FFFF00", "#FFB000", "#FF2020", "#00FF60"),
            ("#FFFFFF", "#000000", "#000000", "#303030"),
        ),
        # For terminals without colour (or agents who cannot tell colours apart):
        # state is carried by text, reverse video and bold, never by hue alone.
        _dark_theme(
            "monochrome",
            ("#5A5A5A", "#7A7A7A", "#DADADA", "#9A9A9A", "#BEBEBE", "#E0E0E0"),
            ("#F0F0F0", "#000000", "#101010", "#2A2A2A"),
        ),
    )
}
DEFAULT_THEME = "careline"
"""The theme of the first frame, and of ``ui.theme`` unless configured otherwise."""
