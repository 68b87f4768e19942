# SPDX-License-Identifier: GPL-2.0-or-later
"""Patient directory: FHIR import throughput and lookup by phone (p50/p95) at scale.

Generates N synthetic FHIR patients (NDJSON), imports them into a fresh store
(records per second), then looks up 1,000 random numbers from the generated
pool in mixed formats (E.164, national, SIP URI). Baseline, same run: the
same lookups as a bare indexed SQLite query on the same file (no
normalisation, no aiosqlite), which is what the directory adds overhead to.
Run: .venv/bin/python -m bench.patients [--count 1000000] [--runs 5]
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import bench_parser, percentile, report
from console.core.patients.directory import PatientDirectory
from console.core.patients.generate import fictional_numbers, write_ndjson_file
from console.core.store import Store


def formats(e164: str) -> list[str]:
    """One number as an agent's screen might receive it."""
    national = e164[2:]
    return [e164, f"({national[:3]}) {national[3:6]}-{national[6:]}", f"sip:{e164}@127.0.0.1"]


async def lookups(store_path: Path, queries: list[str]) -> list[float]:
    """Milliseconds per find_by_phone call."""
    store = await Store.open(store_path)
    try:
        directory = PatientDirectory(store, "US")
        times = []
        for query in queries:
            start = time.perf_counter()
            await directory.find_by_phone(query)
            times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        await store.close()


def raw_lookups(store_path: Path, numbers: list[str]) -> list[float]:
    """Milliseconds per bare indexed SQLite query for the same numbers."""
    db = sqlite3.connect(store_path)
    try:
        times = []
        for e164 in numbers:
            start = time.perf_counter()
            db.execute(
                "SELECT p.id FROM patient_phones ph JOIN patients p ON p.id = ph.patient_id "
                "WHERE ph.e164 = ?",
                (e164,),
            ).fetchall()
            times.append((time.perf_counter() - start) * 1000)
        return times
    finally:
        db.close()


def main() -> None:
    """Measure and print."""
    parser = bench_parser(__doc__, quick={"count": 1000})
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.options()
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "patients.ndjson"
        write_ndjson_file(args.count, 1, source)
        store_path = Path(tmp) / "store.sqlite3"

        async def load() -> float:
            store = await Store.open(store_path)
            try:
                start = time.perf_counter()
                summary = await PatientDirectory(store, "US").import_file(source)
                elapsed = time.perf_counter() - start
                assert not summary.rejected
                return (summary.imported + summary.updated) / elapsed
            finally:
                await store.close()

        rates = [asyncio.run(load())]  # the first import creates the rows
        rates += [asyncio.run(load()) for _ in range(max(0, args.runs - 1))]  # re-imports update
        print(
            f"import of {args.count} FHIR patients: first {rates[0]:.0f} records/s; "
            f"re-import median {statistics.median(rates[1:] or rates):.0f} records/s",
            flush=True,
        )
        rng = random.Random(7)
        pool = fictional_numbers()
        numbers = [rng.choice(pool) for _ in range(1000)]
        queries = [rng.choice(formats(n)) for n in numbers]
        p50, p95, raw50, raw95 = [], [], [], []
        for _ in range(args.runs):
            times = asyncio.run(lookups(store_path, queries))
            raw = raw_lookups(store_path, numbers)
            p50.append(percentile(times, 0.5))
            p95.append(percentile(times, 0.95))
            raw50.append(percentile(raw, 0.5))
            raw95.append(percentile(raw, 0.95))
    report(f"lookup by phone p50, {args.count} patients", "ms", p50, raw50, "bare SQLite query")
    report(f"lookup by phone p95, {args.count} patients", "ms", p95, raw95, "bare SQLite query")


if __name__ == "__main__":
    main()
