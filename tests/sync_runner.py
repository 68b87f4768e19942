# SPDX-License-Identifier: GPL-2.0-or-later
"""One hub sync pass in a process of its own, for the crash test.

``python -m tests.sync_runner STORE CONNINFO [--kill-after-commit]`` opens the
local store, delivers its outbox once and prints the hub's answers as JSON.
The password comes from ``CARELINE_TEST_HUB_PASSWORD`` (never argv). With
``--kill-after-commit`` the process SIGKILLs itself right after the first hub
commit, before the local rows are marked sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from pathlib import Path

from console.core.store import Store
from console.hub.sync import SyncWorker, hub_connector


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


async def main(store_path: Path, conninfo: str, kill: bool, batch: int) -> None:
    """Deliver once and print ``{"answers": ..., "backlog": ...}``."""
    store = await Store.open(store_path)
    worker = SyncWorker(
        store,
        hub_connector(conninfo, os.environ.get("CARELINE_TEST_HUB_PASSWORD")),
        region="US",
        batch=batch,
        after_commit=_die if kill else None,
    )
    try:
        await worker.deliver()
        status = await worker.status()
    finally:
        await worker.close()
        await store.close()
    print(json.dumps({"answers": worker.answers, "backlog": status.backlog}), flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("store", type=Path)
    parser.add_argument("conninfo")
    parser.add_argument("--kill-after-commit", action="store_true")
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.store, args.conninfo, args.kill_after_commit, args.batch))
