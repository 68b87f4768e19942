"""Choosing the agent's state: Ready, Not ready with a reason, or Offline."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class AvailabilityPicker(ModalScreen[tuple[str, str] | None]):
    """Dismisses with (state, reason), or None on Esc."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="state.cancel", tooltip="Keep the state")]

    DEFAULT_CSS = """
    AvailabilityPicker { align: center middle; }
    AvailabilityPicker > Vertical {
        width: 44; height: auto; border: thick $accent; background: $surface; padding: 0 1;
    }
    AvailabilityPicker OptionList { height: auto; max-height: 14; }
    """

    def __init__(self, reasons: list[str], current: str) -> None:
        super().__init__()
        self.choices: list[tuple[str, str, str]] = [("available", "", "Ready (take calls)")]
        self.choices += [("not_ready", reason, f"Not ready — {reason}") for reason in reasons]
        self.choices.append(("offline", "", "Offline"))
        self.current = current

    def compose(self) -> ComposeResult:
        """The choices."""
        with Vertical():
            yield Label(f"Your state (now: {self.current})", markup=False)
            yield OptionList(
                *[Option(label, id=str(i)) for i, (_, _, label) in enumerate(self.choices)]
            )

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        state, reason, _ = self.choices[int(event.option.id or 0)]
        self.dismiss((state, reason))

    def action_cancel(self) -> None:
        """Keep the current state."""
        self.dismiss(None)
