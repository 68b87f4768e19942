# SPDX-License-Identifier: GPL-2.0-or-later
"""Patient records for tests, made as the CSV import makes them (checked and normalised)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from console.core.patients.csv_record import record_from_csv_row
from console.core.patients.records import PatientRecord

COLUMNS = ("mrn", "given", "family", "birth_date", "phone", "language", "interpreter", "flags")
"""The CSV columns :func:`patient_record` fills (see console/core/patients/csv_record.py)."""


def patient_record(
    mrn: str,
    given: str,
    family: str,
    born: str | None,
    *,
    phone: str,
    language: str = "",
    interpreter: bool = False,
    flags: Iterable[str] = (),
) -> PatientRecord:
    """The record a row of a patient CSV file gives: ``phone`` is its one (home) number,
    ``born`` a ``YYYY-MM-DD`` date or None, ``flags`` names from ``FLAGS``."""
    row = (mrn, given, family, born or "", phone, language, "yes" if interpreter else "no")
    cells = dict(zip(COLUMNS, (*row, ";".join(flags)), strict=True))
    return record_from_csv_row(cells, "US", datetime.now(UTC).date())
