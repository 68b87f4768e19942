# SPDX-License-Identifier: GPL-2.0-or-later
"""An import a batch at a time: checked against the directory, written whole or stopped.

Records (with their positions, :func:`~console.core.patients.importers.read_positioned`)
are taken :data:`BATCH_SIZE` at a time. Before a batch is written, every
patient in it is compared with the one the directory already holds under that
MRN: a record that would remove a stored birth date or every stored phone
number is rejected with its position, because an import replaces the whole
record and such a row (an MRN and nothing else) would wipe a real patient.

A batch stops the import before it is written when more than half of its
records are rejected (the file is damaged, or not a patient file) or when the
rejections of the whole file pass ``max_rejected``. The store refusing a write
(a full disk) stops it too. Batches already written stay written; each write
is an upsert by MRN or resource id, so running the same import again after
the cause is fixed is safe and finishes the job. A dry run makes every check
and writes nothing.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import field

from console.core.patients.directory import SUMMARY_COLUMNS, PatientDirectory, summary_from_row
from console.core.patients.import_options import BATCH_SIZE, MAX_REJECTED
from console.core.patients.importers import Positioned
from console.core.patients.records import (
    ImportItem,
    ImportSummary,
    PatientRecord,
    PatientSummary,
    Rejection,
)
from console.core.records import dataclass
from console.core.store import Store, StoreError

MOSTLY_BAD_FROM = 20
"""Smallest batch judged by its share of rejections (a short file is just listed)."""

Progress = Callable[[int, int | None], None]
"""Called after each batch with (records done, records expected or None)."""


@dataclass(slots=True)
class ImportReport:
    """What one import did or, in a dry run, would do."""

    summary: ImportSummary = field(default_factory=ImportSummary)
    """Counts and rejections; in a dry run ``imported`` and ``updated`` are to come."""
    unchanged: int = 0
    """Dry run: patients the directory already holds exactly as the file has them."""
    other: int = 0
    """Dry run: other resources (appointments, prescriptions …) that would be written."""
    batches: int = 0
    """Batches written (in a dry run: checked)."""
    stopped: str | None = None
    """Why the import stopped before the end of its file; None when it read it all."""
    store_failed: bool = False
    """The store refused a write: nothing more can be imported now."""


@dataclass(frozen=True, slots=True)
class _Stored:
    patient: PatientSummary
    phones: frozenset[tuple[str, str]]


async def import_positioned(
    directory: PatientDirectory,
    store: Store,
    records: Iterable[Positioned],
    *,
    source: str,
    dry_run: bool = False,
    max_rejected: int = MAX_REJECTED,
    total: int | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import ``records`` (read from ``source``, named in rejections) batch by batch.

    ``store`` is the one ``directory`` writes to; it is read to compare each
    patient with the stored one. Never raises for a store failure or a bad
    record: the report says what happened. ``ImportFileError`` from reading
    the first records (a CSV without a header) propagates before anything is
    written.
    """
    report = ImportReport()
    iterator = iter(records)
    done = 0
    for number in itertools.count(1):
        batch = await asyncio.to_thread(_take, iterator, BATCH_SIZE)
        if not batch:
            break
        where = _span(batch)
        checked = await _check(store, batch, source)
        rejected = [item for item in checked if isinstance(item, Rejection)]
        report.summary.rejected.extend(rejected)
        if len(batch) >= MOSTLY_BAD_FROM and 2 * len(rejected) > len(batch):
            report.stopped = (
                f"{len(rejected)} of the {len(batch)} records of batch {number} ({where}) are "
                "rejected: this does not look like a patient file; that batch and the rest "
                "were not imported"
            )
            break
        if len(report.summary.rejected) > max_rejected:
            report.stopped = (
                f"more than {max_rejected} records rejected; batch {number} ({where}) and "
                "the rest of the file were not imported: fix the file and import it again"
            )
            break
        good = [item for item in checked if not isinstance(item, Rejection)]
        if dry_run:
            await _classify(store, good, report)
        else:
            failure = await _write(directory, good, report.summary)
            if failure is not None:
                report.stopped = f"batch {number} ({where}): {failure}"
                report.store_failed = True
                break
        report.batches += 1
        done += len(batch)
        if progress is not None:
            progress(done, max(total, done) if total is not None else None)
    return report


