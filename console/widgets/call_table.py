# SPDX-License-Identifier: GPL-2.0-or-later
"""What the call lists share: a table of calls, one row each, with a caller column."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from rich.cells import cell_len
from rich.text import Text
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets.data_table import ColumnKey, RowKey

from console.core.text import caller_label
from console.widgets.measured_table import MeasuredTable

K = TypeVar("K")


class CallTable(MeasuredTable[Text]):
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
            # A label is plain text: a str would be parsed as Rich markup, which loads
            # Rich's emoji table (0.8 MiB) into every console for a column's title.
            self.add_column(Text(label), key=key)

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

        A clock's cell changes only its digits: where the new text is as long as the
        old, in the same style, it is written over the old in the table's cached
        lines, and the row is not rendered again (every cell of it: 0.4 ms a second).
        """
        row_key, column_key = RowKey(row), ColumnKey(column)
        row_index = self._row_locations.get(row_key)
        column_index = self._column_locations.get(column_key)
        if row_index is None or column_index is None:
            self.update_cell(row_key, column_key, value)  # raises CellDoesNotExist
            return
        was = self._data[row_key][column_key]
        self._data[row_key][column_key] = value
        # The caches' keys (Textual 8.2): row renderables (count, row index); cells
        # (row key, column key, ...); row lines (row key, ...); table lines (y, x1, ...).
        self._row_renderable_cache.discard((self._update_count, row_index))
        _drop(self._cell_render_cache, lambda key: key[:2] == (row_key, column_key))
        _drop(self._row_render_cache, lambda key: key[0] == row_key)
        region = self._get_cell_region(Coordinate(row_index, column_index))
        lines = self._line_cache
        keys = lines.keys()
        for key in [key for key in keys if region.y <= key[0] < region.bottom]:
            # A line is cropped from x1 = key[1] (scrolled), but for its fixed columns.
            cell = region.translate((-key[1], 0))
            line = None if self.fixed_columns else _written_over(lines[key], cell, was, value)
            lines.discard(key)  # (setting a key the cache holds keeps its old value)
            if line is not None:
                lines[key] = line
        self.refresh_coordinate(Coordinate(row_index, column_index))


def _written_over(line: Strip, cell: Region, was: object, value: Text) -> Strip | None:
    """``line`` with ``value`` written over ``was`` in the cells ``cell`` spans, where both
    are plain texts of one length and style and ``was`` shows there once; else None."""
    if not (
        isinstance(was, Text)
        and was.plain
        and (was.style, was.spans) == (value.style, value.spans)
        and len(was.plain) == len(value.plain) == cell_len(was.plain) == cell_len(value.plain)
    ):
        return None
    old = was.plain
    segments = list(line)
    found: list[tuple[int, int]] = []
    start = 0
    for index, segment in enumerate(segments):
        at = segment.text.find(old)
        while at != -1:
            if cell.x <= start + cell_len(segment.text[:at]) <= cell.right - len(old):
                found.append((index, at))
            at = segment.text.find(old, at + 1)
        start += segment.cell_length
    if len(found) != 1:
        return None
    index, at = found[0]
    text = segments[index].text
    segments[index] = segments[index]._replace(text=text[:at] + value.plain + text[at + len(old) :])
    return Strip(segments, line.cell_length)


def _drop(cache: LRUCache[K, Any], stale: Callable[[K], bool]) -> None:
    """Forget the entries of ``cache`` whose keys are ``stale``."""
    keys = cache.keys()
    for key in [key for key in keys if stale(key)]:
        cache.discard(key)
