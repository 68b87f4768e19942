# SPDX-License-Identifier: GPL-2.0-or-later
"""Worklist generation: the three shipped lists from a 1,000,000-patient directory.

Builds a synthetic directory with its clinical context (``careline patients
generate --import``'s path: appointments, prescriptions with fills, past
visits) for a fixed day, and keeps it in the cache (``~/.cache/careline``,
keyed by the count and the generator's source) because building it takes
minutes. Each run empties the worklists and times ``generate`` for every shipped
rule (appointment reminders, refill reminders, visit feedback): select, filter,
insert. Baseline, same run: the bare SELECTs of the same candidate rows with
the standard library's sqlite3 (what generation adds to is reading them).
Run: .venv/bin/python -m bench.worklist_generate [--count 1000000] [--runs 3]
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import bench_parser, report
from bench.library_build import cache_dir
from console.cli.patients_import import import_generated
from console.core.patients import generate as patients_generate
from console.core.patients import synthetic_care
from console.core.patients.directory import PatientDirectory
from console.core.scripts.loader import load_library
from console.core.store import Store
from console.core.worklists import generate as worklists_generate
from console.core.worklists.calling import utc_text

TODAY = date(2031, 3, 3)
"""The day generated for: fixed, so a cached directory stays valid."""
ZONE = "America/New_York"
SEED = 19


def cached_store(count: int, folder: Path) -> Path:
    """The directory's store for ``count`` patients, built in ``folder`` unless there."""
    source = b"".join(
        Path(module.__file__ or "").read_bytes() for module in (patients_generate, synthetic_care)
    )
    digest = hashlib.sha256(source).hexdigest()[:12]
    path = folder / f"worklist-directory-{count}-{SEED}-{digest}.sqlite3"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    building = path.with_suffix(".building")
    for leftover in folder.glob(f"{building.name}*"):
        leftover.unlink()  # an earlier build that was killed

    async def build() -> None:
        store = await Store.open(building)
        try:
            await import_generated(PatientDirectory(store, "US"), store, count, SEED, TODAY)
        finally:
            await store.close()

    start = time.perf_counter()
    asyncio.run(build())
    building.rename(path)  # only a finished build is ever found in the cache
    print(f"built the {count}-patient directory in {time.perf_counter() - start:.0f} s")
    return path


async def timed_generation(path: Path) -> tuple[float, int]:
    """Seconds to generate every shipped list into empty worklists, and the items added."""
    library = load_library()
    store = await Store.open(path)
    try:
        async with store.transaction() as db:
            await db.execute("DELETE FROM worklist_items")
        start = time.perf_counter()
        results = await worklists_generate.generate(
            store, library.worklists, library.preparations, today=TODAY, zone=ZONE
        )
        return time.perf_counter() - start, sum(r.added for r in results)
    finally:
        await store.close()


def bare_selects(path: Path) -> tuple[float, int]:
    """Seconds for the bare SELECTs of the same candidates, and the rows they return."""
    library = load_library()
    tz = ZoneInfo(ZONE)

    def day(offset: int) -> list[str]:
        start = datetime.combine(TODAY + timedelta(days=offset), datetime.min.time(), tz)
        return [utc_text(start), utc_text(start + timedelta(days=1))] * 2

    db = sqlite3.connect(path)
    try:
        start = time.perf_counter()
        rows = 0
        for rule in library.worklists:
            if rule.about.value == "refill_reminder":
                until = (TODAY + timedelta(days=rule.days)).isoformat()
                sql, params = worklists_generate.refill_sql(), [TODAY.isoformat(), until] * 2
            else:
                past = rule.about.value == "feedback"
                sql = worklists_generate.appointment_sql(past)
                params = day(-rule.days if past else rule.days)
            rows += len(db.execute(sql, params).fetchall())
        return time.perf_counter() - start, rows
    finally:
        db.close()


def main() -> None:
    """Measure and print."""
    parser = bench_parser(__doc__, runs=3, quick={"count": 2000})
    parser.add_argument("--count", type=int, default=1_000_000)
    args = parser.options()
    with tempfile.TemporaryDirectory() as tmp:
        # The quick run builds its small directory afresh; the full one is cached.
        path = cached_store(args.count, Path(tmp) if args.quick else cache_dir())
        ours, bare = [], []
        items = rows = 0
        for run in range(args.runs):
            # Alternate which goes first so that neither always meets a warm page cache.
            if run % 2:
                seconds, rows = bare_selects(path)
                bare.append(seconds * 1000)
            seconds, items = asyncio.run(timed_generation(path))
            ours.append(seconds * 1000)
            if not run % 2:
                seconds, rows = bare_selects(path)
                bare.append(seconds * 1000)
    print(f"{items} items generated from {rows} candidate rows ({args.count} patients)")
    report(
        f"worklist generation, 3 lists, {args.count} patients",
        "ms",
        ours,
        bare,
        "bare SELECT of the candidates",
    )


if __name__ == "__main__":
    main()
