# SPDX-License-Identifier: GPL-2.0-or-later
"""What the call lists share: a table of calls, one row each, with a caller column."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.widgets import DataTable

from console.core.text import caller_label


class CallTable(DataTable[Text]):
    """A row-cursor table of calls whose columns are :attr:`COLUMNS`, in order.

    Callers are shown as :func:`~console.core.text.caller_label` cuts them to
    ``max_caller_chars``.
    """

    COLUMNS: ClassVar[tuple[tuple[str, str], ...]] = ()
    """(label, key) of each column, left to right."""
    SHOW_CURSOR: ClassVar[bool] = True
    """Whether the row under the cursor is highlighted."""

    def __init__(self, *, max_caller_chars: int = 48, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", show_cursor=self.SHOW_CURSOR)
        self.max_caller_chars = max_caller_chars

    def on_mount(self) -> None:
        """Set up the columns."""
        for label, key in self.COLUMNS:
            self.add_column(label, key=key)

    def caller_cell(self, name: str, number: str) -> Text:
        """The caller column's text for a call from ``name`` at ``number``."""
        return Text(caller_label(name, number, self.max_caller_chars))
