# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline patients …``: import, generate and look up patients from the shell.

Patient data is printed only where the user asked for it (``lookup``);
rejections name a position and a reason, never the record's content.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

# Only what the arguments need at the top: the import machinery loads when a
# patients command runs, not with every `careline` start (the demo, the console).
from console.cli.command import Command, Subcommands, config_of, with_store
from console.cli.patients_sync import DESCRIPTION as SYNC_DESCRIPTION
from console.cli.patients_sync import sync_arguments
from console.core.patients.import_options import BATCH_SIZE, FORMATS, MAX_REJECTED

if TYPE_CHECKING:
    from console.core.config import CarelineConfig
    from console.core.patients.directory import PatientDirectory
    from console.core.store import Store


def _import_arguments(imp: argparse.ArgumentParser) -> None:
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


def _generate_arguments(gen: argparse.ArgumentParser) -> None:
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


def _lookup_arguments(look: argparse.ArgumentParser) -> None:
    look.add_argument("phone", metavar="PHONE")


def _usage_error(message: str) -> int:
    from console.cli.patients_import import EXIT_UNREADABLE

    print(f"careline: {message}", file=sys.stderr)
    return EXIT_UNREADABLE


def _with_directory(
    config: CarelineConfig, work: Callable[[PatientDirectory, Store], Awaitable[int]]
) -> int:
    """Open the local store and its patient directory, run ``work``, close the store."""
    from console.core.patients.directory import PatientDirectory

    region = config.sip.dial.region
    return with_store(config, lambda store: work(PatientDirectory(store, region), store))


def _import(args: argparse.Namespace) -> int:
    from console.cli.patients_import import import_files

    config = config_of(args)
    if args.max_rejected < 0:
        return _usage_error("--max-rejected must be 0 or more")
    return _with_directory(
        config,
        lambda directory, store: import_files(
            directory,
            store,
            args.files,
            args.format,
            dry_run=args.dry_run,
            max_rejected=args.max_rejected,
        ),
    )


def _generate(args: argparse.Namespace) -> int:
    from console.cli.patients_import import import_files, import_generated
    from console.core.patients.generate import generate, write_ndjson, write_ndjson_file

    config = config_of(args)
    if args.count < 0:
        return _usage_error("--count must be 0 or more")
    care_from = _care_from(args)
    if not args.do_import:
        if args.out is None:
            write_ndjson(generate(args.count, args.seed, care_from=care_from), sys.stdout)
        else:
            write_ndjson_file(args.count, args.seed, args.out, care_from=care_from)
        return 0

    async def generated(directory: PatientDirectory, store: Store) -> int:
        if args.out is not None:
            write_ndjson_file(args.count, args.seed, args.out, care_from=care_from)
            return await import_files(directory, store, [args.out], "auto")
        return await import_generated(directory, store, args.count, args.seed, care_from)

    return _with_directory(config, generated)


def _care_from(args: argparse.Namespace) -> date | None:
    """Generated appointments start after today, unless only patients are wanted."""
    return None if args.patients_only else datetime.now(UTC).date()


def _lookup(args: argparse.Namespace) -> int:
    from console.cli.patients_import import line
    from console.core.patients.phones import normalise

    config = config_of(args)
    if normalise(args.phone, config.sip.dial.region) is None:
        return _usage_error(f"not a phone number: {args.phone!r}")

    async def find(directory: PatientDirectory, store: Store) -> int:
        del store
        matches = await directory.find_by_phone(args.phone)
        if not matches:
            print(f"no patient with {normalise(args.phone, directory.region)}")
            return 1
        for patient in matches:
            print(line(patient))
        return 0

    return _with_directory(config, find)


def _sync(args: argparse.Namespace) -> int:
    from console.cli.patients_sync import run_sync

    return run_sync(args)


PATIENTS = Command(
    help="import, generate, sync from the EHR and look up patients in the directory",
    description="Manage the patient directory in the local store.",
    subcommands=Subcommands(
        "patients_command",
        "COMMAND",
        {
            "import": Command(
                help="import patients from FHIR R4 (Bundle JSON, NDJSON) or CSV files",
                description=(
                    "Import patients into the local directory. Re-importing updates patients "
                    "by MRN, replacing the whole record. Rejected records are listed with their "
                    "position and reason, never their content; the rest is imported. A record "
                    "is rejected when a value is malformed or when it would remove the birth "
                    "date or every phone number of a patient already in the directory. "
                    f"Records are written {BATCH_SIZE} at a time, each batch whole or not at "
                    "all; a batch more than half rejected, more rejections than "
                    "--max-rejected, or a store that refuses the write (a full disk) stops the "
                    "import with what was written kept and listed: importing the same file "
                    "again is safe and completes it. "
                    "CSV columns: mrn (required), family, given (one of the two required), "
                    "birth_date (YYYY-MM-DD), phone (several separated by ';'), language, "
                    "interpreter (yes/no), flags (';'-separated: hearing_impaired, minor, "
                    "guardian_restriction, do_not_disclose). "
                    "Exit status: 0 every record imported (or, with --dry-run, would be); "
                    "1 some records rejected, the rest imported; 2 a file could not be read "
                    "(nothing from it imported); 3 the import stopped part-way (too many "
                    "rejections, a file that is not patient data, or the store refused to "
                    "write)."
                ),
                run=_import,
                add_arguments=_import_arguments,
            ),
            "generate": Command(
                help="generate synthetic patients (FHIR NDJSON)",
                description=(
                    "Generate synthetic FHIR R4 Patient resources with fictional 555-01xx "
                    "numbers: households sharing a phone, minors, several languages. The same "
                    "seed gives the same patients. Each patient comes with its clinical context "
                    "(appointments from today on, prescriptions, a care team) unless "
                    "--patients-only. Writes NDJSON to --out (default: standard output)."
                ),
                run=_generate,
                add_arguments=_generate_arguments,
            ),
            "sync": Command(
                help="pull the patient directory from the EHR (FHIR R4), only what changed",
                description=SYNC_DESCRIPTION,
                run=_sync,
                add_arguments=sync_arguments,
            ),
            "lookup": Command(
                help="find the patients with a phone number",
                description=(
                    "List every patient with this number (any common format, tel: or SIP URI)."
                ),
                run=_lookup,
                add_arguments=_lookup_arguments,
            ),
        },
    ),
)
