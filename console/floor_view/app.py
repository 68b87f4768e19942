# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline supervise``: the live wallboard (Textual).

A queue table, the waiting-calls sparkline, an agent table and the alerts,
folded by :class:`~console.floor_view.stats.FloorState` from a
:class:`~console.floor_view.source.FloorSource`. A worker reads events as
they come and redraws at once unless it drew less than ``refresh_s`` ago; a
timer catches up the rest, and redraws only when an event arrived or the
shown second changed. Rows are updated in place by key;
only the cells whose text changed are touched.

Below :data:`COMPACT_HEIGHT` lines (80×24) the wallboard is compact, so
that the agents get the room: the sparkline moves into the status line, the
queue table shows a few queues (it scrolls), and the alerts lose their border
and show :data:`COMPACT_ALERTS` lines (``a`` shows them all).

Every name, reason and queue is untrusted: cells are :class:`rich.text.Text`
(never markup) cleaned by :func:`console.core.text.safe_text`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Static
from textual.widgets.data_table import ColumnKey

from console.base_app import BaseApp
from console.core.clock import Clock
from console.core.text import safe_text
from console.floor_view.monitor_keys import MONITOR_BINDINGS, MONITOR_HELP, MonitorKeys
from console.floor_view.source import FloorSource, HubFloor, HubLoginRefusedError
from console.floor_view.stats import (
    AgentRow,
    FloorState,
    QueueRow,
    Thresholds,
    duration,
    percent,
    sparkline,
)
from console.floor_view.trends import TrendsPane
from console.floor_view.worklists import WorklistProgress
from console.widgets.footer import KeyFooter
from console.widgets.measured_table import MeasuredTable

SORTS = ("state", "time", "name")
"""Agent orders ``s`` cycles through."""

COMPACT_HEIGHT = 30
"""Terminals with fewer lines get the compact layout."""

COMPACT_ALERTS = 3
"""Alert lines shown in the compact layout (unless ``a`` shows them all)."""

_STATE_ORDER = {"available": 0, "outbound": 1, "wrap_up": 2, "not_ready": 3, "offline": 4}

QUEUE_COLUMNS = (
    ("queue", "Queue"),
    ("waiting", "Waiting"),
    ("longest", "Longest"),
    ("answered", "Ans"),
    ("abandoned", "Aband"),
    ("away", "Away"),
    ("sl", "SL"),
    ("sl_ab", "SL+ab"),
    ("aht", "AHT"),
    ("acw", "ACW"),
)
WORKLIST_COLUMNS = (
    ("list", "Worklist"),
    ("done", "Done"),
    ("remaining", "Left"),
    ("reached", "Reached"),
    ("confirmed", "Confirmed"),
    ("opted_out", "Opted out"),
)
AGENT_COLUMNS = (
    ("agent", "Agent"),
    ("state", "State"),
    ("reason", "Reason"),
    ("in_state", "In state"),
    ("call", "Call"),
    ("sync", "Last sync"),
)

HELP = (
    "Waiting: the most calls waiting in each minute of the last hour (newest right); "
    "now: waiting at this moment.\n"
    "s  sort agents (state → time in state → name)\n"
    "f  filter by queue (all → each queue)\n"
    "t  filter by team (when agents report one)\n"
    "a  every alert (small terminals show a few)\n"
    "w  weekly trends: SL, AHT, CSAT and NPS per queue (careline report's figures)\n"
    f"{MONITOR_HELP}?  this help      q  quit\n"
    "SL = answered within threshold / answered; SL+ab also counts abandoned calls.\n"
    "Away: calls turned away without ringing (the alerts say the commonest reason)."
)


class KeyedText(Text):
    """A first-column cell that carries its row key, so that rows sort by key."""

    def __init__(self, text: str, row_key: str) -> None:
        super().__init__(text, no_wrap=True)
        self.row_key = row_key


def _cell(value: str, width: int = 32) -> Text:
    return Text(safe_text(value, width), no_wrap=True)


def queue_cells(row: QueueRow) -> dict[str, Text]:
    """The queue table's cells for one queue."""
    return {
        "queue": KeyedText(safe_text(row.queue, 24) or "(none)", row.queue),
        "waiting": Text(str(row.waiting)),
        "longest": Text(duration(row.longest_wait_s) if row.waiting else "–"),
        "answered": Text(str(row.answered)),
        "abandoned": Text(str(row.abandoned)),
        "away": Text(str(row.turned_away)),
        "sl": Text(percent(row.sl_answered)),
        "sl_ab": Text(percent(row.sl_abandon)),
        "aht": Text(duration(row.aht_s)),
        "acw": Text(duration(row.acw_s)),
    }


