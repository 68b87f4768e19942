# SPDX-License-Identifier: GPL-2.0-or-later
"""The worklist console tests' shared steps: a console configured to dial patients at a
given domain, one seeded patient with a reminder item, and the keys of the preview flow."""

from __future__ import annotations

import json
from datetime import datetime

from textual.pilot import Pilot

from console.app import CarelineApp
from console.core.worklists.calling import utc_text
from console.dialogs.verify import VerifyDialog
from console.dialogs.worklist import WorklistPreview
from console.widgets.patient_card import PatientCard
from tests.console_app import wait_for

HOSTILE = "[bold red]Mal[/] \x1b[31mory\x1b]0;pwn\x07"


def config(domain: str) -> str:
    """A console dialling patients at ``domain``, the calling window open all day."""
    return f"""
sip:
  dial:
    domain: "{domain}"
worklists:
  caller_id: "+15550100"
  callback_number: "555-0100"
  window_start: "00:00"
  window_end: "23:59"
  ring_seconds: 5
"""


BIRTH = "1961-03-09"
APPOINTMENT_START = "2031-03-04T14:30:00Z"


async def seed(
    app: CarelineApp,
    given: str = "Maria Luisa",
    e164: str = "+12125550142",
    *,
    fhir_id: str | None = None,
) -> None:
    """One patient and one reminder item, due now, about an appointment with a clinician."""
    store = app.services.store
    now = utc_text(app.services.clock())
    async with store.transaction() as db:
        await db.execute(
            "INSERT INTO patients (id, mrn, family_name, given_names, birth_date, fhir_id, "
            "source, updated_at) VALUES ('p1', 'MRN1', 'Secret-Family', ?, ?, ?, 'test', ?)",
            (given, BIRTH, fhir_id, now),
        )
        await db.execute("INSERT INTO patient_phones (patient_id, e164) VALUES ('p1', ?)", (e164,))
        await db.execute(
            """INSERT INTO worklist_items (id, list_id, kind, dedupe_key, patient_id, reason,
                   script_id, due_from, due_until, generated_on, attempts, max_attempts,
                   spacing_minutes, next_attempt_at, state, updated_at)
               VALUES ('i1', 'appointment-reminders', 'appointment_reminder', 'k1', 'p1',
                   'Reminder: appointment tomorrow', 'appointment-reminder-confirmation',
                   ?, '2999-01-01', ?, 0, 3, 120, ?, 'pending', ?)""",
            (now, now, now, now),
        )
        await db.execute(
            "UPDATE worklist_items SET appointment_id = 'Appointment/a1', appointment_start = ?, "
            "appointment_service = 'Secret-Service', appointment_clinician = 'Dr Secret' "
            "WHERE id = 'i1'",
            (APPOINTMENT_START,),
        )


async def item(app: CarelineApp) -> tuple[str, int, str | None, str]:
    """The seeded item: state, attempts, outcome, next attempt."""
    rows = await app.services.store.fetch_all(
        "SELECT state, attempts, outcome, next_attempt_at FROM worklist_items WHERE id = 'i1'"
    )
    state, attempts, outcome, next_at = rows[0]
    return str(state), int(attempts), outcome, str(next_at)


async def interaction_form(app: CarelineApp) -> tuple[str, dict[str, object]]:
    """The one stored interaction: its disposition and form."""
    rows = await app.services.store.fetch_all("SELECT disposition, form FROM interactions")
    assert len(rows) == 1
    return str(rows[0][0]), json.loads(rows[0][1])


async def start_worklist(app: CarelineApp, pilot: Pilot[int]) -> None:
    """W: worklist mode, until the first preview shows."""
    await pilot.press("W")
    await wait_for(pilot, lambda: isinstance(app.screen, WorklistPreview), what="preview")


def spoken(start: str) -> str:
    """How the script says an appointment's day and time (the agent's time zone)."""
    moment = datetime.fromisoformat(start.replace("Z", "+00:00"))
    return moment.astimezone().strftime("%A %d %B at %H:%M")


async def audit_rows(app: CarelineApp) -> list[tuple[object, ...]]:
    """The audit log: action, patient, category, outcome."""
    return [
        tuple(row)
        for row in await app.services.store.fetch_all(
            "SELECT action, patient_id, category, outcome FROM audit ORDER BY seq"
        )
    ]


async def dial_and_answer(app: CarelineApp, pilot: Pilot[int]) -> PatientCard:
    """Offer, dial, answered (the script runs); the card, once it shows the screen pop."""
    await start_worklist(app, pilot)
    await pilot.press("enter")
    screen = app.agent_screen
    await wait_for(pilot, lambda: screen.guidance.current() is not None, 15, "answered")
    card = screen.query_one(PatientCard)
    await wait_for(pilot, lambda: card.matches is not None, what="screen pop")
    return card


async def verify_claimed(app: CarelineApp, pilot: Pilot[int], dob: str = BIRTH) -> None:
    """v with the seeded patient's family name."""
    await verify_claimed_as(app, pilot, dob, "secret-family")


async def verify_claimed_as(app: CarelineApp, pilot: Pilot[int], dob: str, name: str) -> None:
    """v on the worklist call: the date of birth and the name typed into the dialog."""
    await pilot.press("v")
    await wait_for(pilot, lambda: isinstance(app.screen, VerifyDialog), what="verify form")
    await pilot.press(*dob, "enter", *name, "enter")
