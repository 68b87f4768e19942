# SPDX-License-Identifier: GPL-2.0-or-later
"""Verifying a caller's identity with two identifiers before any detail is shown.

Date of birth is always one of the two; the other is the name (family name,
or full name) or the MRN. Comparison ignores case, accents, punctuation and
extra spaces; dates may be typed as YYYY-MM-DD, MM/DD/YYYY or DD.MM.YYYY.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from console.core.patients.records import PatientSummary
from console.core.records import dataclass

MAX_ATTEMPTS = 3
"""Failed attempts on one call before the agent is told to stop and offer a callback."""


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """Whether the identifiers matched, and which ones (no patient data in it)."""

    passed: bool
    matched: tuple[str, ...]
    reason: str


def _fold(text: str) -> str:
    """Lower case, no accents, letters and digits only, single spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.lower()).split())


def parse_date(text: str) -> date | None:
    """A typed date of birth, or None when it is not one."""
    text = text.strip()
    for pattern, order in (
        (r"^(\d{4})-(\d{1,2})-(\d{1,2})$", "ymd"),
        (r"^(\d{1,2})/(\d{1,2})/(\d{4})$", "mdy"),
        (r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$", "dmy"),
    ):
        match = re.match(pattern, text)
        if match:
            parts = dict(zip(order, (int(g) for g in match.groups()), strict=True))
            try:
                return date(parts["y"], parts["m"], parts["d"])
            except ValueError:
                return None
    return None


def verify(patient: PatientSummary, *, name: str, birth_date: str, mrn: str) -> VerificationResult:
    """Check what the caller gave against ``patient``: DOB plus name or MRN."""
    typed_dob = parse_date(birth_date)
    if typed_dob is None:
        return VerificationResult(False, (), "enter the date of birth (YYYY-MM-DD or MM/DD/YYYY)")
    if not name.strip() and not mrn.strip():
        return VerificationResult(False, (), "enter the name or the MRN as the second identifier")
    if patient.birth_date is None or typed_dob.isoformat() != patient.birth_date:
        return VerificationResult(False, (), "the identifiers do not match")
    matched = ["birth_date"]
    typed = _fold(name)
    family, full = _fold(patient.family_name), _fold(f"{patient.given_names} {patient.family_name}")
    if typed and typed in (family, full, _fold(f"{patient.family_name} {patient.given_names}")):
        matched.append("name")
    if mrn.strip() and _fold(mrn) == _fold(patient.mrn):
        matched.append("mrn")
    if len(matched) < 2:
        return VerificationResult(False, (), "the identifiers do not match")
    return VerificationResult(True, tuple(matched), "verified")


def first_name(patient: PatientSummary) -> str:
    """What the agent may say before verification: the first given name."""
    return patient.given_names.split()[0] if patient.given_names.strip() else "there"
