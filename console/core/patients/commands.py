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
from console.core.patients.importers import (
    FORMATS,
    Format,
    ImportFileError,
    RecordError,
    record_from_fhir,
)
from console.core.patients.phones import normalise
from console.core.patients.records import ImportItem, ImportSummary, PatientSummary, Rejection
from console.core.store import Store

EXIT_REJECTED = 1
EXIT_UNREADABLE = 2


def add_subcommands(patients: argparse.ArgumentParser) -> None:
    """The ``import``, ``generate`` and ``lookup`` subcommands of ``careline patients``."""
    sub = patients.add_subparsers(dest="patients_command", metavar="COMMAND", required=True)
    imp = sub.add_parser(
        "import",
        help="import patients from FHIR R4 (Bundle JSON, NDJSON) or CSV files",
        description=(
            "Import patients into the local directory. Re-importing updates patients by MRN. "
            "Rejected records are listed with their position and reason; the rest is imported. "
            "CSV columns: mrn (required), family, given, birth_date (YYYY-MM-DD), phone "
            "(several separated by ';'), language, interpreter (yes/no), flags (';'-separated: "
            "hearing_impaired, minor, guardian_restriction, do_not_disclose). "
            "Exit status: 0 all imported, 1 some records rejected, 2 a file could not be read."
        ),
    )
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.add_argument(
        "--format",
        choices=("auto", *FORMATS),
        default="auto",
        help="file format (default: auto, from the extension and content; fhir = Bundle JSON)",
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
                return await _import(directory, [args.out], "auto")
            summary = await directory.import_records(
                _records(args.count, args.seed, config.sip.dial.region, _care_from(args)),
                total=args.count,
                progress=_ProgressLine("generated patients"),
            )
            _print_summary("generated patients", summary)
            return EXIT_REJECTED if summary.rejected else 0
        return await _import(directory, args.files, args.format)
    finally:
        await store.close()


def _care_from(args: argparse.Namespace) -> date | None:
    """Generated appointments start after today, unless only patients are wanted."""
    return None if args.patients_only else datetime.now(UTC).date()


def _records(
    count: int, seed: int, region: str, care_from: date | None
) -> Iterator[ImportItem | Rejection]:
    for index, resource in enumerate(generate(count, seed, care_from=care_from)):
        try:
            yield record_from_fhir(resource, region)
        except RecordError as bad:
            yield Rejection("generated", f"resource {index}", str(bad))


async def _import(
    directory: PatientDirectory, files: list[Path], fmt: Format | Literal["auto"]
) -> int:
    code = 0
    total = ImportSummary()
    for path in files:
        try:
            summary = await directory.import_file(path, fmt, progress=_ProgressLine(str(path)))
        except ImportFileError as exc:
            print(f"careline: {exc}", file=sys.stderr)
            code = EXIT_UNREADABLE
            continue
        _print_summary(str(path), summary)
        total.add(summary)
        if summary.rejected and code == 0:
            code = EXIT_REJECTED
    if len(files) > 1:
        _print_summary("total", total, details=False)
    return code


def _print_summary(label: str, summary: ImportSummary, *, details: bool = True) -> None:
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
    if details:
        for rejection in summary.rejected:
            print(f"  rejected: {rejection}")


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
