# SPDX-License-Identifier: GPL-2.0-or-later
"""EHR directory sync: `patients sync` throughput (resources/s) vs a bare paged GET loop.

Seeds a real FHIR R4 server (sekmet-fhir on 127.0.0.1, SMART sign-in, as the
tests run it) with N synthetic patients and their clinical context, then, each
run: a full `patients sync` (careline's engine: SMART client, strict paging,
every resource checked, each page and its cursor one store transaction with
synchronous=FULL) into a fresh local store, and the baseline on the same
server and data: a bare httpx loop that GETs the same searches page by page
through the next links and parses the JSON, nothing else. The ratio is what
careline keeps of the server's own paging speed.
Run: .venv/bin/python -m bench.ehr_sync [--count 2000] [--runs 5] [--page-size 200]
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import bench_parser, report
from console.core.ehr.client import FhirClient
from console.core.ehr.directory_sync import SYNCED_TYPES, DirectorySync, LocalDirectorySink
from console.core.store import Store
from tests.ehr_console import ehr_config
from tests.fhir_server import FHIR_JSON, FhirServer, seed_directory


async def careline_sync(server: FhirServer, store_path: Path, page_size: int) -> tuple[int, float]:
    """Resources read and seconds taken by one full sync into a fresh store."""
    config = ehr_config(server, scopes="system/*.rs", timeout=60.0)
    store = await Store.open(store_path)
    client = FhirClient.from_config(config)
    try:
        await client.auth.token()  # signed in before the clock starts, as the baseline is
        started = time.perf_counter()
        done = await DirectorySync(
            client, LocalDirectorySink(store), region="US", page_size=page_size
        ).run()
        seconds = time.perf_counter() - started
    finally:
        await client.aclose()
        await store.close()
    if done.failure is not None or done.rejected:
        raise SystemExit(f"the sync did not finish cleanly: {done.stopped or done.rejections}")
    return done.fetched, seconds


def bare_loop(server: FhirServer, page_size: int) -> tuple[int, float]:
    """Resources read and seconds taken by GETting the same pages with plain httpx."""
    token = server.token()  # outside the timing, as careline's sign-in is
    headers = {"Accept": FHIR_JSON, "Authorization": f"Bearer {token}"}
    read = 0
    with httpx.Client(headers=headers, timeout=60.0, trust_env=False) as http:
        started = time.perf_counter()
        for kind in SYNCED_TYPES:
            url: str | None = f"{server.base_url}/{kind}?_count={page_size}&_sort=_id"
            while url is not None:
                bundle = http.get(url).raise_for_status().json()
                read += len(bundle.get("entry", []))
                url = next(
                    (link["url"] for link in bundle.get("link", []) if link["relation"] == "next"),
                    None,
                )
        seconds = time.perf_counter() - started
    return read, seconds


def main() -> None:
    """Measure and print."""
    parser = bench_parser(__doc__, quick={"count": 100})
    parser.add_argument("--count", type=int, default=2000, help="patients seeded")
    parser.add_argument("--page-size", type=int, default=200)
    args = parser.options()
    with tempfile.TemporaryDirectory() as tmp, FhirServer(Path(tmp), smart=True) as server:
        seeded = seed_directory(server, args.count)
        total = sum(seeded[kind] for kind in SYNCED_TYPES)
        print(f"seeded {total:,} resources ({args.count:,} patients)", flush=True)
        careline_rates: list[float] = []
        bare_rates: list[float] = []
        for run in range(args.runs):
            read, seconds = asyncio.run(
                careline_sync(server, Path(tmp) / f"store-{run}.sqlite3", args.page_size)
            )
            if read != total:
                raise SystemExit(f"the sync read {read} resources, not {total}")
            careline_rates.append(read / seconds)
            read, seconds = bare_loop(server, args.page_size)
            if read != total:
                raise SystemExit(f"the bare loop read {read} resources, not {total}")
            bare_rates.append(read / seconds)
    report(
        "patients sync throughput",
        "resources/s",
        careline_rates,
        bare_rates,
        "bare paged GET loop",
    )


if __name__ == "__main__":
    main()
