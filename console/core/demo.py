# SPDX-License-Identifier: GPL-2.0-or-later
"""Synthetic demo callers: invented people, fictional numbers (555-01xx).

None of these is a real person. The numbers are in the North American
555-0100..0199 range reserved for fiction.
"""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING

from console.core.config import DirectoryEntry
from console.core.patients.records import (
    AppointmentRecord,
    CareTeamRecord,
    ClinicalRecord,
    MedicationRecord,
    PatientRecord,
    PractitionerRoleRecord,
)
from console.core.records import dataclass

if TYPE_CHECKING:
    from console.core.ehr.local_scheduling import LocalScheduling
    from console.core.ehr.orders import Kind
    from console.core.store import Store


@dataclass(frozen=True, slots=True)
class DemoCaller:
    """Who the demo caller pretends to be on one call."""

    name: str
    number: str
    queue: str
    """The queue called (the called user), which picks the call script."""


DEMO_CALLERS: tuple[DemoCaller, ...] = (
    DemoCaller("Maria Lopez", "+12025550142", "refills"),
    DemoCaller("James Okafor", "+12025550117", "after-hours"),
    DemoCaller("Ana María Núñez-O'Connor", "+12025550163", "appointments"),
    DemoCaller("Wei Chen", "+12025550188", "results"),
    DemoCaller("Fatima Haddad", "+12025550129", "billing"),
    DemoCaller("", "+12025550100", "general"),
)


def demo_directory(targets_port: int) -> list[DirectoryEntry]:
    """Transfer targets played by the demo caller on 127.0.0.1: billing is busy, the rest answer."""
    return [
        DirectoryEntry(
            name="Emergency services (demo)",
            number=f"sip:emergency@127.0.0.1:{targets_port}",
            description="Stands in for 911 in the demo (answers)",
            hours="24/7",
            type="emergency",
        ),
        DirectoryEntry(
            name="Crisis line (demo)",
            number=f"sip:crisis@127.0.0.1:{targets_port}",
            description="Stands in for 988 in the demo (answers)",
            hours="24/7",
            type="external",
        ),
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


def demo_patient_id(mrn: str) -> str:
    """The EHR id a demo patient has (``DEMO-0001`` → ``demo-0001``)."""
    return mrn.lower()


MARIA_ID = demo_patient_id("DEMO-0001")
"""Maria Lopez's EHR id: the demo books her follow-up for the newcomer to move or cancel."""


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
            # Their EHR id, as a FHIR import keeps it: the demo's scheduling books under it.
            fhir_id=demo_patient_id(mrn),
        )
        for mrn, given, family, born, language, interpreter, flags, phone in _DEMO_PATIENTS
    ]


