# SPDX-License-Identifier: GPL-2.0-or-later
"""Records lost or duplicated when the console is killed or its disk fills mid-call.

Each run is one call through the real console (Textual, headless in a child
process), its real engine and a SIPp caller, in a fresh directory:

    ring → answer (a) → notes (n, typed) → hang up (h) → wrap-up (Esc: optional, skipped
    with the default disposition, which still records the interaction)

and, at a random moment of that call, one fault:

* ``kill``: SIGKILL of the console and its engine together (a power cut), then a
  new console starts on the same store, takes whatever wrap-ups open (the
  start-up recovery), and exits;
* ``fill``: the store's file system (a small tmpfs) is filled for a random
  0.5-3 s and freed; the console must ride it out and finish the call, then a
  new console starts and exits, as above.

The child journals each step it completed (``answered`` once the call shows as
talking). After the run the store is checked:

* every call the journal saw answered ends with exactly one interaction (the
  wrap-up always records one; a callback rides on it) — none is *lost*, none
  *duplicated* (two interactions, or two outbox rows for one);
* no call is left open (``ended_at`` empty) after the restart.

Reported: runs, faults by kind, lost, duplicated, open, and the median run
time against the baseline of runs with no fault (``--no-fault-runs``).
Needs root (the tmpfs mount) and SIPp.
Run: .venv/bin/python -m bench.records_campaign --runs 200
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import bench_parser, median, report
from tests.support import Sipp
from tests.test_demo_tmux import processes_mentioning
from tests.tiny_disk import TinyDisk

CALL_SECONDS = 5.0
"""Roughly how long one call takes here from ring to wrap-up; the fault falls inside it."""
STEP_TIMEOUT = 30.0


# ----------------------------------------------------------------- the child (a console)


def _journal(run_dir: Path, step: str) -> None:
    with open(run_dir / "journal", "a", encoding="utf-8") as out:
        out.write(f"{step} {time.time():.3f}\n")
        out.flush()
        os.fsync(out.fileno())


async def _child(run_dir: Path, store: Path, mode: str) -> int:
    """One console on ``store``: ``call`` takes one call; ``recover`` takes the
    wrap-ups the start-up recovery opens. Journals what it did; its SIP port is in
    ``run_dir/sip_port``."""
    import dataclasses

    from textual.pilot import Pilot

    from console.app import CarelineApp
    from console.dialogs.wrap_up import WrapUpDialog
    from tests.console_app import make_app, sip_port

    # The console the tests run (engine, socket and logs in run_dir); its store is the
    # run's, which a "fill" run keeps on the tiny disk (as tests/test_console_full_disk).
    app: CarelineApp = make_app(run_dir, "audio:\n  mode: none\n", wrap_up="optional")
    app.wiring = dataclasses.replace(app.wiring, store_path=store)
    (run_dir / "sip_port").write_text(str(sip_port(app)))
    app.held.retry_s = 0.3

    async def until(pilot: Pilot[int], done: object, what: str) -> None:
        deadline = time.monotonic() + STEP_TIMEOUT
        while not done():  # type: ignore[operator]
            if time.monotonic() > deadline:
                raise TimeoutError(what)
            await pilot.pause(0.05)

    async with app.run_test(size=(120, 36)) as pilot:
        screen = app.agent_screen
        await until(pilot, lambda: app.phone.status.online, "online")
        _journal(run_dir, "online")
        if mode == "call":
            await until(pilot, lambda: bool(screen.queue.ringing()), "ringing")
            _journal(run_dir, "ringing")
            await pilot.press("a")
            await until(pilot, lambda: screen.queue.active() is not None, "talking")
            _journal(run_dir, "answered")
            await pilot.press("n")
            await pilot.pause(0.1)
            await pilot.press(*"asked about test results")
            await pilot.press("escape")
            await pilot.pause(1.2)  # the notes' save comes due
            _journal(run_dir, "notes")
            await pilot.press("h")
            await until(pilot, lambda: isinstance(app.screen, WrapUpDialog), "wrap-up")
            _journal(run_dir, "wrap-up")
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, WrapUpDialog), "wrapped")
            _journal(run_dir, "wrapped")
        else:
            quiet_since = time.monotonic()
            while time.monotonic() - quiet_since < 1.5:
                if isinstance(app.screen, WrapUpDialog):
                    await pilot.press("escape")
                    quiet_since = time.monotonic()
                    _journal(run_dir, "recovered-wrap-up")
                await pilot.pause(0.1)
        await until(pilot, lambda: app.held.count == 0, "saved")
        _journal(run_dir, "done")
        await app.phone.stop()
    return 0


# ------------------------------------------------------------------ the parent (a run)


@dataclass(slots=True)
class Tally:
    """What the runs found."""

    runs: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    fault_after: dict[str, int] = field(default_factory=dict)
    """Runs by the last step the console had journaled when the fault struck."""
    answered: int = 0
    lost: int = 0
    duplicated: int = 0
    left_open: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    call_seconds: list[float] = field(default_factory=list)
    """Online → wrapped, in the no-fault runs."""
    baseline_seconds: list[float] = field(default_factory=list)


def _start_child(run_dir: Path, store: Path, mode: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bench.records_campaign", "--child", mode, str(run_dir), str(store)],
        stdout=open(run_dir / f"{mode}.out", "ab"),  # noqa: SIM115 - the child owns it
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _journal_lines(run_dir: Path) -> list[tuple[str, float]]:
    try:
        text = (run_dir / "journal").read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [(step, float(at)) for step, at in (line.split() for line in text.splitlines())]


def _steps(run_dir: Path) -> list[str]:
    return [step for step, _ in _journal_lines(run_dir)]


def _wait_step(run_dir: Path, step: str, child: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT
    while step not in _steps(run_dir):
        if child.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the console never reached {step!r} ({run_dir})")
        time.sleep(0.02)


def _kill_all(run_dir: Path, child: subprocess.Popen[bytes]) -> None:
    """SIGKILL the console and every engine of this run at once (a power cut)."""
    pids = [child.pid] + [int(line.split(":", 1)[0]) for line in processes_mentioning(str(run_dir))]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    child.wait()


def _stop_engines(run_dir: Path) -> None:
    for line in processes_mentioning(str(run_dir)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line.split(":", 1)[0]), signal.SIGTERM)


def one_run(base: Path, disk: TinyDisk, fault: str, rng: random.Random, tally: Tally) -> None:
    """One call with one fault (``kill``, ``fill`` or ``none``), then the checks."""
    run_dir = Path(tempfile.mkdtemp(prefix=f"run-{tally.runs:03d}-", dir=base))
    store_dir = disk.path / run_dir.name if fault == "fill" else run_dir
    store_dir.mkdir(exist_ok=True)
    store = store_dir / "store.sqlite3"
    started = time.monotonic()
    child = _start_child(run_dir, store, "call")
    sipp: Sipp | None = None
    try:
        _wait_step(run_dir, "online", child)
        port = int((run_dir / "sip_port").read_text())
        sipp = Sipp(run_dir, "uac_agent_hangs_up.xml", port, timeout=60)
        time.sleep(rng.uniform(0.0, call_seconds(tally)))
        last = _steps(run_dir)[-1]
        tally.fault_after[f"{fault} after {last}"] = (
            tally.fault_after.get(f"{fault} after {last}", 0) + 1
        )
        if fault == "kill":
            _kill_all(run_dir, child)
        elif fault == "fill":
            usage = shutil.disk_usage(disk.path)
            if usage.used > usage.total // 2:  # what fills it besides the ballast?
                print(
                    f"  {run_dir.name}: the disk holds {usage.used} bytes before the fill: "
                    + ", ".join(
                        f"{p.relative_to(disk.path)} {p.stat().st_size}"
                        for p in disk.path.rglob("*")
                        if p.is_file()
                    ),
                    flush=True,
                )
            disk.fill()
            time.sleep(rng.uniform(0.5, 3.0))
            disk.free()
        if fault != "kill" and child.wait(timeout=STEP_TIMEOUT * 2) != 0:
            tally.failures.append(f"{run_dir.name}: the console exited {child.returncode}")
        recover = _start_child(run_dir, store, "recover")
        if recover.wait(timeout=STEP_TIMEOUT * 2) != 0:
            tally.failures.append(f"{run_dir.name}: the restarted console failed")
    finally:
        disk.free()
        if child.poll() is None:
            _kill_all(run_dir, child)
        if sipp is not None:
            sipp.stop()
        _stop_engines(run_dir)
    (tally.seconds if fault != "none" else tally.baseline_seconds).append(
        time.monotonic() - started
    )
    if fault == "none":
        times: dict[str, float] = {}
        for step, at in _journal_lines(run_dir):
            times.setdefault(step, at)  # the first console's, not the restarted one's
        tally.call_seconds.append(times["wrapped"] - times["online"])
    _check(run_dir, store, tally)
    tally.runs += 1
    tally.faults[fault] = tally.faults.get(fault, 0) + 1
    if fault == "fill":
        shutil.rmtree(store_dir, ignore_errors=True)


def call_seconds(tally: Tally) -> float:
    """How long a call takes from the caller's INVITE to the wrap-up saved: the median
    of the no-fault runs so far (the fault falls anywhere in it), else a guess."""
    return median(tally.call_seconds) if tally.call_seconds else CALL_SECONDS


def _check(run_dir: Path, store: Path, tally: Tally) -> None:
    import sqlite3

    answered_seen = "answered" in _steps(run_dir)
    with sqlite3.connect(store) as db:
        calls = db.execute(
            "SELECT id, answered_at IS NOT NULL, ended_at IS NULL FROM calls "
            "WHERE direction = 'inbound'"
        ).fetchall()
        per_call = dict(
            db.execute("SELECT call_id, count(*) FROM interactions GROUP BY call_id").fetchall()
        )
        outbox_twice = db.execute(
            "SELECT count(*) FROM (SELECT entity_id FROM outbox WHERE kind = 'interaction' "
            "GROUP BY entity_id HAVING count(*) > 1)"
        ).fetchone()[0]
    tally.left_open += sum(1 for _, _, still_open in calls if still_open)
    tally.duplicated += outbox_twice + sum(1 for n in per_call.values() if n > 1)
    answered_ids = [call_id for call_id, answered, _ in calls if answered]
    if answered_seen and not answered_ids:
        tally.lost += 1
        tally.failures.append(f"{run_dir.name}: answered, but not stored as answered")
    for call_id in answered_ids:
        tally.answered += 1
        if per_call.get(call_id, 0) == 0:
            tally.lost += 1
            tally.failures.append(f"{run_dir.name}: answered call {call_id} has no interaction")


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """Run the campaign and print its figures."""
    parser = bench_parser(__doc__, runs=200, quick={"no_fault_runs": 1, "seed": 3})
    parser.add_argument(
        "--no-fault-runs", type=int, default=5, help="baseline runs with no fault (default 5)"
    )
    parser.add_argument("--seed", type=int, default=15, help="random seed (default 15)")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.options(argv)
    if args.child:
        mode, run_dir, store = args.child
        return asyncio.run(_child(Path(run_dir), Path(store), mode))
    # A full campaign runs for half an hour, so it gets stopped (kill, a CI job's
    # time-out): SIGTERM unwinds like an error, so the finally blocks below stop this
    # run's console, engines and SIPp, unmount the tmpfs and remove the directory.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    rng = random.Random(args.seed)
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="careline-campaign-") as tmp:
        base = Path(tmp)
        disk = TinyDisk(base / "disk", size="16m")
        try:
            plan = ["none"] * args.no_fault_runs + [
                rng.choice(("kill", "fill")) for _ in range(args.runs)
            ]
            for number, fault in enumerate(plan, 1):
                one_run(base, disk, fault, rng, tally)
                print(
                    f"run {number}/{len(plan)} {fault}: lost {tally.lost}, "
                    f"duplicated {tally.duplicated}, open {tally.left_open}",
                    flush=True,
                )
        finally:
            disk.unmount()
    print(json.dumps({k: vars_of(tally)[k] for k in ("faults", "fault_after")}, indent=1))
    report("run (call + fault + restart)", "s", tally.seconds, tally.baseline_seconds, "no fault")
    print(
        f"records: {tally.answered} answered calls over {tally.runs} runs "
        f"({tally.faults}); lost {tally.lost}, duplicated {tally.duplicated}, "
        f"left open {tally.left_open}"
    )
    for failure in tally.failures:
        print("  " + failure)
    return 1 if tally.lost or tally.duplicated or tally.left_open or tally.failures else 0


def vars_of(tally: Tally) -> dict[str, object]:
    """The tally as a plain dict (slots dataclass)."""
    return {name: getattr(tally, name) for name in tally.__dataclass_fields__}


if __name__ == "__main__":
    raise SystemExit(main())
