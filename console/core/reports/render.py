# SPDX-License-Identifier: GPL-2.0-or-later
"""The report on a terminal: per group (the floor, each queue, each agent) one
line per figure, with its sparkline over the weeks, its value over all the
weeks shown and a bar. Fits 80 columns; ASCII-only when asked or when the
terminal cannot show block glyphs. Queue and agent names are untrusted: they
are cleaned and rendered as text, never as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.cells import set_cell_size

from console.core.records import dataclass
from console.core.reports.charts import bar, sparkline
from console.core.reports.figures import LEVELS, ReportData, Series, Tally, sum_of
from console.core.text import safe_text

if TYPE_CHECKING:
    from rich.console import Console

LABEL = 18
VALUE = 11
BAR = 10
_FIXED = 2 + LABEL + 1 + 1 + VALUE + 1 + BAR
"""Cells of a figure's line besides its sparkline."""


@dataclass(frozen=True, slots=True)
class Figure:
    """One line of a group: how to read it from a tally and how to show it."""

    label: str
    value: Callable[[Tally], float | None]
    text: Callable[[Tally, float], str]
    low: float | None
    """The sparkline's and bar's scale (None: the series' own range, no bar)."""
    high: float | None


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"


def figures(sl_seconds: int) -> tuple[Figure, ...]:
    """The report's figures, in the order shown."""
    return (
        Figure(
            f"service level {sl_seconds}s",
            lambda t: t.service_level,
            lambda _t, v: f"{v * 100:.0f}%",
            0.0,
            1.0,
        ),
        Figure("abandoned", lambda t: t.abandon_rate, lambda _t, v: f"{v * 100:.1f}%", 0.0, 1.0),
        Figure("AHT", lambda t: t.aht_s, lambda _t, v: _duration(v), None, None),
        Figure("QA score", lambda t: t.qa_score, lambda t, v: f"{v:.0f} n={t.qa_n}", 0.0, 100.0),
        Figure("CSAT", lambda t: t.csat, lambda t, v: f"{v * 100:.0f}% n={t.csat_n}", 0.0, 1.0),
        Figure("NPS", lambda t: t.nps, lambda t, v: f"{v:+.0f} n={t.nps_n}", -100.0, 100.0),
    )


def spark_width(columns: int, weeks: int) -> int:
    """How many weeks' glyphs fit on a line ``columns`` wide."""
    return max(min(weeks, columns - _FIXED), 4)


def group_lines(
    series: Series, sl_seconds: int, width: int, *, ascii_only: bool, qa_available: bool
) -> list[str]:
    """A group's figure lines (the last ``width`` weeks in the sparklines)."""
    shown = series.tallies[-width:]
    total = sum_of(shown)
    lines = []
    for figure in figures(sl_seconds):
        if figure.label == "QA score" and not qa_available:
            lines.append(f"  {figure.label:<{LABEL}} (no evaluations kept here yet)")
            continue
        values = [figure.value(t) for t in shown]
        spark = sparkline(values, low=figure.low, high=figure.high, ascii_only=ascii_only)
        value = figure.value(total)
        text = ("-" if ascii_only else "–") if value is None else figure.text(total, value)
        share = None
        if value is not None and figure.low is not None and figure.high is not None:
            share = (value - figure.low) / (figure.high - figure.low)
        lines.append(
            f"  {figure.label:<{LABEL}} {spark:<{width}} {text:>{VALUE}} "
            f"{bar(share, BAR, ascii_only=ascii_only)}".rstrip()
        )
    return lines


def heading(series: Series, columns: int, *, ascii_only: bool = False) -> str:
    """A group's heading: Floor, Queue <name>, Agent <name> (cleaned, cut to fit)."""
    if series.level == "floor":
        return "Floor"
    name = safe_text(series.name or "(none)", columns - 8)
    if ascii_only:
        name = _plain(name)
    return f"{series.level.capitalize()} {name}"


