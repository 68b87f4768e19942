# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline queue tail``: the floor as a never-ending stream of lines.

One line per event, flushed as it comes, like ``tail -f``; pipe it into
``grep`` or ``jq``. Where it starts:

- by default, with the last :data:`DEFAULT_BACKLOG` events (like ``tail -f``
  shows the end of a file first), then everything new;
- ``--from-seq N``: every event after sequence number N (``--from-seq 0``:
  from the beginning), so a script that stored the last seq it saw resumes
  without missing or repeating anything.

``--queue Q`` keeps only the ``call_event`` lines of queue Q: agent state
changes belong to no queue and are left out.

Formats. Human (the default)::

    <seq> <HH:MM:SS UTC> <agent> <kind> <details>

where every untrusted value is cleaned of control characters and escapes.
A call turned away without ringing ends with ``reason=…`` (quoted when it
has a space: ``reason="agent not_ready"``). ``--json``: one JSON object per
line, ``{"seq", "at", "agent_id", "kind", "payload"}`` (the checked payload;
``agent_id`` is the row's). ``--json`` also prints each worklist's progress (the
hub's items with a hub, else the local store's) at the start and when it changes:
``{"at", "kind":
"worklist_progress", "list_id", "done", "remaining", "reached", "confirmed",
"opted_out", "blocked"}`` (no ``seq``: it is a count, not an event).

A row that is not a floor record is not printed: a notice on stderr names its
seq and what is wrong (``careline: seq 42: bad floor row ignored (payload is a
list, not an object)``), never its content, and the tail goes on.

Exit status: 0 on SIGINT (Ctrl-C), 141 (128 + SIGPIPE) when the reader of
the pipe went away (``| head``), with no traceback either way; 2 when the hub
refuses the login (raised as a configuration error for the CLI to report).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TextIO

from console.core.text import safe_text
from console.floor_view.source import BadRow, FloorEvent, FloorSource
from console.floor_view.worklists import WorklistProgress

Progress = Callable[[], Awaitable[list[WorklistProgress]]]
"""Reads each worklist's progress now."""

DEFAULT_BACKLOG = 10
"""Events shown from before the start when no ``--from-seq`` is given."""
PROGRESS_EVERY = 1.0
"""Seconds between two reads of the worklist progress: counts, not events, so a busy
floor's stream does not count the hub's items again for every batch of events."""

EXIT_SIGPIPE = 128 + signal.SIGPIPE
"""What a shell reports for a process killed by SIGPIPE; returned when the pipe closes."""


def matches(event: FloorEvent, queue: str | None) -> bool:
    """Whether the event belongs in a tail filtered by ``queue`` (None: everything)."""
    if queue is None:
        return True
    return event.kind == "call_event" and event.payload.get("queue") == queue


def _clean(value: object, width: int = 40) -> str:
    # safe_text leaves no spaces at the ends; an empty value still holds its column.
    return safe_text(value, width) or "-"


def human_line(event: FloorEvent) -> str:
    """The event as one line of safe text."""
    body = event.payload
    stamp = event.at.astimezone(UTC).strftime("%H:%M:%S")
    head = f"{event.seq} {stamp} {_clean(event.agent_id)} {event.kind}"
    if event.kind == "agent_state":
        details = _clean(body.get("availability"), 16)
        if body.get("reason"):
            details += f" reason={_clean(body.get('reason'))}"
        if body.get("on_call") is True:
            details += " on_call"
        if body.get("team"):
            details += f" team={_clean(body.get('team'))}"
        return f"{head} {details}"
    details = (
        f"{_clean(body.get('event'), 16)} queue={_clean(body.get('queue'))} "
        f"call={_clean(body.get('call_id'))}"
    )
    for name in ("wait_s", "talk_s", "acw_s"):
        value = body.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and value:
            details += f" {name}={value:g}"
    if body.get("event") == "turned_away":
        reason = _clean(body.get("reason") or "unknown")
        details += f' reason="{reason}"' if " " in reason else f" reason={reason}"
    return f"{head} {details}"


def bad_row_notice(row: BadRow) -> str:
    """The stderr line for a row that is not a floor record (no content of it)."""
    return f"careline: seq {row.seq}: bad floor row ignored ({row.problem})"


def json_line(event: FloorEvent) -> str:
    """The event as one compact JSON object (``ensure_ascii``: no raw escapes reach a terminal)."""
    record = {
        "seq": event.seq,
        "at": event.at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "agent_id": event.agent_id,
        "kind": event.kind,
        "payload": event.payload,
    }
    return json.dumps(record, separators=(",", ":"), ensure_ascii=True)


def reader_gone(out: TextIO) -> bool:
    """Whether ``out`` is a pipe whose reader closed it (like GNU ``tail -f`` checks).

    Without this a quiet floor would keep ``careline queue tail | head`` alive
    until the next event.
    """
    try:
        fd = out.fileno()
    except (OSError, ValueError):
        return False
    poller = select.poll()
    poller.register(fd, 0)  # POLLERR and POLLHUP are always reported
    return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in poller.poll(0))


async def follow(
    source: FloorSource,
    out: TextIO,
    *,
    queue: str | None = None,
    as_json: bool = False,
    from_seq: int | None = None,
    backlog: int = DEFAULT_BACKLOG,
    stop: Callable[[], bool] = lambda: False,
    err: TextIO | None = None,
    progress: Progress | None = None,
) -> int:
    """Print events from ``source`` until ``stop()`` is true; returns the last seq seen.

    Bad rows are reported on ``err`` (default: standard error) and skipped.
    With ``progress``, a worklist's progress line is printed at the start and whenever
    its counts change (read at most every :data:`PROGRESS_EVERY` seconds).

    ``from_seq`` None starts ``backlog`` events before the current end.
    A write that fails with ``BrokenPipeError`` propagates to the caller.
    """
    render = json_line if as_json else human_line
    if from_seq is None:
        from_seq = max(await source.last_seq() - backlog, 0) if backlog else await source.last_seq()
    last = from_seq
    shown: dict[str, WorklistProgress] = {}
    read_at: float | None = None
    while not stop():
        if progress is not None and (
            read_at is None or time.monotonic() - read_at >= PROGRESS_EVERY
        ):
            read_at = time.monotonic()
            for entry in await progress():
                if shown.get(entry.list_id) != entry:
                    shown[entry.list_id] = entry
                    out.write(entry.json_line(datetime.now(UTC)) + "\n")
            out.flush()
        events = await source.events_after(last)
        if not events:
            await source.wait(1.0)
            if reader_gone(out):
                raise BrokenPipeError("the reader of standard output went away")
            continue
        for event in events:
            last = event.seq
            if isinstance(event, BadRow):
                print(bad_row_notice(event), file=err or sys.stderr, flush=True)
            elif matches(event, queue):
                out.write(render(event) + "\n")
        out.flush()
    return last


def run_tail(
    open_source: Callable[[], Awaitable[FloorSource]],
    *,
    queue: str | None,
    as_json: bool,
    from_seq: int | None,
) -> int:
    """Run the tail on the source ``open_source()`` awaits to; returns the exit code."""

    async def main() -> int:
        source = await open_source()
        try:
            await follow(
                source,
                sys.stdout,
                queue=queue,
                as_json=as_json,
                from_seq=from_seq,
                progress=source.worklist_progress if as_json else None,
            )
        finally:
            with contextlib.suppress(Exception):
                await source.close()
        return 0

    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        return 0
    except BrokenPipeError:
        # Python would print an error flushing stdout at exit: point it at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_SIGPIPE
