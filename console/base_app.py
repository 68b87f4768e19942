# SPDX-License-Identifier: GPL-2.0-or-later
"""What every careline Textual app shares (the agent console, the wallboard, ``careline
qa``): how a crash ends it, the terminal driver it runs on, where keys typed ahead go
(:mod:`console.widgets.typeahead`), and how its keys are named (:mod:`console.key_names`)."""

from __future__ import annotations

from typing import Any

from textual.driver import Driver

from console.crash import fatal_error_without_locals
from console.key_names import name_keys_without_the_table
from console.terminal_input import quiet_driver
from console.widgets.typeahead import TypeAheadApp


class BaseApp(TypeAheadApp):
    """A careline app: see the module."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        name_keys_without_the_table()  # before any key is named: see console.key_names
        super().__init__(*args, **kwargs)

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver; on a Linux terminal, one whose input thread sleeps."""
        return quiet_driver(super().get_driver_class())

    def _fatal_error(self) -> None:
        """Exit after an unhandled exception, printing the traceback without the frames'
        local variables: they hold callers' names, numbers, notes and floor payloads."""
        fatal_error_without_locals(self)
