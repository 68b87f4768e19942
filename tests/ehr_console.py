# SPDX-License-Identifier: GPL-2.0-or-later
"""A console linked to the test FHIR server (tests/fhir_server.py): its settings, and
Maria both in the EHR and in the console's directory under the same EHR id."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.screen import Screen

from console.app import CarelineApp
from console.core.config import EhrConfig
from console.core.patients.directory import PatientDirectory
from console.core.store import Store
from console.dialogs.verify import VerifyDialog
from console.widgets.patient_card import PatientCard
from tests.console_app import sip_port, talking, wait_for
from tests.fhir_server import FhirServer, seed_patient
from tests.patients import patient_record
from tests.support import Sipp

MARIA_PHONE = "+12025550142"
MARIA_BIRTH = "1961-03-09"

SCOPES = "system/*.cruds"
"""sekmet checks a transaction as a whole against ``*``: a clinic's EHR may check each
entry against the per-type scopes careline asks for by default."""


def ehr_config(server: FhirServer, **fields: Any) -> EhrConfig:
    """careline's EHR link to ``server`` (SMART sign-in, 5 s timeouts), ``fields`` changed."""
    settings: dict[str, Any] = {
        "base_url": server.base_url,
        "client_id": server.client_id,
        "private_key_file": server.private_key_path,
        "algorithm": server.algorithm,
        "scopes": SCOPES,
        "timeout": 5.0,
        "connect_timeout": 1.0,
    }
    return EhrConfig(**(settings | fields))


def ehr_yaml(server: FhirServer, extra: str = "") -> str:
    """The ``ehr:`` section of a console's YAML for ``server``; ``extra``: more of its
    lines (indented two spaces)."""
    return (
        "ehr:\n"
        f"  base_url: {server.base_url}\n"
        f"  client_id: {server.client_id}\n"
        f"  private_key_file: {server.private_key_path}\n"
        f"  algorithm: {server.algorithm}\n"
        f'  scopes: "{SCOPES}"\n' + extra
    )


async def maria_in_both(server: FhirServer, store_path: Path) -> str:
    """Maria in the EHR (a fresh MRN) and, under the same EHR id, in the directory of
    the console whose store is ``store_path``; her EHR id."""
    fhir_id = seed_patient(
        server,
        "Maria Lopez",
        f"MRN-{uuid.uuid4().hex[:6]}",
        date.fromisoformat(MARIA_BIRTH),
        MARIA_PHONE,
    )
    record = dataclasses.replace(
        patient_record("MRN-7", "Maria", "Lopez", MARIA_BIRTH, phone=MARIA_PHONE), fhir_id=fhir_id
    )
    store = await Store.open(store_path)
    try:
        await PatientDirectory(store, "US").import_records([record])
    finally:
        await store.close()
    return fhir_id


def tomorrow_nine() -> datetime:
    """09:00 local time tomorrow: slots from then show in the picker's first days."""
    local = datetime.now().astimezone()
    return (local + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)


async def answer_and_verify(
    pilot: Pilot[int],
    app: CarelineApp,
    tmp_path: Path,
    *,
    key: str | None = None,
    opens: tuple[type[Screen[Any]], ...] = (),
    dob: str = MARIA_BIRTH,
    scenario: str = "uac_agent_hangs_up.xml",
) -> Sipp:
    """Maria calls (SIPp ``scenario``) and is answered; ``key`` pressed before verification
    opens none of ``opens`` (the key does nothing yet); then she is verified with ``dob``
    and her family name. The SIPp caller (by default one that hangs up when the agent
    does)."""
    sipp = Sipp(tmp_path, scenario, sip_port(app), callers=[("Maria Lopez", MARIA_PHONE)])
    card = app.agent_screen.query_one(PatientCard)
    await wait_for(pilot, lambda: card.matches is not None, what="screen pop")
    await pilot.press("a")
    await wait_for(pilot, lambda: talking(app))
    if key is not None:
        await pilot.press(key)
        await pilot.pause(0.2)
        assert not isinstance(app.screen, opens)
    await pilot.press("v")
    await wait_for(pilot, lambda: isinstance(app.screen, VerifyDialog), what="verify form")
    await pilot.press(*dob, "enter", *"lopez", "enter")
    return sipp