def demo_care(today: date) -> list[ClinicalRecord]:
    """The demo patients' appointments (from ``today`` on), prescriptions and care teams.

    Maria has an appointment in two days and a prescription out of refills
    (both greeting hints); James has an expired prescription; Wei's team names
    its doctor only by reference, resolved through a PractitionerRole.
    """

    def at(days: int, hour: int) -> str:
        moment = datetime.combine(today + timedelta(days=days), time(hour, 30), tzinfo=UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    def until(days: int) -> str:
        return (today + timedelta(days=days)).isoformat()

    return [
        PractitionerRoleRecord(
            "PractitionerRole/demo-pcp-1",
            "Dr. Ines Moreau",
            "Practitioner/demo-moreau",
            "Primary care physician",
            "Internal medicine",
            "+12025551001",
        ),
        AppointmentRecord(
            "Appointment/demo-1",
            "mrn:DEMO-0001",
            at(2, 14),
            "booked",
            "Diabetes follow-up",
            "Dr. Ines Moreau",
            "Riverside Clinic",
        ),  # fmt: skip
        AppointmentRecord(
            "Appointment/demo-2",
            "mrn:DEMO-0001",
            at(30, 16),
            "booked",
            "Eye examination",
            "Dr. Hiro Tanaka",
            "Northgate Health Centre",
        ),  # fmt: skip
        MedicationRecord(
            "MedicationRequest/demo-1",
            "mrn:DEMO-0001",
            "Metformin 500 mg tablet",
            "active",
            "1 tablet twice daily with meals",
            until(-300),
            0,
            until(60),
            "Dr. Ines Moreau",
        ),  # fmt: skip
        MedicationRecord(
            "MedicationRequest/demo-2",
            "mrn:DEMO-0001",
            "Lisinopril 10 mg tablet",
            "active",
            "1 tablet once daily",
            until(-100),
            3,
            until(265),
            "Dr. Ines Moreau",
        ),  # fmt: skip
        CareTeamRecord(
            "CareTeam/demo-1",
            "mrn:DEMO-0001",
            "active",
            (
                ("Primary care", "", "PractitionerRole/demo-pcp-1"),
                ("Care coordinator", "Grace Lindqvist, RN", ""),
            ),
        ),  # fmt: skip
        MedicationRecord(
            "MedicationRequest/demo-3",
            "mrn:DEMO-0002",
            "Atorvastatin 20 mg tablet",
            "active",
            "1 tablet at bedtime",
            until(-400),
            2,
            until(-10),
            "Dr. Ben Okafor",
        ),  # fmt: skip
        AppointmentRecord(
            "Appointment/demo-3",
            "mrn:DEMO-0004",
            at(5, 15),
            "booked",
            "Cardiology consult (Mandarin interpreter booked)",
            "Dr. Dev Patel",
            "Northgate Health Centre",
        ),  # fmt: skip
        CareTeamRecord(
            "CareTeam/demo-2",
            "mrn:DEMO-0004",
            "active",
            (("Primary care", "", "Practitioner/demo-moreau"),),
        ),  # fmt: skip
    ]


@dataclass(frozen=True, slots=True)
class DemoSchedule:
    """A clinician whose free slots the demo offers, mornings of working days."""

    clinician: str
    location: str
    service: str
    minutes: int


DEMO_SCHEDULES: tuple[DemoSchedule, ...] = (
    # Maria's follow-up is a diabetes review: moving it reads out the fasting advice.
    DemoSchedule("Dr. Ines Moreau", "Riverside Clinic", "Diabetes review", 20),
    DemoSchedule("Dr. Amara Osei", "Riverside Clinic", "Primary care", 30),
    DemoSchedule("Dr. Hiro Tanaka", "Northgate Health Centre", "Ophthalmology", 30),
)
"""Maria's own doctor first (her primary care physician in :func:`demo_care`), then two others."""
DEMO_SCHEDULE_DAYS = 5
"""Working days with slots, from ``today`` (today included while it has slots left)."""
DEMO_MORNING = (time(9, 0), time(12, 0))
"""Slots run back to back from 09:00 to 12:00, local time."""


async def seed_demo_schedules(
    store: Store,
    today: date,
    *,
    maria: str | None = None,
    now: datetime | None = None,
    tz: tzinfo | None = None,
) -> list[str]:
    """Free slots for the demo to book (:data:`DEMO_SCHEDULES`, mornings of the next
    :data:`DEMO_SCHEDULE_DAYS` working days from ``today``) in the demo's own scheduling
    tables; the schedule ids, in :data:`DEMO_SCHEDULES` order.

    Safe to run at every launch of the demo on the same store: slots already there are
    not added again, none is added in the past (before ``now``, default the present),
    and free slots already past are dropped. Bookings are never touched. ``tz`` is the
    clinics' time zone (default this machine's). With ``maria`` (Maria Lopez's patient id
    as the scheduling backend knows her), her diabetes follow-up of :func:`demo_care`
    (``today`` + 2 at 14:30 UTC, with Dr. Moreau) is booked too, unless she already has an
    appointment with Dr. Moreau from ``now`` on (a re-run, or a move the newcomer made).
    """
    # Imported here: what imports the demo's callers and patients (the launch, at start)
    # loads nothing of the EHR package.
    from console.core.ehr.local_scheduling import LocalScheduling

    moment = now if now is not None else datetime.now(UTC)
    scheduling = LocalScheduling(store)
    await scheduling.discard_free_slots(moment)
    days = _working_days(today, DEMO_SCHEDULE_DAYS)
    ids: list[str] = []
    for clinic in DEMO_SCHEDULES:
        length = timedelta(minutes=clinic.minutes)
        schedule_id = ""
        for day in days:
            opens, closes = (_local(day, t, tz) for t in DEMO_MORNING)
            starts = [opens + i * length for i in range(int((closes - opens) / length))]
            future = [start for start in starts if start >= moment]
            if not future:
                continue
            schedule_id = await scheduling.add_schedule(
                clinic.clinician,
                clinic.location,
                clinic.service,
                future[0],
                len(future),
                clinic.minutes,
            )
        if not schedule_id:  # every slot already past: the schedule still exists, empty
            schedule_id = await scheduling.add_schedule(
                clinic.clinician, clinic.location, clinic.service, moment, 0, clinic.minutes
            )
        ids.append(schedule_id)
    if maria:
        await _book_maria_follow_up(scheduling, maria, today, moment, ids[0])
    return ids


async def _book_maria_follow_up(
    scheduling: LocalScheduling, maria: str, today: date, now: datetime, schedule_id: str
) -> None:
    """Maria's diabetes follow-up with her own doctor, unless she has one with Dr. Moreau."""
    from console.core.ehr.errors import EhrConflictError
    from console.core.ehr.scheduling import SlotQuery

    own = DEMO_SCHEDULES[0]
    start = datetime.combine(today + timedelta(days=2), time(14, 30), tzinfo=UTC)
    booked = await scheduling.bookings(maria, since=now)
    if start < now or any(b.clinician == own.clinician for b in booked):
        return
    await scheduling.add_schedule(own.clinician, own.location, own.service, start, 1, own.minutes)
    query = SlotQuery(start, start + timedelta(minutes=1), schedule_ids=(schedule_id,), limit=1)
    for offer in await scheduling.free_slots(query):
        # Another demo patient may have taken that hour: then Maria books her own.
        with contextlib.suppress(EhrConflictError):
            await scheduling.book(maria, offer, request_id=str(uuid.uuid4()))


def _working_days(first: date, count: int) -> list[date]:
    """``count`` weekdays from ``first`` (itself included when it is one)."""
    days: list[date] = []
    day = first
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=1)
    return days


