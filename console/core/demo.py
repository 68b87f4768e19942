"""Synthetic demo callers: invented people, fictional numbers (555-01xx).

None of these is a real person. The numbers are in the North American
555-0100..0199 range reserved for fiction.
"""

from __future__ import annotations

from dataclasses import dataclass

from console.core.config import DirectoryEntry
from console.core.patients.records import PatientRecord


@dataclass(frozen=True, slots=True)
class DemoCaller:
    """Who the demo caller pretends to be on one call."""

    name: str
    number: str


DEMO_CALLERS: tuple[DemoCaller, ...] = (
    DemoCaller("Maria Lopez", "+12025550142"),
    DemoCaller("James Okafor", "+12025550117"),
    DemoCaller("Ana María Núñez-O'Connor", "+12025550163"),
    DemoCaller("Wei Chen", "+12025550188"),
    DemoCaller("Fatima Haddad", "+12025550129"),
    DemoCaller("", "+12025550100"),
)


def demo_directory(targets_port: int) -> list[DirectoryEntry]:
    """Transfer targets played by the demo caller on 127.0.0.1: one answers, one is busy."""
    return [
        DirectoryEntry(
            name="Nurse line",
            number=f"sip:nurse@127.0.0.1:{targets_port}",
            description="Clinical questions, symptoms (answers)",
            hours="24/7",
            type="queue",
        ),
        DirectoryEntry(
            name="Billing",
            number=f"sip:billing@127.0.0.1:{targets_port}",
            description="Invoices and payments (always busy in the demo)",
            hours="Mon-Fri 09:00-17:00",
            type="queue",
        ),
    ]


# (mrn, given, family, born, language, interpreter, flags, phone) — invented people.
_DEMO_PATIENTS = (
    ("DEMO-0001", "Maria", "Lopez", "1961-03-09", "en", False, (), "+12025550142"),
    (
        "DEMO-0002",
        "James",
        "Okafor",
        "1978-11-20",
        "en",
        False,
        ("hearing_impaired",),
        "+12025550117",
    ),
    ("DEMO-0003", "Ana María", "Núñez-O'Connor", "1990-06-30", "es", True, (), "+12025550163"),
    ("DEMO-0004", "Wei", "Chen", "1949-02-14", "zh", True, (), "+12025550188"),
    ("DEMO-0005", "Fatima", "Haddad", "1985-08-01", "ar", False, (), "+12025550129"),
    ("DEMO-0006", "Layla", "Haddad", "2015-04-22", "ar", False, ("minor",), "+12025550129"),
)


def demo_patients() -> list[PatientRecord]:
    """The demo directory: most demo callers are known, one shares a family phone,
    and +12025550100 is deliberately unknown."""
    return [
        PatientRecord(
            mrn=mrn,
            family_name=family,
            given_names=given,
            birth_date=born,
            preferred_language=language,
            interpreter_needed=interpreter,
            flags=frozenset(flags),
            phones=((phone, "mobile"),),
            source="demo",
        )
        for mrn, given, family, born, language, interpreter, flags, phone in _DEMO_PATIENTS
    ]