def report_lines(data: ReportData, columns: int, *, ascii_only: bool) -> list[str]:
    """The whole report as lines at most ``columns`` cells wide."""
    weeks = data.weeks
    width = spark_width(columns, weeks.count)
    last = weeks.weeks[-1]
    dash = "-" if ascii_only else "–"
    lines = [f"careline report: {weeks.count} weeks {weeks.first} {dash} {last} (UTC, from Monday)"]
    if width < weeks.count:
        lines.append(f"sparklines show the last {width} weeks; values are over those weeks")
    else:
        lines.append("values are over all the weeks")
    if data.empty:
        lines.append("")
        lines.append("No calls, surveys or evaluations in these weeks: nothing to report.")
        return lines
    for level in LEVELS:
        for series in data.series(level):
            lines.append("")
            lines.append(heading(series, columns, ascii_only=ascii_only))
            lines.extend(
                group_lines(
                    series,
                    data.sl_seconds,
                    width,
                    ascii_only=ascii_only,
                    qa_available=data.qa_available,
                )
            )
    lines.extend(f"note: {note}" for note in data.notes)
    return lines


def print_report(console: Console, lines: list[str]) -> None:
    """Print ``lines`` as plain text (never markup, never highlighted)."""
    from rich.text import Text

    for line in lines:
        console.print(Text(line), soft_wrap=False, overflow="crop", no_wrap=True)


def comment_lines(
    data: ReportData, rows: list[dict[str, object]], columns: int, *, ascii_only: bool
) -> list[str]:
    """The redacted comments (rows of :func:`console.core.reports.export.comment_rows`)
    for a terminal, each under a line naming its week, queue, agent and scores."""
    import textwrap

    weeks = data.weeks
    dash = "-" if ascii_only else "–"
    lines = [f"survey comments: weeks {weeks.first} {dash} {weeks.weeks[-1]} (redacted)"]
    if not rows:
        lines += ["", "No survey comments in these weeks."]
        return lines
    for row in rows:
        scores = " ".join(
            f"{name} {row[key]}"
            for name, key in (("CSAT", "csat"), ("NPS", "nps"))
            if row[key] is not None
        )
        lines.append("")
        lines.append(
            safe_text(
                f"{row['week']}  {row['queue'] or '(no queue)'}  {row['agent']}  {scores}",
                columns,
            )
        )
        text = str(row["comment"])
        if ascii_only:
            text = _plain(text)
        lines.extend(textwrap.wrap(text, columns - 4, initial_indent="  ", subsequent_indent="  "))
        if row["redacted"]:
            lines.append(f"  (redacted: {row['redacted']})")
    return lines


TREND_NAME = 12
TREND_SPARK = 8


def trend_lines(data: ReportData, columns: int, *, ascii_only: bool = False) -> list[str]:
    """The wallboard's compact trends: one line for the floor and one per queue, each
    with service level, AHT and CSAT sparklines over the weeks (the last
    :data:`TREND_SPARK`) and the NPS, the values over those weeks."""
    dash = "-" if ascii_only else "–"
    lines = []
    for series in [*data.series("floor"), *data.series("queue")]:
        shown = series.tallies[-TREND_SPARK:]
        total = sum_of(shown)
        parts = []
        every = figures(data.sl_seconds)
        for label, figure, width in (
            ("SL", every[0], 4),
            ("AHT", every[2], 5),
            ("CSAT", every[4], 4),
        ):
            values = [figure.value(t) for t in shown]
            value = figure.value(total)
            text = dash if value is None else figure.text(total, value).split(" n=")[0]
            spark = sparkline(values, low=figure.low, high=figure.high, ascii_only=ascii_only)
            parts.append(f"{label} {spark:<{TREND_SPARK}} {text:>{width}}")
        nps = total.nps
        parts.append(f"NPS {dash if nps is None else f'{nps:+.0f}':>4}")
        name = (
            "Floor" if series.level == "floor" else safe_text(series.name or "(none)", TREND_NAME)
        )
        line = f"{set_cell_size(name, TREND_NAME)} {'  '.join(parts)}"
        lines.append(set_cell_size(line, columns).rstrip())
    return [_plain(line) for line in lines] if ascii_only else lines


def _plain(text: str) -> str:
    """``text`` in ASCII (anything else a question mark)."""
    return text.encode("ascii", "replace").decode("ascii")