def worklist_cells(progress: WorklistProgress) -> dict[str, Text]:
    """The worklist table's cells for one list."""
    first, *counts = progress.cells()
    cells: dict[str, Text] = {"list": KeyedText(safe_text(first, 32), first)}
    cells.update({key: Text(n) for (key, _), n in zip(WORKLIST_COLUMNS[1:], counts, strict=True)})
    return cells


def agent_cells(row: AgentRow) -> dict[str, Text]:
    """The agent table's cells for one agent."""
    state = row.availability.replace("_", " ") + (" · on call" if row.on_call else "")
    return {
        "agent": KeyedText(safe_text(row.name, 24), row.agent_id),
        "state": _cell(state, 24),
        "reason": _cell(row.reason, 24),
        "in_state": Text(duration(row.in_state_s)),
        "call": Text(duration(row.call_s) if row.on_call else ""),
        "sync": Text(f"{duration(row.sync_age_s)} ago" if row.sync_age_s is not None else "–"),
    }


class LiveTable(MeasuredTable[Text]):
    """A DataTable kept equal to a keyed set of rows by in-place cell updates."""

    def __init__(self, columns: tuple[tuple[str, str], ...], **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._columns_spec = columns
        self._shown: dict[str, dict[str, str]] = {}
        self.rows_added = 0
        """Rows ever added (a filter change adds; an update never does)."""

    def on_mount(self) -> None:
        """Add the columns."""
        for key, label in self._columns_spec:
            self.add_column(label, key=key)

    def sync_rows(self, rows: dict[str, dict[str, Text]], order: list[str]) -> None:
        """Show exactly ``rows`` (by key) in ``order``, touching only changed cells."""
        for key in [key for key in self._shown if key not in rows]:
            self.remove_row(key)
            del self._shown[key]
        for key, cells in rows.items():
            plain = {column: cell.plain for column, cell in cells.items()}
            shown = self._shown.get(key)
            if shown is None:
                self.add_row(*(cells[column] for column, _ in self._columns_spec), key=key)
                self.rows_added += 1
            else:
                for column, text in plain.items():
                    if shown[column] != text:
                        # Widening is costly (the whole table is measured again):
                        # only when the new text does not fit the column.
                        wider = cells[column].cell_len > self.columns[ColumnKey(column)].width
                        self.update_cell(key, column, cells[column], update_width=wider)
            self._shown[key] = plain
        current = [row.key.value for row in self.ordered_rows]
        if current != order:
            rank = {key: index for index, key in enumerate(order)}
            self.sort(self._columns_spec[0][0], key=lambda cell: rank.get(_key_of(cell), 0))


def _key_of(cell: object) -> str:
    return cell.row_key if isinstance(cell, KeyedText) else str(cell)


class SupervisorApp(MonitorKeys, BaseApp):
    """The supervisor's wallboard of queues and agents."""

    CSS_PATH = "supervise.tcss"
    TITLE = "careline supervise"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "cycle_sort", "Sort", id="supervise.sort", tooltip="Change the agent order"),
        Binding("f", "cycle_queue", "Queue", id="supervise.queue", tooltip="Filter by queue"),
        Binding("t", "cycle_team", "Team", id="supervise.team", tooltip="Filter by team"),
        Binding(
            "a",
            "toggle_alerts",
            "Alerts",
            id="supervise.alerts",
            tooltip="Show every alert, or a few to leave room for the agents",
        ),
        Binding("w", "toggle_trends", "Trends", id="supervise.trends", tooltip="Weekly trends"),
        *MONITOR_BINDINGS,
        Binding("question_mark", "toggle_help", "Help", id="supervise.help", tooltip="Keys"),
        Binding("q", "quit", "Quit", id="supervise.quit", tooltip="Close the wallboard"),
    ]

    def __init__(
        self,
        open_source: Callable[[], Awaitable[FloorSource]],
        *,
        clock: Clock | None = None,
        thresholds: Thresholds | None = None,
        queue: str | None = None,
        refresh_s: float = 0.25,
        since: datetime | None = None,
        scripts: Path | None = None,
    ) -> None:
        super().__init__()
        self._scripts = scripts
        self._open_source = open_source
        self._clock = clock or (lambda: datetime.now(UTC))
        self.floor = FloorState(thresholds, since)
        self.queue_filter = queue
        """The queue shown (None: all)."""
        self.team_filter: str | None = None
        """The team shown (None: all)."""
        self.sort_mode = "state"
        """How agents are ordered: one of :data:`SORTS`."""
        self.refresh_s = refresh_s
        self._dirty = True
        self._shown_second: int | None = None
        self._drawn_at = 0.0
        self.source: FloorSource | None = None
        self.source_news = ""
        """The latest news about the hub connection ("" when there is none)."""
        self.refusal: HubLoginRefusedError | None = None
        """Why the hub refused the login, when it did (the app exits with 2)."""
        self.all_alerts = False
        """Show every alert even in the compact layout."""
        self.worklists: list[WorklistProgress] = []
        """Each worklist's progress: the hub's items with a hub, else the local store's."""
        self._worklists_read_at = 0.0

    def compose(self) -> ComposeResult:
        """Status line, queues, sparkline, agents, alerts, help, footer."""
        yield Static(id="view", markup=False)
        yield LiveTable(QUEUE_COLUMNS, id="queues")
        yield LiveTable(WORKLIST_COLUMNS, id="worklists")
        yield Static(id="spark", markup=False)
        yield LiveTable(AGENT_COLUMNS, id="agents")
        yield Static(id="monitor-line", markup=False)
        sl_seconds = round(self.floor.thresholds.sl_threshold_s)
        yield TrendsPane(sl_seconds=sl_seconds, scripts=self._scripts, id="trends")
        with Vertical(id="alerts"):
            yield Static(id="alert-lines", markup=False)
        yield Static(HELP, id="help", markup=False)
        yield KeyFooter()

    @property
    def up_to_date(self) -> bool:
        """Whether the panels show all that was read (no draw waits for the next tick)."""
        return not self._dirty

    @property
    def compact(self) -> bool:
        """Whether the terminal is small enough for the compact layout."""
        return self.has_class("-compact")

    def on_mount(self) -> None:
        """Start reading events and the redraw timer."""
        self.query_one("#help").display = False
        self.mount_monitor()
        self.query_one("#worklists").display = False  # until a worklist has items
        self._fit(self.size.height)
        self.run_worker(self._follow(), exclusive=True, group="floor")
        self.set_interval(self.refresh_s, self._tick)

    async def _follow(self) -> None:
        try:
            await self._read()
        except HubLoginRefusedError as exc:
            # No retry can fix it: leave, and let the CLI say why on a clean screen.
            self.refusal = exc
            self.exit(return_code=2)

    async def _read(self) -> None:
        self.source = source = await self._open_source()
        self.query_one(TrendsPane).source = source
        if isinstance(source, HubFloor):
            source.on_status = self._source_status
        while True:
            await self._read_worklists(source)
            events = await source.events_after(self.floor.last_seq, 1000)
            if events:
                self.floor.apply_all(events)
                self._dirty = True
                # Throttled, not delayed: draw now unless a draw just happened.
                if time.monotonic() - self._drawn_at >= self.refresh_s:
                    self._tick()
            else:
                await source.wait(1.0)

    async def _read_worklists(self, source: FloorSource) -> None:
        # Counts, not events: read at most once a second, redrawn when they change.
        if time.monotonic() - self._worklists_read_at < 1.0:
            return
        self._worklists_read_at = time.monotonic()
        progress = await source.worklist_progress()
        if progress != self.worklists:
            self.worklists = progress
            self._dirty = True

    def on_resize(self, event: events.Resize) -> None:
        """Switch between the full and the compact layout."""
        self._fit(event.size.height)

    def _fit(self, height: int) -> None:
        compact = height < COMPACT_HEIGHT
        if compact != self.compact:
            self.set_class(compact, "-compact")
            self.refresh_bindings()
        self._dirty = True

    def _source_status(self, news: str) -> None:
        # Never printed: stderr would land on the wallboard.
        self.source_news = news
        self._dirty = True
        self.notify(safe_text(news, 100), severity="warning" if "lost" in news else "information")

    async def on_unmount(self) -> None:
        """Stop reading and close the source (its connections are threads or sockets)."""
        self.workers.cancel_group(self, "floor")
        if self.source is not None:
            source, self.source = self.source, None
            await source.close()
        await self.close_monitor()

    def _tick(self) -> None:
        now = self._clock()
        second = int(now.timestamp())
        if not self._dirty and second == self._shown_second:
            return
        self._dirty = False
        self._shown_second = second
        self._drawn_at = time.monotonic()
        self.redraw(now)

    def redraw(self, now: datetime | None = None) -> None:
        """Bring every panel up to date with the floor at ``now``."""
        now = now or self._clock()
        floor = self.floor
        queue, team = self.queue_filter, self.team_filter
        with self.batch_update():
            queue_rows = floor.queues(now, queue)
            self.query_one("#queues", LiveTable).sync_rows(
                {row.queue: queue_cells(row) for row in queue_rows},
                [row.queue for row in queue_rows],
            )
            lists = self.query_one("#worklists", LiveTable)
            lists.display = bool(self.worklists)
            lists.sync_rows(
                {p.list_id: worklist_cells(p) for p in self.worklists},
                [p.list_id for p in self.worklists],
            )
            agents = floor.agent_rows(now, queue, team)
            self.query_one("#agents", LiveTable).sync_rows(
                {row.agent_id: agent_cells(row) for row in agents},
                [row.agent_id for row in self._sorted(agents)],
            )
            history = sparkline(floor.waiting_history(now, queue))
            waiting = f"now {floor.waiting_now(queue)}"
            self.query_one("#spark", Static).update(Text(f"Waiting {history}  {waiting}"))
            alerts = [safe_text(alert.text, 100) for alert in floor.alerts(now, queue, team)]
            panel = self.query_one("#alerts")
            panel.set_class(bool(alerts), "-alerting")
            panel.border_title = f"Alerts ({len(alerts)})"
            if self.compact and not self.all_alerts and len(alerts) > COMPACT_ALERTS:
                more = len(alerts) - COMPACT_ALERTS + 1
                alerts = [*alerts[: COMPACT_ALERTS - 1], f"+{more} more alerts (a: show all)"]
            self.query_one("#alert-lines", Static).update(Text("\n".join(alerts) or "No alerts"))
            view = f"Queue: {safe_text(queue, 24) if queue else 'all'} · Sort: {self.sort_mode}"
            if floor.team_names():
                view += f" · Team: {safe_text(team, 24) if team else 'all'}"
            if self.source_news:
                view += f" · {safe_text(self.source_news, 60)}"
            if self.compact:
                view += " · "
                view += _squeezed(history, waiting, self.size.width - 2 - cell_len(view))
            self.query_one("#view", Static).update(Text(view))

    def _sorted(self, agents: list[AgentRow]) -> list[AgentRow]:
        if self.sort_mode == "time":
            return sorted(agents, key=lambda a: (-(a.in_state_s or 0.0), a.name, a.agent_id))
        if self.sort_mode == "name":
            return sorted(agents, key=lambda a: (a.name.casefold(), a.agent_id))
        return sorted(
            agents,
            key=lambda a: (_STATE_ORDER.get(a.availability, 9), not a.on_call, a.name, a.agent_id),
        )

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The team filter exists only once some agent reports a team; the alerts
        toggle only in the compact layout."""
        del parameters
        if action == "cycle_team":
            return bool(self.floor.team_names())
        if action == "toggle_alerts":
            return self.compact
        return self.monitor_key_applies(action) if action in ("monitor", "leave") else True

    def _changed(self) -> None:
        self._dirty = True
        self.refresh_bindings()
        self._tick()

    def action_cycle_sort(self) -> None:
        """Next agent order."""
        self.sort_mode = SORTS[(SORTS.index(self.sort_mode) + 1) % len(SORTS)]
        self._changed()

    def action_cycle_queue(self) -> None:
        """All queues → each queue in turn → all."""
        self.queue_filter = _next(self.floor.queue_names(), self.queue_filter)
        self._changed()

    def action_cycle_team(self) -> None:
        """All teams → each team in turn → all."""
        self.team_filter = _next(self.floor.team_names(), self.team_filter)
        self._changed()

    def action_toggle_alerts(self) -> None:
        """Every alert, or a few (compact layout)."""
        self.all_alerts = not self.all_alerts
        self.set_class(self.all_alerts, "-all-alerts")
        self._changed()

    def action_toggle_trends(self) -> None:
        """Show or hide the weekly trends."""
        self.query_one(TrendsPane).toggle()

    def action_toggle_help(self) -> None:
        """Show or hide the key help."""
        panel = self.query_one("#help")
        panel.display = not panel.display


def _squeezed(history: str, waiting: str, room: int) -> str:
    """The sparkline's newest minutes and the waiting count in ``room`` cells."""
    bars = room - len("Waiting   ") - len(waiting)
    if bars < 5:
        return f"waiting {waiting}"
    return f"Waiting {history[-bars:]}  {waiting}"


def _next(names: list[str], current: str | None) -> str | None:
    choices: list[str | None] = [None, *names]
    index = choices.index(current) if current in choices else 0
    return choices[(index + 1) % len(choices)]


def create_supervisor(
    open_source: Callable[[], Awaitable[FloorSource]],
    *,
    queue: str | None = None,
    clock: Clock | None = None,
    thresholds: Thresholds | None = None,
    since: datetime | None = None,
    scripts: Path | None = None,
) -> SupervisorApp:
    """The wallboard app, shared by the CLI and the tests.

    Queue statistics count from ``since`` (default: the start of the local day).
    """
    if since is None:
        local = (clock or (lambda: datetime.now(UTC)))().astimezone()
        since = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return SupervisorApp(
        open_source, clock=clock, thresholds=thresholds, queue=queue, since=since, scripts=scripts
    )