def _local(day: date, at: time, tz: tzinfo | None) -> datetime:
    """``day`` at ``at`` in the clinics' zone (None: this machine's, with its DST rules)."""
    if tz is not None:
        return datetime.combine(day, at, tzinfo=tz)
    return datetime.combine(day, at).astimezone()


# (id, patient's MRN, kind, test, LOINC code, status, days ago, order it answers) — the
# tests the demo's callers wait for: Maria a lipid panel ordered and her HbA1c on its
# way, Wei (who calls the results line) his thyroid test and a chest X-ray report in.
_DEMO_TESTS: tuple[tuple[str, str, Kind, str, str, str, int, str | None], ...] = (
    ("demo-order-1", "DEMO-0001", "order", "Lipid panel", "24331-1", "active", 2, None),
    ("demo-order-2", "DEMO-0001", "order", "HbA1c", "4548-4", "active", 4, None),
    ("demo-result-2", "DEMO-0001", "result", "HbA1c", "4548-4", "preliminary", 1, "demo-order-2"),
    ("demo-order-3", "DEMO-0004", "order", "Thyroid function (TSH)", "3016-3", "active", 5, None),
    ("demo-result-4", "DEMO-0004", "result", "Chest X-ray report", "", "final", 1, None),
)


async def seed_demo_orders(store: Store, now: datetime) -> None:
    """The demo's pending tests and results (their days counted back from ``now``), and
    the prescriber's answer to every refill request sent before today, so that Maria's
    Lisinopril can be asked for again at each day's first demo. Re-run safe: each test
    is kept once, with fresh dates."""
    from console.core.ehr.local_orders import LocalOrders
    from console.core.ehr.local_refills import LocalRefills

    orders = LocalOrders(store)
    for order_id, mrn, kind, test, code, status, days, based_on in _DEMO_TESTS:
        await orders.add(
            demo_patient_id(mrn),
            kind,
            test,
            status,
            now - timedelta(days=days),
            code=code,
            based_on=based_on,
            order_id=order_id,
        )
    midnight = datetime.combine(now.astimezone().date(), time()).astimezone()
    await LocalRefills(store).answer_requests(midnight)
