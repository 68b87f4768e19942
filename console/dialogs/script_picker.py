# SPDX-License-Identifier: GPL-2.0-or-later
"""Choosing another call script for the call in progress."""

from __future__ import annotations

from rich.text import Text
from textual.binding import Binding

from console.core.scripts.models import Script
from console.core.text import safe_text
from console.dialogs.choice import ChoicePicker


class ScriptPicker(ChoicePicker[Script]):
    """Every script in the library; Enter runs the highlighted one, Esc keeps the current."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="script_picker.cancel", tooltip="Keep the script")
    ]

    DEFAULT_CSS = """
    ScriptPicker > Vertical { width: 72; max-height: 80%; }
    ScriptPicker OptionList { max-height: 20; }
    """

    def __init__(self, scripts: tuple[Script, ...], current: str) -> None:
        choices: list[tuple[Script, str | Text]] = []
        for script in scripts:
            text = Text(safe_text(script.title, 60), style="bold" if script.id == current else "")
            if script.description:
                text.append(f"  {safe_text(script.description, 50)}", style="dim")
            choices.append((script, text))
        ids = [script.id for script in scripts]
        super().__init__(
            "Switch the call script (answers so far stay recorded)",
            choices,
            highlight=ids.index(current) if current in ids else 0,
        )
