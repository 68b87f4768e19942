# SPDX-License-Identifier: GPL-2.0-or-later
"""`careline attach` after an SSH drop mid-call → screen restored, in a real terminal (tmux).

Each run, in a fresh isolated home: `careline run` starts in a tmux pane (the
cold start, timed too: it is the baseline); a SIPp caller rings, the agent
answers (a), opens the notes (n) and types a line, which the console saves a
second after typing stops. The pane is then killed: SIGHUP to the console, as
when SSH drops, while the engine (in its own session) keeps the call and SIPp
stays on the line. Then `careline attach` runs in a new pane and the bench
polls `tmux capture-pane -p` for the restored screen: the call row with its
running timer ("talking 0:") and the typed notes both visible.

Both commands are timed the same way: the pane starts with a shell waiting
for Enter, the clock starts just before Enter is sent, so a tmux server's own
start-up is not counted (the agent types the command in a terminal that is
already there). A moment is the end of the first capture that shows its
text; the poll resolution printed is the gap between two captures (a capture
is a tmux client process, a few ms, plus a 10 ms sleep).

Baseline, same runs: the cold `careline run` to "phone online" (console
painted, new engine started and listening, no call), and the console's first
paint ("Call queue") for either command.
Run: .venv/bin/python -m bench.reattach --runs 5
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import bench_parser, isolated_home, median, processes_at_home, report
from tests.support import Sipp, free_udp_port
from tests.test_detach import stored_notes
from tests.tmux import TmuxSession, console_pid

NOTES = "caller asked about a refill"
TIMER = "talking 0:"
"""The call row's state and the start of its running timer."""
PAINTED = "Call queue"
"""The title of the queue pane: on screen as soon as the console has painted."""
ONLINE = "phone online"
POLL_SLEEP = 0.010


@dataclass(slots=True)
class Measurements:
    """Milliseconds per run for each moment, and every gap between two captures."""

    cold_paint: list[float] = field(default_factory=list)
    cold_online: list[float] = field(default_factory=list)
    attach_paint: list[float] = field(default_factory=list)
    attach_call_row: list[float] = field(default_factory=list)
    attach_restored: list[float] = field(default_factory=list)
    poll_gaps: list[float] = field(default_factory=list)


def pane_waiting_for_enter(command: list[str], env: dict[str, str]) -> TmuxSession:
    """A tmux pane whose shell runs ``command`` once Enter is pressed."""
    session = TmuxSession(["sh", "-c", 'read _ && exec "$@"', "sh", *command], env)
    time.sleep(0.3)  # the shell is reading: Enter is all that is left to time
    return session


def time_texts(
    session: TmuxSession, texts: list[str], gaps: list[float], timeout: float = 60.0
) -> dict[str, float]:
    """Press Enter; milliseconds until each of ``texts`` is first on screen (all of them)."""
    seen: dict[str, float] = {}
    start = time.perf_counter()
    session.keys("Enter")
    last: float | None = None
    while True:
        screen = session.screen()
        now = time.perf_counter()
        if last is not None:
            gaps.append((now - last) * 1000)
        last = now
        for text in texts:
            if text not in seen and text in screen:
                seen[text] = (now - start) * 1000
        if len(seen) == len(texts):
            return seen
        if now - start > timeout:
            missing = [t for t in texts if t not in seen]
            raise RuntimeError(f"{missing} never appeared; screen:\n{screen}")
        time.sleep(POLL_SLEEP)


def wait_until(condition: str, check: Callable[[], bool], timeout: float) -> None:
    """Poll ``check`` until it is true, or fail naming ``condition``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {condition}")
        time.sleep(0.1)


def one_run(results: Measurements) -> None:
    """Cold start, a call with notes, a terminal hangup, and the timed `careline attach`."""
    with isolated_home() as env:
        home = env["HOME"]
        port = free_udp_port()
        config = Path(home) / "console.yaml"
        # Optional wrap-up, as in tests/test_detach.py: the bench never files one.
        config.write_text("wrap_up:\n  mode: optional\n", encoding="utf-8")
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{port}"
        env["CARELINE_UI__BELL"] = "false"
        careline = [sys.executable, "-m", "console", "--config", str(config)]
        store = Path(env["XDG_DATA_HOME"]) / "careline" / "careline.sqlite3"
        first = pane_waiting_for_enter([*careline, "run"], env)
        second: TmuxSession | None = None
        sipp: Sipp | None = None
        try:
            cold = time_texts(first, [PAINTED, ONLINE], results.poll_gaps)
            sipp = Sipp(Path(home), "uac_agent_hangs_up.xml", port, timeout=300)
            first.wait_for("ringing", 15)
            first.keys("a")
            first.wait_for("talking", 10)
            first.keys("n")
            time.sleep(0.3)  # the focus moves on the next frame; tmux would deliver all at once
            first.keys("-l", NOTES)
            first.wait_for(NOTES, 10)
            # Saved a second after typing stops: what attach restores is the stored draft.
            wait_until("the notes saved", lambda: stored_notes(store) == [(NOTES,)], 10)
            console = console_pid(str(config))
            first.kill()  # SIGHUP to the console, as when SSH drops
            wait_until("the console gone", lambda: not Path(f"/proc/{console}").exists(), 10)
            engines = processes_at_home(home)  # the console is gone: the engine is left
            if len(engines) != 1 or sipp.proc.poll() is not None:
                raise RuntimeError(f"the call did not survive the hangup: {engines}")

            second = pane_waiting_for_enter([*careline, "attach"], env)
            warm = time_texts(second, [PAINTED, TIMER, NOTES], results.poll_gaps)
            second.keys("h")  # the agent hangs up: SIPp ends as scripted
            if sipp.wait(30) != 0:
                raise RuntimeError(f"the restored call did not end as scripted: {sipp.report()}")
        finally:
            first.kill()
            if second is not None:
                second.kill()
            if sipp is not None:
                sipp.stop()
            # The engine, kept by design when the terminal drops: isolated_home stops it.
    results.cold_paint.append(cold[PAINTED])
    results.cold_online.append(cold[ONLINE])
    results.attach_paint.append(warm[PAINTED])
    results.attach_call_row.append(warm[TIMER])
    results.attach_restored.append(max(warm[TIMER], warm[NOTES]))


def p95(values: list[float]) -> float:
    """The 95th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__).options()
    results = Measurements()
    for run in range(args.runs):
        one_run(results)
        print(
            f"run {run + 1}/{args.runs}: attach → restored "
            f"{results.attach_restored[-1]:.0f} ms, cold run → online "
            f"{results.cold_online[-1]:.0f} ms",
            flush=True,
        )
    report(
        "careline attach → call row, timer and notes restored",
        "ms",
        results.attach_restored,
        results.cold_online,
        "cold careline run → phone online (no call)",
    )
    report(
        "careline attach → call row with timer",
        "ms",
        results.attach_call_row,
        results.cold_online,
        "cold careline run → phone online (no call)",
    )
    report(
        "careline attach → first paint",
        "ms",
        results.attach_paint,
        results.cold_paint,
        "cold careline run → first paint",
    )
    if len(results.attach_restored) >= 20:
        print(f"attach → restored p95: {p95(results.attach_restored):.1f} ms", flush=True)
    gaps = results.poll_gaps
    print(
        f"poll resolution (gap between captures): median {median(gaps):.1f} ms, "
        f"p95 {p95(gaps):.1f} ms, max {max(gaps):.1f} ms",
        flush=True,
    )


if __name__ == "__main__":
    main()
