"""`careline demo` launch → first painted screen, in a real terminal (tmux).

Baseline: the smallest Textual app with a footer, launched the same way.
Run: .venv/bin/python -m bench.launch_to_paint [--runs 5]
"""

from __future__ import annotations

import sys
import time

from bench.common import BASELINE_TEXTUAL_APP, bench_parser, isolated_home, report, tmux_console


def time_to_text(command: list[str], env: dict[str, str], text: str) -> float:
    """Milliseconds from starting ``command`` in tmux until ``text`` is on screen."""
    start = time.perf_counter()
    with tmux_console(command, env, quit_wait=0.5) as session:
        while text not in session.screen():
            if time.perf_counter() - start > 60:
                raise RuntimeError(f"{text!r} never appeared")
            time.sleep(0.005)
        return (time.perf_counter() - start) * 1000


def main() -> None:
    """Measure and print."""
    args = bench_parser(__doc__).options()
    careline, baseline = [], []
    for _ in range(args.runs):
        with isolated_home() as env:
            baseline.append(
                time_to_text(
                    [sys.executable, "-c", BASELINE_TEXTUAL_APP], env, "Call queue (baseline)"
                )
            )
        with isolated_home() as env:
            careline.append(
                time_to_text([sys.executable, "-m", "console", "demo"], env, "Call queue")
            )
    report("careline demo launch to first paint", "ms", careline, baseline, "minimal Textual app")


if __name__ == "__main__":
    main()
