# SPDX-License-Identifier: GPL-2.0-or-later
"""The demo's reminder worklist: invented patients with an appointment tomorrow.

Generated at every demo launch from these patients, with the shipped
``appointment-reminders`` rule, so a newcomer has someone to call. The demo's
transfer-target process answers their numbers (``sip:+1202555015x@…``), each
its own way: two answer, one is busy, one never answers, one is a wrong
number (it answers, but with a stranger's sound, low falling tones instead of
the patients' rising ones: the agent hears it is not the patient), and one
patient opted out, so the list shows an item it will never offer. Numbers are in the
fictional 555-0100..0199 range. Their appointments are booked in the demo's own
scheduling too, so a verified patient's card lists the one the call is about, and
rescheduled or cancelled changes it there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from console.core.config import WorklistsConfig
from console.core.patients.records import AppointmentRecord, ClinicalRecord, PatientRecord
from console.core.records import dataclass

if TYPE_CHECKING:
    from console.core.scripts.models import Preparation
    from console.core.scripts.worklist_rules import WorklistRule
    from console.core.store import Store

DEMO_LIST = "appointment-reminders"
"""The shipped rule the demo's worklist is generated with."""
DEMO_CLINICIAN = "Dr. Amara Osei"
DEMO_CLINIC = "Riverside Clinic"
"""Who and where the list's appointments are (one of the demo's own schedules)."""
DEMO_CALLER_ID = "+12025550199"
"""The clinic's number the demo's worklist calls present (and voicemails give)."""


@dataclass(frozen=True, slots=True)
class DemoAnswerer:
    """A worklist patient and what their phone does when the console calls it."""

    mrn: str
    given: str
    family: str
    number: str
    answers: str
    """``answer``, ``busy``, ``no_answer`` or ``wrong_number`` (answers: not the patient)."""
    service: str
    hour: int
    """Local hour of tomorrow's appointment (the clinic's zone)."""
    opted_out: bool = False


DEMO_ANSWERERS: tuple[DemoAnswerer, ...] = (
    DemoAnswerer("DEMO-0101", "Grace", "Wilson", "+12025550151", "answer", "Annual physical", 9),
    DemoAnswerer("DEMO-0102", "Daniel", "Brown", "+12025550152", "answer", "Flu vaccination", 10),
    DemoAnswerer("DEMO-0103", "Emily", "Clark", "+12025550153", "busy", "Blood pressure check", 11),
    DemoAnswerer("DEMO-0104", "Noah", "Davis", "+12025550154", "no_answer", "Annual physical", 14),
    DemoAnswerer(
        "DEMO-0105", "Linda", "Moore", "+12025550155", "wrong_number", "Lab results review", 15
    ),
    DemoAnswerer(
        "DEMO-0106", "Robert", "Harris", "+12025550156", "answer", "Physical therapy", 16, True
    ),
)
"""The list's patients, in appointment order; Robert Harris opted out of calls."""


def demo_worklist_config(config: WorklistsConfig) -> WorklistsConfig:
    """The demo's calling rules: a caller ID (without one nothing is offered) and a window
    of the whole day, so the list can be worked whenever the demo runs (the numbers are
    fictional; a real centre keeps 08:00-21:00)."""
    return config.model_copy(
        update={
            "caller_id": DEMO_CALLER_ID,
            "callback_number": "(202) 555-0199",
            "window_start": time(0, 0),
            "window_end": time(23, 59),
        }
    )


def demo_worklist_patients(
    clinic_today: date, zone: str
) -> tuple[list[PatientRecord], list[ClinicalRecord]]:
    """The list's patients and their appointments tomorrow (``clinic_today`` + 1, local)."""
    tz = ZoneInfo(zone)
    patients: list[PatientRecord] = []
    care: list[ClinicalRecord] = []
    for who in DEMO_ANSWERERS:
        patients.append(
            PatientRecord(
                mrn=who.mrn,
                family_name=who.family,
                given_names=who.given,
                birth_date="1970-01-01",
                preferred_language="en",
                interpreter_needed=False,
                flags=frozenset(),
                phones=((who.number, "mobile"),),
                source="demo",
                fhir_id=who.mrn.lower(),
            )
        )
        care.append(
            AppointmentRecord(
                f"Appointment/{who.mrn.lower()}",
                f"mrn:{who.mrn}",
                _starts(who, clinic_today, tz).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "booked",
                who.service,
                DEMO_CLINICIAN,
                DEMO_CLINIC,
            )
        )
    return patients, care


def _starts(who: DemoAnswerer, clinic_today: date, tz: ZoneInfo) -> datetime:
    """When ``who``'s appointment starts (tomorrow at their hour, the clinic's zone), UTC."""
    local = datetime.combine(clinic_today + timedelta(days=1), time(who.hour), tzinfo=tz)
    return local.astimezone(UTC)


async def _book_in_demo_schedules(store: Store, clinic_today: date, tz: ZoneInfo) -> None:
    """Each listed patient's appointment booked in the demo's own scheduling (its EHR id:
    the MRN in lower case), unless they have one there already (a re-run, or a move)."""
    from console.core.ehr.local_scheduling import LocalScheduling
    from console.core.ehr.scheduling import SlotQuery

    scheduling = LocalScheduling(store)
    for who in DEMO_ANSWERERS:
        start, patient = _starts(who, clinic_today, tz), who.mrn.lower()
        if await scheduling.bookings(patient, since=start - timedelta(days=1)):
            continue
        schedule = await scheduling.add_schedule(
            DEMO_CLINICIAN, DEMO_CLINIC, who.service, start, 1, 30
        )
        query = SlotQuery(start, start + timedelta(minutes=1), schedule_ids=(schedule,), limit=1)
        for offer in await scheduling.free_slots(query):
            request = f"demo-reminder-{patient}-{start:%Y%m%d}"  # once a day, never twice
            await scheduling.book(patient, offer, request_id=request)


async def seed_demo_worklist(
    store: Store,
    rules: Sequence[WorklistRule],
    preparations: Sequence[Preparation],
    config: WorklistsConfig,
    now: datetime,
) -> int:
    """Record the opt-out and generate the demo's reminder list (re-run safe); items added."""
    from console.core.worklists.generate import generate
    from console.core.worklists.store import WorklistStore

    zone = config.default_time_zone
    clinic_today = now.astimezone(ZoneInfo(zone)).date()
    worklists = WorklistStore(store, config)
    for who in DEMO_ANSWERERS:
        if who.opted_out:
            rows = await store.fetch_all("SELECT id FROM patients WHERE mrn = ?", (who.mrn,))
            for (patient_id,) in rows:
                await worklists.opt_out(str(patient_id), now, "demo")
    results = await generate(
        store,
        [r for r in rules if r.id == DEMO_LIST],
        preparations,
        today=clinic_today,
        zone=zone,
        now=now,
    )
    await _book_in_demo_schedules(store, clinic_today, ZoneInfo(zone))
    return sum(r.added for r in results)


def demo_answerers_json() -> list[dict[str, str]]:
    """What the demo's target process answers, per number (its ``--answerers``)."""
    return [{"number": a.number, "answers": a.answers} for a in DEMO_ANSWERERS]
