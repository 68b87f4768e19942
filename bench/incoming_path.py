# SPDX-License-Identifier: GPL-2.0-or-later
"""How many module hops an incoming call takes in the console, from the engine's
event to the painted ringing row (docs/architecture.md names each hop).

The real console runs under Textual's Pilot with no engine: the engine's
``call.incoming`` object is handed to the App's phone callback (where the
phone client hands it over), and every Python call in a ``console.*`` module is
traced until the ringing row is on screen. The path is what the agent screen's
``PhoneEvent`` handler runs (calls with the handler's frame on their stack;
work it hands to a worker or a timer is not on it). A hop is a call from one
console module into another; a climb, a call from a lower layer into a higher
one (the layers of pyproject.toml's import contract). Printed: hops, climbs,
the modules the path enters, and how often it enters the agent screen and the
App from another module.
Run: .venv/bin/python -m bench.incoming_path [--runs 3]
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from bench.common import bench_parser, report
from console.app import AppWiring, create_app
from console.core.config import load_config

INCOMING: dict[str, Any] = {
    "type": "event",
    "event": "call.incoming",
    "seq": 2,
    "time": "2026-01-01T10:00:00.000Z",
    "call": {
        "id": "c1",
        "direction": "inbound",
        "state": "ringing",
        "received_at": "2026-01-01T10:00:00.000Z",
        "called_uri": "sip:queue@127.0.0.1",
        "caller": {"display_name": "Maria Lopez", "number": "+12025550142"},
    },
}
HELLO = {"type": "event", "event": "hello", "seq": 1, "status": {"calls": []}}


HANDLER = ("console.screens.agent", "_phone_event")
"""The agent screen's handler of engine events (the same name before and after issue 16)."""


LAYERS = (
    ("console.app",),
    ("console.idle", "console.hub_link", "console.commands"),
    ("console.screens",),
    ("console.controllers",),
    ("console.dialogs", "console.messages"),
    ("console.widgets",),
    ("console.services",),
    ("console.hub",),
    ("console.core",),
)
"""Top first: the console's layers (the import contract in pyproject.toml)."""


def layer(module: str) -> int:
    """0 for the App, higher for lower layers (a module outside them counts as the App's)."""
    for rank, prefixes in enumerate(LAYERS):
        if module.startswith(prefixes):
            return rank
    return 0


def _module(frame: FrameType) -> str:
    return str(frame.f_globals.get("__name__", ""))


def _on_path(frame: FrameType | None) -> bool:
    while frame is not None:
        if (_module(frame), frame.f_code.co_name) == HANDLER:
            return True
        frame = frame.f_back
    return False


async def one_run(workdir: Path) -> list[tuple[str, str]]:
    """(caller, callee) console modules of every hop, in order, for one incoming call."""
    config = load_config(None, environ={"CARELINE_UI__BELL": "false"})
    wiring = AppWiring(
        engine_argv=["false"],
        socket_path=workdir / "engine.sock",
        store_path=workdir / "store.sqlite3",
    )
    app = create_app(config, wiring, start_phone=False)
    seen: list[tuple[str, str]] = []

    def trace(frame: FrameType, event: str, _arg: object) -> None:
        caller = frame.f_back
        if event != "call" or caller is None:
            return
        callee, source = _module(frame), _module(caller)
        if (
            callee != source
            and callee.startswith("console.")
            and source.startswith("console.")
            and _on_path(frame)
        ):
            seen.append((source, callee))

    async with app.run_test(size=(120, 36)) as pilot:
        app._phone_event(HELLO)  # noqa: SLF001 - where the phone client hands events over
        await pilot.pause(0.2)
        sys.setprofile(trace)
        try:
            app._phone_event(INCOMING)  # noqa: SLF001
            for _ in range(200):
                await pilot.pause()
                if len(app.agent_screen.queue.ringing()) == 1:
                    break
            await pilot.pause()  # the frame with the ringing row is painted
        finally:
            sys.setprofile(None)
        app.exit(0)
    return seen


def main() -> None:
    """Trace and print."""
    parser = bench_parser(__doc__, runs=3)
    parser.add_argument("--show", action="store_true", help="print the path of the last run")
    args = parser.options()
    runs: list[list[tuple[str, str]]] = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="careline-path-") as tmp:
            runs.append(asyncio.run(one_run(Path(tmp))))
    last = runs[-1]
    entered = Counter(callee for _, callee in last)
    climbs = [(a, b) for a, b in last if layer(b) < layer(a)]
    report("module hops, call.incoming → ringing row painted", "hops", [len(p) for p in runs])
    print(
        f"climbs back up: {len(climbs)}; modules entered: {len(entered)}; agent screen entered "
        f"{entered['console.screens.agent']} times; the App {entered['console.app']} times",
        flush=True,
    )
    if args.show:
        print(" → ".join(callee.removeprefix("console.") for _, callee in last))
        print("climbs:", ", ".join(f"{a} → {b}" for a, b in climbs) or "none")


if __name__ == "__main__":
    main()
