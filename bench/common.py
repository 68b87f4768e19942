"""Shared pieces of the benchmarks: medians, isolated homes, a minimal Textual baseline."""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BASELINE_TEXTUAL_APP = (
    "from textual.app import App\n"
    "from textual.widgets import Footer, Static\n"
    "class Hello(App[None]):\n"
    "    BINDINGS = [('q', 'quit', 'Quit')]\n"
    "    def compose(self):\n"
    "        yield Static('Call queue (baseline)')\n"
    "        yield Footer()\n"
    "Hello().run()\n"
)
"""The smallest Textual app with a footer: what any Textual console pays for."""


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))


def report(
    name: str,
    unit: str,
    values: list[float],
    baseline: list[float] | None = None,
    baseline_name: str = "baseline",
) -> None:
    """Print one figure: median, spread, and the ratio to the baseline's median."""
    line = (
        f"{name}: median {median(values):.1f} {unit} (min {min(values):.1f}, "
        f"max {max(values):.1f}, n={len(values)})"
    )
    if baseline:
        base = median(baseline)
        ratio = f"ratio {median(values) / base:.2f}x" if base else "ratio n/a (baseline 0)"
        line += f"; {baseline_name} median {base:.1f} {unit}; {ratio}"
    print(line, flush=True)


@contextmanager
def isolated_home() -> Iterator[dict[str, str]]:
    """An environment whose HOME and XDG directories are a fresh temporary folder."""
    with tempfile.TemporaryDirectory(prefix="careline-bench-") as tmp:
        home = Path(tmp)
        env = {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "TERM": "xterm-256color"}
        for name in (
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
            "XDG_STATE_HOME",
            "XDG_CACHE_HOME",
            "XDG_RUNTIME_DIR",
        ):
            path = home / name.lower()
            path.mkdir(mode=0o700)
            env[name] = str(path)
        yield env


TICKS = os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    """VmRSS of ``pid`` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS
