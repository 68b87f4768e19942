# SPDX-License-Identifier: GPL-2.0-or-later
"""Picking a transfer, consult or dial target: fuzzy search over the directory."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.fuzzy import Matcher
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from console.core.config import DirectoryEntry
from console.core.records import dataclass
from console.core.text import safe_text
from console.dialogs.base import Dialog

_TYPE_ORDER = {"emergency": 0, "queue": 1, "person": 2, "external": 3}


@dataclass(frozen=True, slots=True)
class PickedTarget:
    """What the agent chose: a directory entry's number, or what they typed."""

    number: str
    label: str


class TargetPicker(Dialog[PickedTarget | None]):
    """Type to filter the directory; Enter picks the highlighted entry or dials what was typed."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel", tooltip="Close without choosing"),
        Binding("down", "move(1)", "Next", show=False, id="picker.next", tooltip="Next entry"),
        Binding(
            "up", "move(-1)", "Previous", show=False, id="picker.previous", tooltip="Previous entry"
        ),
    ]

    DEFAULT_CSS = """
    TargetPicker > Vertical { width: 76; max-width: 95%; max-height: 90%; }
    TargetPicker OptionList { height: auto; max-height: 16; }
    """

    def __init__(self, title: str, directory: list[DirectoryEntry]) -> None:
        super().__init__()
        self.title_text = title
        self.directory = sorted(directory, key=lambda e: (_TYPE_ORDER[e.type], e.name.lower()))

    def compose(self) -> ComposeResult:
        """Title, search box, matching entries."""
        with Vertical():
            yield Label(self.title_text, markup=False)
            yield Input(placeholder="name, number, extension or sip: URI", id="query")
            yield OptionList(id="matches")
            yield Label(
                "Enter: choose  ·  Esc: cancel  ·  a number that matches nothing is dialled "
                "as typed",
                classes="hint",
                markup=False,
            )

    def on_mount(self) -> None:
        """Show every entry to start with."""
        self._filter("")
        self.query_one(Input).focus()

    @staticmethod
    def label(entry: DirectoryEntry) -> Text:
        """One line per entry, literal text (config is data, not markup)."""
        text = Text()
        if entry.type == "emergency":
            text.append("EMERGENCY ", style="bold reverse")
        text.append(safe_text(entry.name, 30), style="bold")
        text.append(f"  {safe_text(entry.number, 28)}")
        extra = " · ".join(part for part in (entry.description, entry.hours) if part)
        if extra:
            text.append(f"  {safe_text(extra, 60)}", style="dim")
        return text

    def _filter(self, query: str) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        matcher = Matcher(query) if query else None
        scored: list[tuple[float, int, DirectoryEntry]] = []
        for index, entry in enumerate(self.directory):
            if matcher is None:
                scored.append((0.0, index, entry))
                continue
            score = max(
                matcher.match(entry.name),
                matcher.match(entry.number),
                matcher.match(entry.description) * 0.5,
            )
            if score > 0:
                scored.append((-score, index, entry))
        scored.sort(key=lambda item: (item[0], item[1]))
        options.add_options(Option(self.label(entry), id=str(index)) for _, index, entry in scored)
        if scored:
            options.highlighted = 0

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        self._filter(event.value.strip())

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None and options.option_count:
            option = options.get_option_at_index(options.highlighted)
            entry = self.directory[int(option.id or 0)]
            self.dismiss(PickedTarget(entry.number, entry.name))
        elif event.value.strip():
            self.dismiss(PickedTarget(event.value.strip(), event.value.strip()))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        entry = self.directory[int(event.option.id or 0)]
        self.dismiss(PickedTarget(entry.number, entry.name))

    def action_move(self, step: int) -> None:
        """Move the highlight while typing."""
        options = self.query_one(OptionList)
        if options.option_count:
            current = options.highlighted or 0
            options.highlighted = max(0, min(options.option_count - 1, current + step))

    def action_cancel(self) -> None:
        """Close without choosing."""
        self.dismiss(None)
