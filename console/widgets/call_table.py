# SPDX-License-Identifier: GPL-2.0-or-later
"""What the call lists share: a table of calls, one row each, with a caller column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from rich.text import Text
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

from console.core.text import caller_label

K = TypeVar("K")


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

    def repaint_cell(self, row: str, column: str, value: Text) -> None:
        """Put ``value`` in one cell and repaint that cell alone.

        :meth:`DataTable.update_cell` bumps the table's update count, which every
        render cache is keyed on: the header and every row render again and the
        whole table repaints, once a second for a ticking clock. Here only what
        was cached for this cell's row is dropped and only the cell's region is
        refreshed. Like ``update_cell`` (without ``update_width``) the column
        keeps its width; a row's height stays one line.
        """
        row_key, column_key = RowKey(row), ColumnKey(column)
        row_index = self._row_locations.get(row_key)
        column_index = self._column_locations.get(column_key)
        if row_index is None or column_index is None:
            self.update_cell(row_key, column_key, value)  # raises CellDoesNotExist
            return
        self._data[row_key][column_key] = value
        # The caches' keys (Textual 8.2): row renderables (count, row index); cells
        # (row key, column key, ...); row lines (row key, ...); table lines (y, ...).
        self._row_renderable_cache.discard((self._update_count, row_index))
        _drop(self._cell_render_cache, lambda key: key[:2] == (row_key, column_key))
        _drop(self._row_render_cache, lambda key: key[0] == row_key)
        region = self._get_cell_region(Coordinate(row_index, column_index))
        _drop(self._line_cache, lambda key: region.y <= key[0] < region.bottom)
        self.refresh_coordinate(Coordinate(row_index, column_index))


def _drop(cache: LRUCache[K, Any], stale: Callable[[K], bool]) -> None:
    """Forget the entries of ``cache`` whose keys are ``stale``."""
    keys = cache.keys()
    for key in [key for key in keys if stale(key)]:
        cache.discard(key)
