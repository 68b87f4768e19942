"""Agent state change → printed by ``careline queue tail`` / visible on the wallboard (p50/p95).

200 simulated agents publish state changes into one local store (the mode of
an after-hours machine with no hub). Three readers, same run, same changes:

- ``queue tail``: a real ``careline queue tail --json`` subprocess; each
  change carries the wall-clock time it was published (``bench_t``), the
  bench reads the printed line and takes the difference;
- wallboard: ``SupervisorApp`` in-process (headless ``run_test``) over a
  ``LocalFloor``; after each change the bench polls the agent's row until
  its reason cell shows the change;
- baseline: a bare ``SELECT … WHERE seq > ?`` loop on a plain ``sqlite3``
  connection polling every 0.25 s (LocalFloor's interval) in a thread.

Run: .venv/bin/python -m bench.floor_latency [--agents 200] [--changes 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.core.interactions import InteractionStore
from console.core.store import Store
from console.floor_view.app import LiveTable, create_supervisor
from console.floor_view.source import LocalFloor

ROOT = Path(__file__).resolve().parent.parent


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def state(agent: int, n: int) -> dict[str, Any]:
    """The ``n``-th change, for agent number ``agent``, stamped with the time now."""
    now = datetime.now(UTC)
    return {
        "agent_id": f"agent-{agent:03d}",
        "agent_name": f"Agent {agent:03d}",
        "availability": random.choice(("available", "not_ready", "wrap_up")),
        "reason": f"change {n}",
        "since": _z(now),
        "on_call": False,
        "call_since": None,
        "at": _z(now),
        "bench_t": time.time(),
    }


def pct(values: list[float], q: int) -> float:
    """The q-th percentile of ``values`` (ms)."""
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def line(name: str, values: list[float]) -> None:
    """Print p50/p95 of one reader."""
    print(
        f"{name}: p50 {pct(values, 50):.1f} ms, p95 {pct(values, 95):.1f} ms, n={len(values)}",
        flush=True,
    )


def bare_poll(path: Path, start: int, seen: queue.Queue[float], stop: threading.Event) -> None:
    """The baseline: poll the outbox with plain sqlite3 at LocalFloor's interval."""
    db = sqlite3.connect(path)
    last = start
    while not stop.is_set():
        rows = db.execute(
            "SELECT seq, payload FROM outbox WHERE seq > ? AND kind = 'agent_state' ORDER BY seq",
            (last,),
        ).fetchall()
        now = time.time()
        for seq, payload in rows:
            last = seq
            seen.put((now - json.loads(payload)["bench_t"]) * 1000)
        time.sleep(0.25)
    db.close()


def start_tail(path: Path, start: int) -> subprocess.Popen[str]:
    """``careline queue tail --json`` on the store at ``path``, after ``start``."""
    env = {**os.environ, "CARELINE_STORE__PATH": str(path)}
    return subprocess.Popen(
        [sys.executable, "-m", "console", "queue", "tail", "--json", "--from-seq", str(start)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


async def tail_and_baseline(path: Path, agents: int, changes: int) -> None:
    """Stream changes at about 50 a second to a tail subprocess and the bare poll."""
    store = await Store.open(path)
    outbox = InteractionStore(store)
    for agent in range(agents):  # every agent known before the clock starts
        await outbox.publish("agent_state", f"agent-{agent:03d}", state(agent, 0))
    start = int((await store.fetch_all("SELECT max(seq) FROM outbox"))[0][0])
    proc = await asyncio.to_thread(start_tail, path, start)
    printed: queue.Queue[float] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for text in proc.stdout:
            printed.put((time.time() - json.loads(text)["payload"]["bench_t"]) * 1000)

    threading.Thread(target=pump, daemon=True).start()
    polled: queue.Queue[float] = queue.Queue()
    stop = threading.Event()
    poller = threading.Thread(target=bare_poll, args=(path, start, polled, stop), daemon=True)
    poller.start()
    await asyncio.sleep(1.0)  # the tail is up
    for n in range(1, changes + 1):
        agent = random.randrange(agents)
        await outbox.publish("agent_state", f"agent-{agent:03d}", state(agent, n))
        await asyncio.sleep(random.uniform(0.0, 0.04))
    await asyncio.sleep(1.5)
    stop.set()
    proc.terminate()
    proc.wait(10)
    poller.join(5)
    await store.close()
    line("queue tail (subprocess)", list(printed.queue))
    line("baseline: bare SELECT poll every 0.25 s", list(polled.queue))


async def wallboard(path: Path, agents: int, samples: int) -> None:
    """One change at a time; time until the agent's row shows it."""
    writer = await Store.open(path)
    outbox = InteractionStore(writer)
    app = create_supervisor(lambda: LocalFloor.open(path))
    seen: list[float] = []
    async with app.run_test(size=(160, 48)) as pilot:
        table = app.query_one("#agents", LiveTable)
        while table.row_count < min(agents, 1):
            await pilot.pause(0.05)
        await pilot.pause(1.0)
        for n in range(samples):
            agent = random.randrange(agents)
            body = state(agent, 100_000 + n)
            await outbox.publish("agent_state", body["agent_id"], body)
            while True:
                try:
                    if table.get_cell(body["agent_id"], "reason").plain == body["reason"]:
                        break
                except Exception:  # noqa: S112 - the row may not exist yet
                    pass
                await asyncio.sleep(0.002)
            seen.append((time.time() - body["bench_t"]) * 1000)
            await asyncio.sleep(random.uniform(0.0, 0.3))
        await pilot.press("q")
    await writer.close()
    line("wallboard row (in-process)", seen)


def main() -> None:
    """Run the three readers and print p50/p95 for each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--changes", type=int, default=400)
    parser.add_argument("--samples", type=int, default=100)
    args = parser.parse_args()
    random.seed(7)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "floor.sqlite3"
        asyncio.run(tail_and_baseline(path, args.agents, args.changes))
        asyncio.run(wallboard(path, args.agents, args.samples))


if __name__ == "__main__":
    main()
