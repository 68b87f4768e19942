# SPDX-License-Identifier: GPL-2.0-or-later
"""The unknown-caller search: one line of name, date of birth, MRN or phone; pick a patient."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from console.core.patients.records import PatientSummary
from console.core.patients.search import SearchError, SearchResult, birth_year
from console.core.text import safe_text
from console.dialogs.base import Dialog

PatientSearch = Callable[[str], Awaitable[SearchResult]]
"""Runs one search for the typed query; the screen passes one that audits it.

Raises :class:`SearchError` (shown to the agent) when the query holds nothing
to search by.
"""

_log = logging.getLogger(__name__)


def option_text(patient: PatientSummary) -> Text:
    """One row of the pick list: family name, given names, year of birth.

    Only the year: the caller must still state the full date of birth to be
    verified. Names come from the directory, so they are shown as literal text.
    """
    return Text.assemble(
        (safe_text(patient.family_name, 28), "bold"),
        ", ",
        safe_text(patient.given_names, 28),
        ("  born ", "dim"),
        birth_year(patient),
    )


class PatientSearchDialog(Dialog[list[PatientSummary] | None]):
    """Search the directory for an unknown caller; Enter searches, then pick with Down, Enter.

    Dismisses with the picked patient as a one-element list, or None on Esc.
    """

    BINDINGS = [
        Binding(
            "escape",
            "cancel",
            "Cancel",
            id="patient_search.cancel",
            tooltip="Close the search without picking a patient",
        ),
        Binding(
            "down",
            "to_results",
            "Results",
            show=False,
            id="patient_search.results",
            tooltip="Move from the search box to the results",
        ),
    ]

    DEFAULT_CSS = """
    PatientSearchDialog > Vertical { width: 76; max-height: 90%; }
    PatientSearchDialog OptionList { height: auto; max-height: 14; }
    PatientSearchDialog #error { color: $error; height: auto; }
    PatientSearchDialog #status { color: $text-muted; height: auto; }
    """

    def __init__(self, search: PatientSearch) -> None:
        super().__init__()
        self.search = search
        """Runs (and audits) a search; see :data:`PatientSearch`."""
        self.matches: tuple[PatientSummary, ...] = ()
        """What the last search found, in list order."""

    def compose(self) -> ComposeResult:
        """The search box, the results, and a line for errors and counts."""
        with Vertical():
            yield Label("Find the caller: name, date of birth, MRN or phone", markup=False)
            yield Input(placeholder="name, date of birth, MRN or phone", id="query")
            yield OptionList(id="results")
            yield Label(
                "Enter searches; Down, Enter picks; Esc cancels.", id="status", markup=False
            )
            yield Label("", id="error", markup=False)

    def on_mount(self) -> None:
        """Start in the search box."""
        self.query_one("#query", Input).focus()

    @on(Input.Submitted, "#query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._run(event.value)

    @work(exclusive=True, group="patient-search")
    async def _run(self, query: str) -> None:
        """Search, then show the matches (a newer search cancels this one)."""
        error = self.query_one("#error", Label)
        status = self.query_one("#status", Label)
        error.update("")
        status.update("Searching…")
        try:
            result = await self.search(query)
        except SearchError as exc:
            status.update("")
            error.update(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")
            return
        except Exception as exc:  # a UI worker must not take the console down
            # The type only: a message could quote patient data.
            _log.error("patient search failed: %s", type(exc).__name__)
            status.update("")
            error.update("The search failed; try again.")
            return
        self._show(result)

    def _show(self, result: SearchResult) -> None:
        results = self.query_one("#results", OptionList)
        self.matches = result.matches
        results.set_options(Option(option_text(p)) for p in result.matches)
        results.highlighted = 0 if result.matches else None
        status = self.query_one("#status", Label)
        if not result.matches:
            status.update(f"No patient matches ({result.criteria}).")
        elif result.more:
            count = f"{result.more_count}+" if result.more_capped else str(result.more_count)
            status.update(f"{count} more: refine the search.")
        else:
            status.update("Down to the list, Enter to pick.")

    def action_to_results(self) -> None:
        """From the search box to the first result."""
        results = self.query_one("#results", OptionList)
        if self.matches:
            results.highlighted = 0
            results.focus()

    @on(OptionList.OptionSelected, "#results")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss([self.matches[event.option_index]])

    def action_cancel(self) -> None:
        """Close without picking a patient."""
        self.dismiss(None)
