# SPDX-License-Identifier: GPL-2.0-or-later
"""A DataTable that draws its rows again once it has measured them.

Textual's DataTable (8.2) sizes its columns for new or widened cells when it is next
idle, and keys the lines and cells it drew on everything but the columns' widths. A
frame drawn between the change and that idle (a loaded machine: the wallboard on a busy
supervisor host, the console beside its engine) kept the rows cut at the old widths,
"Annel" for Anneliese, until the table next changed. Here a measure that changes a
width drops what was drawn.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from textual.widgets import DataTable
from textual.widgets.data_table import CellKey, RowKey

CellType = TypeVar("CellType")


class MeasuredTable(DataTable[CellType]):
    """:class:`DataTable` whose rows are drawn again when its columns' widths change."""

    def _update_column_widths(self, updated_cells: set[CellKey]) -> None:
        widths = self._widths()
        super()._update_column_widths(updated_cells)
        self._redraw_if_resized(widths)

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        widths = self._widths()
        super()._update_dimensions(new_rows)
        self._redraw_if_resized(widths)

    def _widths(self) -> list[int]:
        return [column.content_width for column in self.ordered_columns]

    def _redraw_if_resized(self, widths: list[int]) -> None:
        if self._widths() != widths:
            # Every render cache of the table is keyed on its update count: as add_row
            # and update_cell do, count one more, and what was drawn is drawn again.
            self._update_count += 1
            self.refresh()
