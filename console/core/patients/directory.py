# SPDX-License-Identifier: GPL-2.0-or-later
"""The patient directory in the local store: batched upserts and phone lookup."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import aiosqlite

from console.core.patients.context import write_clinical
from console.core.patients.phones import normalised, written_e164
from console.core.patients.records import (
    FLAGS,
    ImportItem,
    ImportSummary,
    PatientRecord,
    PatientSummary,
    Rejection,
)
from console.core.store import Store

if TYPE_CHECKING:
    from console.core.patients.import_options import Format

BATCH_SIZE = 1000
"""Records per write transaction: large enough to amortise the fsync of
``synchronous=FULL``, small enough that the write lock is never held long."""

Progress = Callable[[int, int | None], None]
"""Called after each batch with (records done, records expected or None)."""

_IN_CHUNK = 500  # host parameters per IN (...) query, far below SQLite's limit

_UPSERT = f"""
INSERT INTO patients (id, mrn, family_name, given_names, birth_date, preferred_language,
                      interpreter_needed, {", ".join(FLAGS)}, source, updated_at, fhir_id)
VALUES ({", ".join("?" * (10 + len(FLAGS)))})
ON CONFLICT (mrn) DO UPDATE SET
    family_name = excluded.family_name,
    given_names = excluded.given_names,
    birth_date = excluded.birth_date,
    preferred_language = excluded.preferred_language,
    interpreter_needed = excluded.interpreter_needed,
    {", ".join(f"{flag} = excluded.{flag}" for flag in FLAGS)},
    source = excluded.source,
    updated_at = excluded.updated_at,
    -- a CSV re-import has no FHIR id: keep the one an earlier FHIR import gave
    fhir_id = coalesce(excluded.fhir_id, patients.fhir_id)
"""

SUMMARY_COLUMNS = (
    "p.id, p.mrn, p.family_name, p.given_names, p.birth_date, p.preferred_language, "
    f"p.interpreter_needed, {', '.join(f'p.{flag}' for flag in FLAGS)}, p.fhir_id"
)
"""The ``patients p`` columns :func:`summary_from_row` reads, in its order."""


class PatientDirectory:
    """Patients cached at this workstation, kept in the agent's local store."""

    def __init__(self, store: Store, region: str) -> None:
        self._store = store
        self.region = region
        """Region for numbers without a country code (config ``sip.dial.region``)."""

    async def import_file(
        self,
        path: Path,
        fmt: Format | Literal["auto"] = "auto",
        *,
        progress: Progress | None = None,
    ) -> ImportSummary:
        """Import one file; raises ``ImportFileError`` if it cannot be read at all."""
        # The readers (CSV, FHIR) load for an import, not with every console's directory.
        from console.core.patients.importers import open_source, read_source

        source = await asyncio.to_thread(open_source, path, fmt)
        # Parsing runs in a worker thread a batch at a time, so a large file
        # never stalls the event loop between write transactions.
        records = await asyncio.to_thread(read_source, source, self.region)
        return await self.import_records(records, total=source.total, progress=progress)

    async def import_records(
        self,
        records: Iterable[ImportItem | Rejection],
        *,
        total: int | None = None,
        progress: Progress | None = None,
    ) -> ImportSummary:
        """Upsert ``records`` in batches (patients by MRN, other resources by their
        FHIR id); rejections are collected, not written. Each batch is one
        transaction, patients first (so its other resources find them): a batch
        is written whole or not at all."""
        summary = ImportSummary()
        iterator = iter(records)
        done = 0
        while batch := await asyncio.to_thread(_take, iterator, BATCH_SIZE):
            good = [item for item in batch if isinstance(item, PatientRecord)]
            clinical = [item for item in batch if not isinstance(item, PatientRecord | Rejection)]
            summary.rejected.extend(item for item in batch if isinstance(item, Rejection))
            if good or clinical:
                async with self._store.transaction() as db:
                    written = await write_items(db, [*good, *clinical])
                # Counted once committed: a batch the store refused adds nothing.
                summary.add(written)
            done += len(batch)
            if progress is not None:
                progress(done, max(total, done) if total is not None else None)
        return summary

    async def find_by_phone(self, text: str) -> list[PatientSummary]:
        """Every patient with this number (a family phone gives several); [] if none.

        ``text`` may be in any common format, a ``tel:`` or SIP URI, or a SIP
        user part; it is normalised to E.164 first. Not a number: []. A number written
        in E.164 is looked up as written first, without the phone-number library
        (:func:`~console.core.patients.phones.written_e164`); only a miss loads it.
        """
        written = written_e164(text)
        if written is not None:
            found = await self._with_phone(written)
            if found:
                return found
        e164 = await normalised(text, self.region)
        if e164 is None or e164 == written:
            return []
        return await self._with_phone(e164)

    async def _with_phone(self, e164: str) -> list[PatientSummary]:
        """Every patient with the E.164 number ``e164``."""
        rows = await self._store.fetch_all(
            f"""SELECT {SUMMARY_COLUMNS}
                FROM patient_phones ph JOIN patients p ON p.id = ph.patient_id
                WHERE ph.e164 = ?
                ORDER BY p.family_name, p.given_names, p.id""",
            (e164,),
        )
        return [summary_from_row(row) for row in rows]

    async def count(self) -> int:
        """How many patients the directory holds."""
        rows = await self._store.fetch_all("SELECT count(*) FROM patients")
        return int(rows[0][0])


