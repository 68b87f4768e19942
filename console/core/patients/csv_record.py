# SPDX-License-Identifier: GPL-2.0-or-later
"""A row of a patient CSV file as a patient record.

CSV columns (a header row is required; names are case-insensitive, unknown
columns are ignored; ``mrn`` and a name are required):

``mrn``
    the medical record number (required; printable, at most 64 characters).
``family``, ``given``
    names; several given names separated by spaces. At least one is required.
``birth_date``
    ``YYYY-MM-DD``, a real date, not in the future nor more than 130 years ago.
``phone``
    one or more numbers separated by ``;``, in any common format; numbers
    without a country code use the configured region (``sip.dial.region``).
``language``
    preferred language code (``en``, ``es``, ``zh`` ...).
``interpreter``
    ``yes`` or ``no`` (also ``true``/``false``, ``1``/``0``; empty: no).
``flags``
    ``;``-separated: ``hearing_impaired``, ``minor``, ``guardian_restriction``,
    ``do_not_disclose``.
"""

from __future__ import annotations

import re
from datetime import date

from console.core.patients.phones import normalise
from console.core.patients.record_checks import (
    check_date,
    check_language,
    check_mrn,
    check_names,
)
from console.core.patients.records import FLAGS, PatientRecord, RecordError

_YES = {"yes", "y", "true", "1"}
_NO = {"no", "n", "false", "0", ""}


def record_from_csv_row(fields: dict[str, str], region: str, today: date) -> PatientRecord:
    """A CSV row (cells by lower-case column name) as a record; raises :class:`RecordError`."""
    mrn = check_mrn(fields.get("mrn", ""))
    family, given = check_names(fields.get("family", ""), " ".join(fields.get("given", "").split()))
    birth = fields.get("birth_date", "")
    birth_date = check_date(birth, today, full=True) if birth else None
    phones: dict[str, str] = {}
    for index, text in enumerate(p for p in fields.get("phone", "").split(";") if p.strip()):
        e164 = normalise(text, region)
        if e164 is None:
            raise RecordError(f"unparseable phone number (phone {index + 1})")
        phones.setdefault(e164, "home")
    interpreter = fields.get("interpreter", "").lower()
    if interpreter not in _YES | _NO:
        raise RecordError("bad interpreter value (expected yes or no)")
    flags: set[str] = set()
    for text in fields.get("flags", "").split(";"):
        name = re.sub(r"[\s-]+", "_", text.strip().lower())
        if not name:
            continue
        if name not in FLAGS:
            raise RecordError(f"unknown flag (expected some of: {', '.join(FLAGS)})")
        flags.add(name)
    return PatientRecord(
        mrn=mrn,
        family_name=family,
        given_names=given,
        birth_date=birth_date,
        preferred_language=check_language(fields.get("language") or None),
        interpreter_needed=interpreter in _YES,
        flags=frozenset(flags),
        phones=tuple(phones.items()),
        source="csv",
    )
