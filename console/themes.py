"""The three themes: careline's default, high contrast, and monochrome-safe."""

from __future__ import annotations

from textual.theme import Theme

THEMES: dict[str, Theme] = {
    "careline": Theme(
        name="careline",
        primary="#1F6FB2",
        secondary="#3A8FB7",
        accent="#FFB000",
        warning="#E8A33D",
        error="#D64545",
        success="#3FA66B",
        background="#10161D",
        surface="#18212B",
        panel="#22303C",
        dark=True,
    ),
    # For low vision and glare: pure black and white with saturated signals.
    "high-contrast": Theme(
        name="high-contrast",
        primary="#0050FF",
        secondary="#00C8FF",
        accent="#FFFF00",
        warning="#FFB000",
        error="#FF2020",
        success="#00FF60",
        foreground="#FFFFFF",
        background="#000000",
        surface="#000000",
        panel="#303030",
        dark=True,
    ),
    # For terminals without colour (or agents who cannot tell colours apart):
    # state is carried by text, reverse video and bold, never by hue alone.
    "monochrome": Theme(
        name="monochrome",
        primary="#5A5A5A",
        secondary="#7A7A7A",
        accent="#DADADA",
        warning="#9A9A9A",
        error="#BEBEBE",
        success="#E0E0E0",
        foreground="#F0F0F0",
        background="#000000",
        surface="#101010",
        panel="#2A2A2A",
        dark=True,
    ),
}
