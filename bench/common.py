# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pieces of the benchmarks: options, medians and ratios, isolated homes, the
console in tmux, process CPU and memory, a minimal Textual baseline."""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

from tests.tmux import TmuxSession

T = TypeVar("T")

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


class BenchParser(argparse.ArgumentParser):
    """A benchmark's options, with ``--quick``: one short run, for the test suite."""

    def __init__(self, description: str | None, quick: Mapping[str, object]) -> None:
        super().__init__(description=description)
        self.quick = dict(quick)
        """The defaults ``--quick`` swaps in (options given on the command line still win)."""
        self.add_argument(
            "--quick",
            action="store_true",
            help="one short run with small sizes: checks the bench works, figures not meaningful",
        )

    def options(self, argv: Sequence[str] | None = None) -> argparse.Namespace:
        """The parsed options, with the quick defaults when ``--quick`` is given."""
        options = self.parse_args(argv)
        if options.quick:
            self.set_defaults(**self.quick)
            options = self.parse_args(argv)
        return options


def bench_parser(
    doc: str | None,
    *,
    runs: int | None = 5,
    window: float | None = None,
    quick: Mapping[str, object] | None = None,
) -> BenchParser:
    """Options of a benchmark described by the first line of ``doc``: ``--runs`` (how many
    measurements; none when ``runs`` is None), ``--window`` (seconds measured each time)
    when it has a default, and ``--quick``: one run (a 1 s window), with ``quick``'s
    defaults for the bench's own options (keyed by their ``dest``). Read them with
    :meth:`BenchParser.options`."""
    parser = BenchParser(doc.splitlines()[0] if doc else None, quick or {})
    if runs is not None:
        parser.add_argument("--runs", type=int, default=runs)
        parser.quick.setdefault("runs", 1)
    if window is not None:
        parser.add_argument("--window", type=float, default=window)
        parser.quick.setdefault("window", 1.0)
    return parser


def columns(rows: Iterable[Sequence[T]]) -> list[list[T]]:
    """Rows of figures (one a run) as one list a figure: ``[(a1, b1), (a2, b2)]`` →
    ``[[a1, a2], [b1, b2]]``."""
    return [list(column) for column in zip(*rows, strict=True)]


def median(values: list[float]) -> float:
    """The median of ``values``."""
    return float(statistics.median(values))


def percentile(values: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (0..1) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


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


def report_columns(
    figures: Sequence[tuple[str, str]],
    runs: Iterable[Sequence[float]],
    baseline_runs: Iterable[Sequence[float]],
    baseline_name: str,
) -> None:
    """:func:`report` each figure (name, unit) of ``runs``, one row a run, against the same
    figure of ``baseline_runs``."""
    for (name, unit), values, baseline in zip(
        figures, columns(runs), columns(baseline_runs), strict=True
    ):
        report(name, unit, values, baseline, baseline_name)


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
        try:
            yield env
        finally:
            stop_home(env)


def stop_home(env: Mapping[str, str]) -> None:
    """Stop whatever still runs with ``env``'s home (an engine outlives its console by
    design): the bench leaves the home, or starts a console there afresh."""
    stop_processes(processes_at_home(env["HOME"]))


def processes_at_home(home: str) -> list[int]:
    """PIDs of live processes, this one aside, whose environment has ``HOME=home``."""
    wanted = f"HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                environ = (entry / "environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if wanted in environ:
                found.append(int(entry.name))
    return found


def command_line(pid: int) -> str:
    """The command line of ``pid``, its arguments joined by spaces ("" once it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def console_and_engine(home: str) -> tuple[int, int]:
    """PIDs of the one console (``-m console run``) running at ``home``, and of its engine:
    the other Python process there, whatever its command (it is an implementation detail)."""
    commands = {pid: command_line(pid) for pid in processes_at_home(home)}
    consoles = [pid for pid, command in commands.items() if command.endswith("-m console run")]
    engines = [
        pid
        for pid, command in commands.items()
        if pid not in consoles and command.startswith(sys.executable)
    ]
    if len(consoles) != 1 or len(engines) != 1:
        raise RuntimeError(f"expected one console and one engine at {home}: {commands}")
    return consoles[0], engines[0]


def alive(pid: int) -> bool:
    """``pid`` is running (a zombie waiting for its parent is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def stop_processes(pids: Iterable[int], grace: float = 5.0) -> None:
    """SIGTERM each of ``pids``; SIGKILL those still alive ``grace`` seconds later."""
    pids = list(pids)
    for pid in pids:
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in filter(alive, pids):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def tmux_console(
    command: list[str], env: dict[str, str], quit_wait: float = 1.0
) -> Iterator[TmuxSession]:
    """``command`` (a console) running in tmux; after the block it is sent ``q``, given
    ``quit_wait`` seconds to quit, and its tmux server killed."""
    session = TmuxSession(command, env)
    try:
        yield session
    finally:
        session.keys("q")
        time.sleep(quit_wait)
        session.kill()


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


def cpu_percent(pid: int, window: float) -> float:
    """CPU use of ``pid`` over the next ``window`` seconds, in percent of one core."""
    return cpu_percents([pid], window)[0]


def cpu_percents(pids: Sequence[int], window: float) -> list[float]:
    """CPU use of each of ``pids`` over the same next ``window`` seconds, in percent of a core."""
    before = [cpu_seconds(pid) for pid in pids]
    time.sleep(window)
    return [(cpu_seconds(pid) - b) / window * 100 for pid, b in zip(pids, before, strict=True)]


def bare_pjsua2(seconds: float, *, time_destroy: bool = False) -> str:
    """A Python program: a bare pjsua2 endpoint (one UDP transport on 127.0.0.1, the null
    audio device, polled every 10 ms on its one thread), idle for ``seconds``; the
    baseline of the engine's idle memory and CPU. With ``time_destroy`` it prints how
    many milliseconds its ``libDestroy()`` (pjsua2's default flags) took."""
    destroy = (
        "start = time.perf_counter(); ep.libDestroy()\n"
        "os.write(out, f'{(time.perf_counter() - start) * 1000:.3f}\\n'.encode())\n"
        if time_destroy
        else "ep.libDestroy()\n"
    )
    return (
        "import os, time, pjsua2 as pj\n"
        "out = os.dup(1); fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1); os.dup2(fd, 2)\n"
        "ep = pj.Endpoint(); ep.libCreate(); c = pj.EpConfig(); c.uaConfig.threadCnt = 0\n"
        "c.uaConfig.mainThreadOnly = True; c.logConfig.consoleLevel = 0; ep.libInit(c)\n"
        "t = pj.TransportConfig(); t.boundAddress = '127.0.0.1'; t.port = 0\n"
        "ep.transportCreate(pj.PJSIP_TRANSPORT_UDP, t); ep.libStart()\n"
        "ep.audDevManager().setNullDev()\n"
        f"end = time.time() + {seconds}\n"
        "while time.time() < end: ep.libHandleEvents(10)\n" + destroy
    )