async def write_items(db: aiosqlite.Connection, items: list[ImportItem]) -> ImportSummary:
    """Upsert ``items`` in the open transaction ``db`` (patients by MRN first, so the
    other resources find them; those by their FHIR id); what was written."""
    summary = ImportSummary()
    good = [item for item in items if isinstance(item, PatientRecord)]
    clinical = [item for item in items if not isinstance(item, PatientRecord)]
    if good:
        summary.imported, summary.updated = await _write_patients(db, good)
    if clinical:
        counts, summary.unmatched = await write_clinical(db, clinical, _now())
        summary.resources.update(counts)
    return summary


async def _write_patients(db: aiosqlite.Connection, batch: list[PatientRecord]) -> tuple[int, int]:
    """Upsert one batch of patients in the open transaction; returns (imported, updated)."""
    latest: dict[str, PatientRecord] = {}
    repeats = 0
    for record in batch:
        # The same MRN twice in a batch: the later record wins and the
        # earlier one counts as an update, as it would in separate batches.
        repeats += record.mrn in latest
        latest[record.mrn] = record
    now = _now()
    existing: dict[str, str] = {}
    mrns = list(latest)
    for start in range(0, len(mrns), _IN_CHUNK):
        chunk = mrns[start : start + _IN_CHUNK]
        cursor = await db.execute(
            f"SELECT mrn, id FROM patients WHERE mrn IN ({', '.join('?' * len(chunk))})",
            chunk,
        )
        existing.update((str(mrn), str(pid)) for mrn, pid in await cursor.fetchall())
        await cursor.close()
    rows: list[tuple[Any, ...]] = []
    phones: list[tuple[str, str, str]] = []
    for mrn, record in latest.items():
        pid = existing.get(mrn) or str(uuid.uuid4())
        rows.append(_row(pid, record, now))
        phones.extend((pid, e164, kind) for e164, kind in record.phones)
    await db.executemany(
        "DELETE FROM patient_phones WHERE patient_id = ?",
        [(pid,) for pid in existing.values()],
    )
    await db.executemany(_UPSERT, rows)
    await db.executemany(
        "INSERT INTO patient_phones (patient_id, e164, kind) VALUES (?, ?, ?)", phones
    )
    updated = len(existing) + repeats
    return len(batch) - updated, updated


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _take(iterator: Iterator[ImportItem | Rejection], size: int) -> list[Any]:
    return list(itertools.islice(iterator, size))


def _row(pid: str, record: PatientRecord, now: str) -> tuple[Any, ...]:
    return (
        pid,
        record.mrn,
        record.family_name,
        record.given_names,
        record.birth_date,
        record.preferred_language,
        int(record.interpreter_needed),
        *(int(flag in record.flags) for flag in FLAGS),
        record.source,
        now,
        record.fhir_id,
    )


def summary_from_row(row: tuple[Any, ...]) -> PatientSummary:
    """A :data:`SUMMARY_COLUMNS` row as a summary."""
    flags = row[7 : 7 + len(FLAGS)]
    return PatientSummary(
        id=row[0],
        mrn=row[1],
        family_name=row[2],
        given_names=row[3],
        birth_date=row[4],
        preferred_language=row[5],
        interpreter_needed=bool(row[6]),
        flags=frozenset(name for name, on in zip(FLAGS, flags, strict=True) if on),
        fhir_id=row[7 + len(FLAGS)],
    )