def _take(iterator: Iterator[Positioned], size: int) -> list[Positioned]:
    return list(itertools.islice(iterator, size))


def _span(batch: list[Positioned]) -> str:
    """``line 2 to line 501``: where a batch is in its file."""
    first, last = batch[0][0], batch[-1][0]
    return first if first == last else f"{first} to {last}"


async def _check(
    store: Store, batch: list[Positioned], source: str
) -> list[ImportItem | Rejection]:
    """The batch's items, with a patient that would lose stored data turned into a rejection."""
    mrns = {item.mrn for _, item in batch if isinstance(item, PatientRecord)}
    stored = await _stored(store, mrns)
    checked: list[ImportItem | Rejection] = []
    for position, item in batch:
        if isinstance(item, PatientRecord) and item.mrn in stored:
            reason = _would_remove(item, stored[item.mrn])
            if reason is not None:
                checked.append(Rejection(source, position, reason))
                continue
        checked.append(item)
    return checked


def _would_remove(record: PatientRecord, stored: _Stored) -> str | None:
    if stored.patient.birth_date and not record.birth_date:
        return "would remove the birth date of an existing patient (the file has none)"
    if stored.phones and not record.phones:
        return "would remove the phone numbers of an existing patient (the file has none)"
    return None


async def _stored(store: Store, mrns: set[str]) -> dict[str, _Stored]:
    """The stored patients with these MRNs, with their phones."""
    if not mrns:
        return {}
    marks = ", ".join("?" * len(mrns))
    rows = await store.fetch_all(
        f"SELECT {SUMMARY_COLUMNS} FROM patients p WHERE p.mrn IN ({marks})", sorted(mrns)
    )
    patients = [summary_from_row(row) for row in rows]
    phones: dict[str, set[tuple[str, str]]] = {patient.id: set() for patient in patients}
    if patients:
        ids = ", ".join("?" * len(patients))
        for pid, e164, kind in await store.fetch_all(
            f"SELECT patient_id, e164, kind FROM patient_phones WHERE patient_id IN ({ids})",
            [patient.id for patient in patients],
        ):
            phones[str(pid)].add((str(e164), str(kind)))
    return {p.mrn: _Stored(p, frozenset(phones[p.id])) for p in patients}


async def _classify(store: Store, items: list[ImportItem], report: ImportReport) -> None:
    """Dry run: count what writing ``items`` would add, change and leave as it is."""
    patients = [item for item in items if isinstance(item, PatientRecord)]
    report.other += len(items) - len(patients)
    stored = await _stored(store, {record.mrn for record in patients})
    seen: set[str] = set()
    for record in patients:
        before = stored.get(record.mrn)
        if record.mrn in seen:
            report.summary.updated += 1  # a repeat in the batch: the later one wins
        elif before is None:
            report.summary.imported += 1
        elif _same(record, before):
            report.unchanged += 1
        else:
            report.summary.updated += 1
        seen.add(record.mrn)


def _same(record: PatientRecord, stored: _Stored) -> bool:
    patient = stored.patient
    return (
        (record.family_name, record.given_names, record.birth_date)
        == (patient.family_name, patient.given_names, patient.birth_date)
        and record.preferred_language == patient.preferred_language
        and record.interpreter_needed == patient.interpreter_needed
        and record.flags == patient.flags
        and frozenset(record.phones) == stored.phones
        and record.fhir_id in (None, patient.fhir_id)  # an import without an id keeps it
    )


async def _write(
    directory: PatientDirectory, items: list[ImportItem], summary: ImportSummary
) -> str | None:
    """Write one batch in one transaction (patients, then the other resources);
    None, or why it failed (then nothing of it was written)."""
    try:
        summary.add(await directory.import_records(items))
    except StoreError as exc:
        return f"{exc}; nothing of this batch was written"
    return None
