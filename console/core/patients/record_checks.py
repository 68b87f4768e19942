# SPDX-License-Identifier: GPL-2.0-or-later
"""The checks every imported patient record makes, whatever its file format.

Messages name the field and the problem, never the value (it is patient data).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from console.core.patients.records import RecordError

MAX_MRN_CHARS = 64
MAX_NAME_CHARS = 100
"""Longest family name, and longest given names together."""
MAX_LANGUAGE_CHARS = 35
OLDEST_YEARS = 130
"""A birth date further back than this is a typo (1089 for 1989), not a patient."""

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def check_date(value: Any, today: date, *, full: bool) -> str:
    """A birth date as given: ``YYYY-MM-DD`` (``full``) or FHIR's partial dates, not in the
    future nor more than :data:`OLDEST_YEARS` years ago."""
    expected = "YYYY-MM-DD" if full else "YYYY, YYYY-MM or YYYY-MM-DD"
    if not isinstance(value, str) or not _DATE.match(value) or (full and len(value) != 10):
        raise RecordError(f"bad birth date (expected {expected})")
    year, month, day = (value.split("-") + ["01", "01"])[:3]
    try:
        born = date(int(year), int(month), int(day))
    except ValueError:
        raise RecordError("bad birth date (no such day)") from None
    if born > today:
        raise RecordError("bad birth date (in the future)")
    if born.year < today.year - OLDEST_YEARS:
        raise RecordError(f"bad birth date (more than {OLDEST_YEARS} years ago)")
    return value


def check_mrn(value: str) -> str:
    """A medical record number: present, printable, at most :data:`MAX_MRN_CHARS` long."""
    if not value:
        raise RecordError("missing MRN")
    if len(value) > MAX_MRN_CHARS:
        raise RecordError(f"bad MRN (longer than {MAX_MRN_CHARS} characters)")
    if not value.isprintable():
        raise RecordError("bad MRN (control or other non-printable characters)")
    return value


def check_names(family: str, given: str) -> tuple[str, str]:
    """Both names, checked: at least one of them, printable, of a bounded length."""
    if not family and not given:
        raise RecordError("missing name (family and given are both empty)")
    for field, value in (("family", family), ("given", given)):
        if len(value) > MAX_NAME_CHARS:
            raise RecordError(f"bad {field} name (longer than {MAX_NAME_CHARS} characters)")
        if not value.isprintable():
            raise RecordError(f"bad {field} name (control or other non-printable characters)")
    return family, given


def check_language(value: str | None) -> str | None:
    """A language code of a bounded length, printable (None stays None)."""
    if value is not None and (len(value) > MAX_LANGUAGE_CHARS or not value.isprintable()):
        raise RecordError("bad language (expected a code such as en or es-MX)")
    return value


def short(text: str) -> str:
    """``text`` cut to 40 characters for a message."""
    return text if len(text) <= 40 else text[:40] + "…"
