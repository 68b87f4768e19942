"""`careline demo` launch → first painted screen, in a real terminal (tmux).

Baseline: the smallest Textual app with a footer, launched the same way.
Run: .venv/bin/python -m bench.launch_to_paint [--runs 5]
"""

from __future__ import annotations

import argparse
import sys
import time

from bench.common import BASELINE_TEXTUAL_APP, isolated_home, report
from tests.tmux import TmuxSession


def time_to_text(command: list[str], env: dict[str, str], text: str) -> float:
    """Milliseconds from starting ``command`` in tmux until ``text`` is on screen."""
    start = time.perf_counter()
    session = TmuxSession(command, env)
    try:
        while text not in session.screen():
            if time.perf_counter() - start > 60:
                raise RuntimeError(f"{text!r} never appeared")
            time.sleep(0.005)
        return (time.perf_counter() - start) * 1000
    finally:
        session.keys("q")
        time.sleep(0.5)
        session.kill()


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
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
