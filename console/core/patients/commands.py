"""``careline patients …``: import, generate and look up patients from the shell.

Patient data is printed only where the user asked for it (``lookup``);
rejections name a position and a reason, never the record's content.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from console.core.config import CarelineConfig, store_key
from console.core.patients.directory import PatientDirectory
from console.core.patients.generate import generate, write_ndjson, write_ndjson_file
from console.core.patients.import_batches import (
    BATCH_SIZE,
    MAX_REJECTED,
    ImportReport,
    import_positioned,
)
from console.core.patients.importers import (
    FORMATS,
    Format,
    ImportFileError,
    Positioned,
    RecordError,
    open_source,
    read_positioned,
    record_from_fhir,
)
from console.core.patients.phones import normalise
from console.core.patients.records import ImportSummary, PatientSummary, Rejection
from console.core.store import Store

EXIT_REJECTED = 1
EXIT_UNREADABLE = 2
EXIT_STOPPED = 3


def add_subcommands(patients: argparse.ArgumentParser) -> None:
    """The ``import``, ``generate`` and ``lookup`` subcommands of ``careline patients``."""
    sub = patients.add_subparsers(dest="patients_command", metavar="COMMAND", required=True)
    imp = sub.add_parser(
        "import",
        help="import patients from FHIR R4 (Bundle JSON, NDJSON) or CSV files",
        description=(
            "Import patients into the local directory. Re-importing updates patients by MRN, "
            "replacing the whole record. Rejected records are listed with their position and "
            "reason, never their content; the rest is imported. A record is rejected when a "
            "value is malformed or when it would remove the birth date or every phone number "
            "of a patient already in the directory. "
            f"Records are written {BATCH_SIZE} at a time, each batch whole or not at all; a "
            "batch more than half rejected, more rejections than --max-rejected, or a store "
            "that refuses the write (a full disk) stops the import with what was written kept "
            "and listed: importing the same file again is safe and completes it. "
            "CSV columns: mrn (required), family, given (one of the two required), birth_date "
            "(YYYY-MM-DD), phone (several separated by ';'), language, interpreter (yes/no), "
            "flags (';'-separated: hearing_impaired, minor, guardian_restriction, "
            "do_not_disclose). "
            "Exit status: 0 every record imported (or, with --dry-run, would be); "
            "1 some records rejected, the rest imported; 2 a file could not be read (nothing "
            "from it imported); 3 the import stopped part-way (too many rejections, a file "
            "that is not patient data, or the store refused to write)."
        ),
    )
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.add_argument(
        "--format",
        choices=("auto", *FORMATS),
        default="auto",
        help="file format (default: auto, from the content; fhir = a Bundle or a JSON array)",
    )
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="check everything and report what would be added, updated, left unchanged and "
        "rejected, without writing",
    )
    imp.add_argument(
        "--max-rejected",
        type=int,
        default=MAX_REJECTED,
        metavar="N",
        help=f"stop after more than N rejected records (default {MAX_REJECTED})",
    )
    gen = sub.add_parser(
        "generate",
        help="generate synthetic patients (FHIR NDJSON)",
        description=(
            "Generate synthetic FHIR R4 Patient resources with fictional 555-01xx numbers: "
            "households sharing a phone, minors, several languages. The same seed gives the "
            "same patients. Each patient comes with its clinical context (appointments "
            "from today on, prescriptions, a care team) unless --patients-only. "
            "Writes NDJSON to --out (default: standard output)."
        ),
    )
    gen.add_argument("--count", type=int, required=True, metavar="N")
    gen.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    gen.add_argument("--out", type=Path, metavar="FILE", help="NDJSON file to write")
    gen.add_argument(
        "--patients-only",
        action="store_true",
        help="Patient resources only (no appointments, prescriptions or care teams)",
    )
    gen.add_argument(
        "--import",
        dest="do_import",
        action="store_true",
        help="import the patients into the local directory (instead of printing them)",
    )
    look = sub.add_parser(
        "lookup",
        help="find the patients with a phone number",
        description="List every patient with this number (any common format, tel: or SIP URI).",
    )
    look.add_argument("phone", metavar="PHONE")


def run(args: argparse.Namespace, config: CarelineConfig) -> int:
    """Run the ``careline patients`` subcommand in ``args``; returns the exit code."""
    command: str = args.patients_command
    if command == "generate":
        if args.count < 0:
            print("careline: --count must be 0 or more", file=sys.stderr)
            return EXIT_UNREADABLE
        if not args.do_import:
            if args.out is None:
                write_ndjson(
                    generate(args.count, args.seed, care_from=_care_from(args)), sys.stdout
                )
            else:
                write_ndjson_file(args.count, args.seed, args.out, care_from=_care_from(args))
            return 0
    if command == "import" and args.max_rejected < 0:
        print("careline: --max-rejected must be 0 or more", file=sys.stderr)
        return EXIT_UNREADABLE
    if command == "lookup" and normalise(args.phone, config.sip.dial.region) is None:
        print(f"careline: not a phone number: {args.phone!r}", file=sys.stderr)
        return EXIT_UNREADABLE
    return asyncio.run(_with_directory(args, config))


def store_path(config: CarelineConfig) -> Path:
    """The local store the console uses (config ``store.path`` or the data directory)."""
    from console.core.paths import data_dir

    return config.store.path or data_dir() / "careline.sqlite3"


async def _with_directory(args: argparse.Namespace, config: CarelineConfig) -> int:
    store = await Store.open(store_path(config), store_key(config))
    try:
        directory = PatientDirectory(store, config.sip.dial.region)
        if args.patients_command == "lookup":
            return await _lookup(directory, args.phone)
        if args.patients_command == "generate":
            if args.out is not None:
                write_ndjson_file(args.count, args.seed, args.out, care_from=_care_from(args))
                return await _import(directory, store, [args.out], "auto")
            label = "generated patients"
            report = await import_positioned(
                directory,
                store,
                _records(args.count, args.seed, config.sip.dial.region, _care_from(args)),
                source="generated",
                total=args.count,
                progress=_ProgressLine(label),
            )
            _print_report(label, report)
            return _code(report)
        return await _import(
            directory,
            store,
            args.files,
            args.format,
            dry_run=args.dry_run,
            max_rejected=args.max_rejected,
        )
    finally:
        await store.close()


def _care_from(args: argparse.Namespace) -> date | None:
    """Generated appointments start after today, unless only patients are wanted."""
    return None if args.patients_only else datetime.now(UTC).date()


def _records(count: int, seed: int, region: str, care_from: date | None) -> Iterator[Positioned]:
    for index, resource in enumerate(generate(count, seed, care_from=care_from)):
        position = f"resource {index}"
        try:
            yield position, record_from_fhir(resource, region)
        except RecordError as bad:
            yield position, Rejection("generated", position, str(bad))


async def _import(
    directory: PatientDirectory,
    store: Store,
    files: list[Path],
    fmt: Format | Literal["auto"],
    *,
    dry_run: bool = False,
    max_rejected: int = MAX_REJECTED,
) -> int:
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


async def _lookup(directory: PatientDirectory, phone: str) -> int:
    matches = await directory.find_by_phone(phone)
    if not matches:
        print(f"no patient with {normalise(phone, directory.region)}")
        return 1
    for patient in matches:
        print(_line(patient))
    return 0


def _line(patient: PatientSummary) -> str:
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
