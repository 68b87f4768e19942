# SPDX-License-Identifier: GPL-2.0-or-later
"""What a Textual app prints when an unhandled exception ends it.

Textual's own handler prints a traceback *with the local variables of every
frame*: in careline those hold callers' names and numbers, notes, patient
records and floor payloads. The apps here print the frames without them.
"""

from __future__ import annotations

from typing import Any

from textual.app import App


def fatal_error_without_locals(app: App[Any]) -> None:
    """Textual's ``App._fatal_error`` with ``show_locals=False`` (called from it)."""
    # Here, not at the top: Rich's traceback brings Pygments, which a start that
    # never crashes should not pay for.
    from rich.segment import Segments
    from rich.traceback import Traceback

    app.bell()
    traceback = Traceback(show_locals=False, width=None)
    app._exit_renderables.append(Segments(app.console.render(traceback, app.console.options)))
    app._close_messages_no_wait()
