# SPDX-License-Identifier: GPL-2.0-or-later
"""`careline demo` launch → first painted screen, and `careline run` launch → first call
answerable, in a real terminal (tmux).

First paint: the baseline is the smallest Textual app with a footer, launched the
same way. The console's first frame is its startup screen (the agent screen's panes,
careline starting in the queue pane); the agent screen itself, its footer's keys on
screen, is reported beside it.

First call answerable: a caller's INVITE is on the wire from the moment the console
is launched (resent every 20 ms, as UDP retransmissions, until the
engine answers it); timed until the ringing row and the footer's Answer key are
on screen. Its baseline is the same console's launch → first paint, same run.

Each console is launched twice in its home (stopped in between, engine and all), and
the second launch is the figure: an agent's every start after their first reads the
configuration and script library from the parsed-documents cache the first wrote
(:mod:`console.core.parsed_yaml`); the demo's first launch is reported beside it.
Run: .venv/bin/python -m bench.launch_to_paint [--runs 5]
"""

from __future__ import annotations

import sys
import time

from bench.common import (
    BASELINE_TEXTUAL_APP,
    bench_parser,
    isolated_home,
    report,
    stop_home,
    tmux_console,
)
from tests.rawsip import RawCaller
from tests.support import free_udp_port


def time_to_text(command: list[str], env: dict[str, str], *texts: str) -> list[float]:
    """Milliseconds from starting ``command`` in tmux until each of ``texts`` is on screen."""
    start = time.perf_counter()
    times = []
    with tmux_console(command, env, quit_wait=0.5) as session:
        for text in texts:
            while text not in session.screen():
                if time.perf_counter() - start > 60:
                    raise RuntimeError(f"{text!r} never appeared")
                time.sleep(0.005)
            times.append((time.perf_counter() - start) * 1000)
    return times


def time_to_answerable(env: dict[str, str]) -> tuple[float, float]:
    """Milliseconds from launching ``careline run`` to its first paint, and to a call
    that was ringing at launch being on screen with its Answer key (``env`` names the
    console's SIP port, ``CARELINE_SIP__LISTEN``)."""
    port = int(env["CARELINE_SIP__LISTEN"].rpartition(":")[2])
    env = env | {"CARELINE_UI__BELL": "false"}
    caller = RawCaller(port)
    start = time.perf_counter()
    painted = 0.0
    try:
        with tmux_console([sys.executable, "-m", "console", "run"], env, quit_wait=1.0) as session:
            dialog = caller.invite()
            ringing = False
            while True:
                if not ringing:
                    response = caller.poll(dialog, 0.02)
                    if response is None:
                        caller.retransmit(dialog)  # nobody listening yet
                    elif response.status >= 300:
                        # Turned away (no console yet to show it): the caller tries again.
                        caller.ack(dialog, response)
                        dialog = caller.invite()
                    else:
                        ringing = response.status == 180
                screen = session.screen()
                if not painted and "Call queue" in screen:
                    painted = (time.perf_counter() - start) * 1000
                if "ringing" in screen and "Answer" in screen:
                    answerable = (time.perf_counter() - start) * 1000
                    break
                if time.perf_counter() - start > 60:
                    raise RuntimeError(f"the call never became answerable:\n{screen}")
                time.sleep(0.005)
            session.keys("d")  # decline it, as an agent would
            caller.ack(dialog, caller.final_response(dialog))
    finally:
        caller.close()
    return painted, answerable


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__).options()
    careline, agent_screen, first_start, baseline = [], [], [], []
    demo = [sys.executable, "-m", "console", "demo"]
    for _ in range(args.runs):
        with isolated_home() as env:
            baseline.extend(
                time_to_text(
                    [sys.executable, "-c", BASELINE_TEXTUAL_APP], env, "Call queue (baseline)"
                )
            )
        with isolated_home() as env:
            first, _ = time_to_text(demo, env, "Call queue", "Dial")
            stop_home(env)
            paint, ready = time_to_text(demo, env, "Call queue", "Dial")
        first_start.append(first)
        careline.append(paint)
        agent_screen.append(ready)
    report("careline demo launch to first paint", "ms", careline, baseline, "minimal Textual app")
    report(
        "careline demo launch to first paint, its first in a new home",
        "ms",
        first_start,
        baseline,
        "minimal Textual app",
    )
    report(
        "careline demo launch to the agent screen (its keys in the footer)",
        "ms",
        agent_screen,
        baseline,
        "minimal Textual app",
    )
    painted, answerable = [], []
    for _ in range(args.runs):
        with isolated_home() as env:
            env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{free_udp_port()}"
            time_to_answerable(env)
            stop_home(env)
            paint, answer = time_to_answerable(env)
        painted.append(paint)
        answerable.append(answer)
    report(
        "careline run launch to first call answerable",
        "ms",
        answerable,
        painted,
        "careline run launch to first paint",
    )


if __name__ == "__main__":
    main()
