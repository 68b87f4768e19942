# SPDX-License-Identifier: GPL-2.0-or-later
"""The report and the comment list for spreadsheets: CSV and JSON.

Rows carry the counts beside the figures (so weeks can be added up
correctly). Text that came from outside (queue and agent names, comments) is
written as data, its control characters and bidi overrides replaced (an
export printed on a terminal must not drive it), and a CSV cell that a
spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return) is prefixed with a quote. Comments are exported only redacted
(:mod:`console.core.reports.redact`), with what was taken out.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from console.core.reports.feedback import Comment
from console.core.reports.figures import LEVELS, ReportData, Series
from console.core.reports.redact import redact
from console.core.text import safe_text

NAME_CELLS = 200
"""The widest queue or agent name exported (the floor's own limits are far below)."""

FIGURE_COLUMNS = (
    "level", "name", "week", "offered", "answered", "within_sl", "abandoned", "turned_away",
    "handled", "handle_s", "service_level", "abandon_rate", "aht_s", "csat_n",
    "csat_satisfied", "csat", "nps_n", "promoters", "detractors", "nps", "qa_n",
    "qa_score", "qa_passed",
)  # fmt: skip
"""The columns of a figures row, in order."""

COMMENT_COLUMNS = ("week", "queue", "agent", "interaction_id", "csat", "nps", "comment", "redacted")
"""The columns of a comment row: the week only (a survey's exact time is a date of
service), and never the patient."""


def _rounded(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def figure_rows(data: ReportData) -> list[dict[str, Any]]:
    """One row per group and week: the floor, each queue, each agent."""
    rows = []
    for level in LEVELS:
        series_list: Iterable[Series] = data.series(level)
        for series in series_list:
            for week, tally in zip(series.weeks, series.tallies, strict=True):
                rows.append(
                    {
                        "level": level,
                        "name": _text(series.name),
                        "week": week.isoformat(),
                        **{k: v for k, v in tally.counts().items() if k in FIGURE_COLUMNS},
                        "handle_s": round(tally.handle_s, 3),
                        "service_level": _rounded(tally.service_level, 4),
                        "abandon_rate": _rounded(tally.abandon_rate, 4),
                        "aht_s": _rounded(tally.aht_s, 1),
                        "csat": _rounded(tally.csat, 4),
                        "nps": _rounded(tally.nps, 1),
                        "qa_score": _rounded(tally.qa_score, 1),
                    }
                )
    return rows


def comment_rows(comments: Iterable[Comment]) -> list[dict[str, Any]]:
    """The comments, redacted, newest first."""
    rows = []
    for comment in sorted(comments, key=lambda c: (c.at, c.interaction_id), reverse=True):
        safe = redact(comment.text)
        rows.append(
            {
                "week": comment.week.isoformat(),
                "queue": _text(comment.queue),
                "agent": _text(comment.agent_id),
                "interaction_id": comment.interaction_id,
                "csat": comment.csat,
                "nps": comment.nps,
                "comment": safe.text,
                "redacted": safe.said,
            }
        )
    return rows


def _text(value: str) -> str:
    """A name from outside without control characters or bidi overrides (a CSV or JSON
    printed on a terminal must not drive it), whole."""
    return safe_text(value, NAME_CELLS)


def _cell(value: object) -> object:
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """``rows`` as CSV with a header line."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue()


def to_json(data: ReportData, rows: list[dict[str, Any]], what: str) -> str:
    """``rows`` as one JSON document with the report's weeks and threshold."""
    document = {
        "report": what,
        "first_week": data.weeks.first.isoformat(),
        "weeks": data.weeks.count,
        "sl_seconds": data.sl_seconds,
        "qa_available": data.qa_available,
        "rows": rows,
        "notes": list(data.notes),
    }
    return json.dumps(document, ensure_ascii=False, indent=1) + "\n"
