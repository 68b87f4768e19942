# SPDX-License-Identifier: GPL-2.0-or-later
"""Resident memory of the console and of the engine, idle (phone online, no call).

`careline run` in tmux with an isolated home; RSS read from /proc after the
phone is online and things settle. Baselines, same machine, same run: the
smallest Textual app (for the console), and a plain Textual app with the agent
screen's widgets and no careline code (``bench.baseline_layout``: what is left
over it is careline's code, libraries and state; started with the console's
interpreter flags, ``-OO`` once compiled, see :mod:`console.core.bytecode`); for the
engine, a bare pjsua2 endpoint with one UDP transport and the null audio device. The
minimal app and the bare endpoint are also run with the console's and the engine's
flags, like for like (``-OO`` leaves docstrings out of their libraries too).
The console starts twice in its home and is measured at both: the first start composes
its YAML and caches it, every later one (an agent's every day) reads the cache.
Each process idles ``--settle`` seconds before its RSS is read (the console a second
more, for its first timers; the bare endpoint half a second more, as it has no screen
to wait for); ``--quick`` barely settles: it checks the bench runs, not its figures.
Run: .venv/bin/python -m bench.idle_memory [--runs 5] [--settle 2]
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench import baseline_layout
from bench.common import (
    BASELINE_TEXTUAL_APP,
    bare_pjsua2,
    bench_parser,
    console_and_engine,
    isolated_home,
    processes_at_home,
    report,
    rss_mib,
    stop_home,
)
from console.core.bytecode import CONSOLE_MODULES, ENGINE_MODULES, interpreter_flags
from tests.support import free_udp_port
from tests.tmux import TmuxSession

CONSOLE_FLAGS = tuple(interpreter_flags(CONSOLE_MODULES))
"""The interpreter flags the console runs with (``-OO`` once compiled)."""
ENGINE_FLAGS = tuple(interpreter_flags(ENGINE_MODULES))
"""The same for its engine."""
LAYOUT_APP = (*CONSOLE_FLAGS, "-m", "bench.baseline_layout")
"""The agent screen's widgets without careline (run from the checkout, like the console,
and optimized as it is, so that the difference is careline's alone)."""


SETTLE_S = 2.0
"""How long each process idles before its RSS is read (``--settle``)."""


def careline_once(settle: float = SETTLE_S) -> tuple[float, float, float]:
    """(console MiB at its first start in a new home, console MiB at its next start, engine
    MiB), each read ``settle`` + 1 s after the phone is online.

    Every start after an agent's first reads its configuration and script library from the
    parsed-documents cache the first one wrote (:mod:`console.core.parsed_yaml`), without
    PyYAML: the second start is the agent's every day, the first is reported beside it.
    """
    with isolated_home() as env:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{free_udp_port()}"
        first, _ = _idle_console(env, settle)
        console, engine = _idle_console(env, settle)
        return first, console, engine


def _idle_console(env: dict[str, str], settle: float) -> tuple[float, float]:
    """(console MiB, engine MiB) of one idle start; then the console and its engine stop."""
    session = TmuxSession([sys.executable, "-m", "console", "run"], env)
    try:
        session.wait_for("phone online", 30)
        time.sleep(settle + 1)
        console, engine = console_and_engine(env["HOME"])
        return rss_mib(console), rss_mib(engine)
    finally:
        session.keys("q")
        time.sleep(1)
        session.kill()
        stop_home(env)  # the next start starts its own engine


def textual_baseline_once(
    command: tuple[str, ...] = ("-c", BASELINE_TEXTUAL_APP),
    up: str = "Call queue (baseline)",
    settle: float = SETTLE_S,
) -> float:
    """MiB of a Textual app (the smallest one unless told), idle ``settle`` s after it is up."""
    with isolated_home() as env:
        session = TmuxSession([sys.executable, *command], env)
        try:
            session.wait_for(up, 30)
            time.sleep(settle)
            [pid] = processes_at_home(env["HOME"])
            return rss_mib(pid)
        finally:
            session.kill()


def pjsua2_baseline_once(flags: tuple[str, ...] = (), settle: float = SETTLE_S) -> float:
    """MiB of a bare pjsua2 endpoint, idle ``settle`` + 0.5 s (run with the interpreter
    ``flags``)."""
    proc = subprocess.Popen([sys.executable, *flags, "-c", bare_pjsua2(settle + 2)])
    try:
        time.sleep(settle + 0.5)
        return rss_mib(proc.pid)
    finally:
        proc.wait(10)


def main() -> None:
    """Measure and print."""
    parser = bench_parser(__doc__, quick={"settle": 0.2})
    parser.add_argument("--settle", type=float, default=SETTLE_S, help="seconds idle before RSS")
    args = parser.options()
    settle = args.settle
    firsts, consoles, engines, textual, layout, pjsua = [], [], [], [], [], []
    # Like for like: -OO takes the docstrings out of Textual's and pjsua2's code too.
    textual_flagged, pjsua_flagged = [], []
    for _ in range(args.runs):
        first, console, engine = careline_once(settle)
        firsts.append(first)
        consoles.append(console)
        engines.append(engine)
        textual.append(textual_baseline_once(settle=settle))
        layout.append(textual_baseline_once(LAYOUT_APP, baseline_layout.TITLE, settle))
        pjsua.append(pjsua2_baseline_once(settle=settle))
        if CONSOLE_FLAGS:
            flagged = (*CONSOLE_FLAGS, "-c", BASELINE_TEXTUAL_APP)
            textual_flagged.append(textual_baseline_once(flagged, settle=settle))
        if ENGINE_FLAGS:
            pjsua_flagged.append(pjsua2_baseline_once(ENGINE_FLAGS, settle))
    report("console RSS, idle", "MiB", consoles, textual, "minimal Textual app")
    report(
        "console RSS, idle, at its first start in a new home (its YAML composed)",
        "MiB",
        firsts,
        textual,
        "minimal Textual app",
    )
    if textual_flagged:
        report(
            "console RSS, idle, against the minimal app run as the console is",
            "MiB",
            consoles,
            textual_flagged,
            f"minimal Textual app under {' '.join(CONSOLE_FLAGS)}",
        )
    report(
        "console RSS, idle, over its screen's widgets",
        "MiB",
        consoles,
        layout,
        "Textual app with the agent screen's widgets",
    )
    report("engine RSS, idle", "MiB", engines, pjsua, "bare pjsua2 endpoint")
    if pjsua_flagged:
        report(
            "engine RSS, idle, against the endpoint run as the engine is",
            "MiB",
            engines,
            pjsua_flagged,
            f"bare pjsua2 endpoint under {' '.join(ENGINE_FLAGS)}",
        )


if __name__ == "__main__":
    main()
