"""Choosing another call script for the call in progress."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from console.core.scripts.models import Script
from console.core.text import safe_text


class ScriptPicker(ModalScreen[Script | None]):
    """Every script in the library; Enter runs the highlighted one, Esc keeps the current."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="script_picker.cancel", tooltip="Keep the script")
    ]

    DEFAULT_CSS = """
    ScriptPicker { align: center middle; }
    ScriptPicker > Vertical {
        width: 72; height: auto; max-height: 80%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    ScriptPicker OptionList { height: auto; max-height: 20; }
    """

    def __init__(self, scripts: tuple[Script, ...], current: str) -> None:
        super().__init__()
        self.scripts = scripts
        self.current = current

    def compose(self) -> ComposeResult:
        """Title, the list."""
        with Vertical():
            yield Label("Switch the call script (answers so far stay recorded)", markup=False)
            options = []
            for script in self.scripts:
                text = Text(
                    safe_text(script.title, 60), style="bold" if script.id == self.current else ""
                )
                if script.description:
                    text.append(f"  {safe_text(script.description, 50)}", style="dim")
                options.append(Option(text, id=script.id))
            yield OptionList(*options, id="scripts")

    def on_mount(self) -> None:
        """Start on the script now running."""
        listing = self.query_one(OptionList)
        ids = [script.id for script in self.scripts]
        listing.highlighted = ids.index(self.current) if self.current in ids else 0
        listing.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        chosen = next((s for s in self.scripts if s.id == event.option.id), None)
        self.dismiss(chosen)

    def action_cancel(self) -> None:
        """Keep the current script."""
        self.dismiss(None)
