# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline patients import`` and ``generate --import``: run the import, print its report.

The exit codes: 0 every record imported, 1 some rejected, 2 a file could not
be read, 3 the import stopped part-way. Rejections name a position and a
reason, never the record's content.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Literal

from console.core.patients.directory import PatientDirectory
from console.core.patients.generate import generate
from console.core.patients.import_batches import ImportReport, import_positioned
from console.core.patients.import_options import MAX_REJECTED
from console.core.patients.importers import (
    Format,
    ImportFileError,
    Positioned,
    RecordError,
    open_source,
    read_positioned,
    record_from_fhir,
)
from console.core.patients.records import ImportSummary, PatientSummary, Rejection
from console.core.store import Store

EXIT_REJECTED = 1
EXIT_UNREADABLE = 2
EXIT_STOPPED = 3


async def import_files(
    directory: PatientDirectory,
    store: Store,
    files: list[Path],
    fmt: Format | Literal["auto"],
    *,
    dry_run: bool = False,
    max_rejected: int = MAX_REJECTED,
) -> int:
    """Import ``files`` one after the other, printing each one's report; the exit code."""
    code = 0
    total = ImportSummary()
    for number, path in enumerate(files):
        try:
            source = await asyncio.to_thread(open_source, path, fmt)
            records = await asyncio.to_thread(read_positioned, source, directory.region)
            report = await import_positioned(
                directory,
                store,
                records,
                source=str(path),
                dry_run=dry_run,
                max_rejected=max_rejected,
                total=source.total,
                progress=_ProgressLine(str(path)),
            )
        except ImportFileError as exc:
            print(f"careline: {exc}", file=sys.stderr)
            code = max(code, EXIT_UNREADABLE)
            continue
        _print_report(str(path), report, dry_run=dry_run, listed=max(max_rejected, 10))
        total.add(report.summary)
        code = max(code, _code(report))
        if report.store_failed:
            left = files[number + 1 :]
            if left:
                print(f"  not imported either: {', '.join(map(str, left))}")
            break
    if len(files) > 1 and not dry_run:
        _print_counts("total", total)
    return code


async def import_generated(
    directory: PatientDirectory, store: Store, count: int, seed: int, care_from: date | None
) -> int:
    """Generate ``count`` patients and import them, printing the report; the exit code."""
    label = "generated patients"
    report = await import_positioned(
        directory,
        store,
        _records(count, seed, directory.region, care_from),
        source="generated",
        total=count,
        progress=_ProgressLine(label),
    )
    _print_report(label, report)
    return _code(report)


def _records(count: int, seed: int, region: str, care_from: date | None) -> Iterator[Positioned]:
    for index, resource in enumerate(generate(count, seed, care_from=care_from)):
        position = f"resource {index}"
        try:
            yield position, record_from_fhir(resource, region)
        except RecordError as bad:
            yield position, Rejection("generated", position, str(bad))


def _code(report: ImportReport) -> int:
    if report.stopped is not None:
        return EXIT_STOPPED
    return EXIT_REJECTED if report.summary.rejected else 0


def _print_report(
    label: str, report: ImportReport, *, dry_run: bool = False, listed: int = MAX_REJECTED
) -> None:
    summary = report.summary
    if dry_run:
        print(
            f"{label}: dry run, nothing written: {summary.imported} to add, "
            f"{summary.updated} to update, {report.unchanged} unchanged, "
            f"{len(summary.rejected)} rejected"
        )
        if report.other:
            print(f"  also to write: {report.other} other resources")
    else:
        _print_counts(label, summary)
    for rejection in summary.rejected[:listed]:
        print(f"  rejected: {rejection}")
    if len(summary.rejected) > listed:
        print(f"  … and {len(summary.rejected) - listed} more rejected records")
    if report.stopped is not None:
        print(f"  stopped: {report.stopped}")
    if report.store_failed:
        print(
            f"  the {report.batches} batch{'es' if report.batches != 1 else ''} before it "
            "were written and are kept; once the store can be written again, import the "
            "same file again: records already imported are updated in place, not doubled"
        )


def _print_counts(label: str, summary: ImportSummary) -> None:
    print(
        f"{label}: {summary.imported} imported, {summary.updated} updated, "
        f"{len(summary.rejected)} rejected"
    )
    if summary.resources:
        written = ", ".join(f"{count} {kind}" for kind, count in summary.resources.items())
        print(f"  also written: {written}")
    if summary.unmatched:
        print(
            f"  {summary.unmatched} of those name a patient not in the directory yet: "
            "kept, and shown once that patient is imported"
        )


def line(patient: PatientSummary) -> str:
    """One tab-separated line of ``careline patients lookup``."""
    language = patient.preferred_language or "-"
    if patient.interpreter_needed:
        language += " (interpreter)"
    flags = ",".join(sorted(patient.flags)) or "-"
    name = f"{patient.family_name}, {patient.given_names}".strip(", ")
    return "\t".join((patient.mrn, name, patient.birth_date or "-", language, flags, patient.id))


class _ProgressLine:
    """A ``done/total`` line redrawn on stderr, only when stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self._label = label
        self._shown = 0.0
        self._tty = sys.stderr.isatty()

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        finished = total is not None and done >= total
        if not self._tty or (now - self._shown < 0.2 and not finished):
            return
        self._shown = now
        if total:
            text = f"{self._label}: {done:,}/{total:,} ({100 * done // total}%)"
        else:
            text = f"{self._label}: {done:,}"
        sys.stderr.write(f"\r\x1b[K{text}" + ("\n" if finished else ""))
        sys.stderr.flush()
