# SPDX-License-Identifier: GPL-2.0-or-later
"""The synthetic directory's prescription fills and past visits: what the refill and
feedback worklists read, with a realistic spread, and worklists made from them."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from console.core.patients.fhir_clinical import LAST_FILL_URL
from console.core.patients.generate import generate
from tests.careline_cli import careline

TODAY = date(2031, 3, 3)


def _resources(kind: str, count: int = 3000) -> list[dict[str, Any]]:
    return [r for r in generate(count, 4, care_from=TODAY) if r["resourceType"] == kind]


def _last_fill(resource: dict[str, Any]) -> date | None:
    for extension in resource.get("extension", []):
        if extension["url"] == LAST_FILL_URL:
            return date.fromisoformat(extension["valueDate"])
    return None


def test_prescriptions_carry_quantity_supply_and_last_fill_with_a_spread() -> None:
    prescriptions = _resources("MedicationRequest")
    assert len(prescriptions) > 500
    supplies: Counter[int] = Counter()
    filled = runs_out_this_week = 0
    for rx in prescriptions:
        dispense = rx["dispenseRequest"]
        authored = date.fromisoformat(rx["authoredOn"])
        last = _last_fill(rx)
        if "expectedSupplyDuration" not in dispense:
            assert last is None
            assert "quantity" not in dispense
            supplies[0] += 1
            continue
        days = dispense["expectedSupplyDuration"]["value"]
        assert dispense["expectedSupplyDuration"]["code"] == "d"
        supplies[days] += 1
        assert dispense["quantity"]["value"] > 0
        if "twice daily" in rx["dosageInstruction"][0]["text"]:
            assert dispense["quantity"]["value"] == 2 * days
        if last is not None:
            filled += 1
            # A fill is never before the prescription was written, nor after today.
            assert authored <= last <= TODAY
            runs_out_this_week += TODAY <= last + timedelta(days=days) <= TODAY + timedelta(7)
    # Mostly monthly, many 90-day supplies, a few unstated (those are not predicted).
    assert supplies[30] > supplies[90] > supplies[60] > 0
    assert supplies[28] > 0
    assert 0 < supplies[0] < len(prescriptions) * 0.1
    # Most are filled, some never were; a share runs out within the week, not all.
    assert len(prescriptions) * 0.8 < filled < len(prescriptions)
    assert filled * 0.05 < runs_out_this_week < filled * 0.4


def test_past_visits_are_before_today_and_mostly_took_place() -> None:
    visits = [a for a in _resources("Appointment") if a["id"].startswith("visit-")]
    assert len(visits) > 200
    statuses = Counter(v["status"] for v in visits)
    assert set(statuses) == {"fulfilled", "noshow"}
    assert statuses["fulfilled"] > statuses["noshow"] * 4
    assert all(TODAY - timedelta(30) <= date.fromisoformat(v["start"][:10]) < TODAY for v in visits)


def test_fills_do_not_change_anything_else_generated() -> None:
    """The fills and visits come from streams of their own: the patients and the
    rest of their context are what they were (the tests and benches rely on them)."""
    with_care = list(generate(300, 2, care_from=TODAY))
    patients = [r for r in with_care if r["resourceType"] == "Patient"]
    assert patients == list(generate(300, 2))
    rx = next(r for r in with_care if r["resourceType"] == "MedicationRequest")
    assert set(rx) - {"extension"} == {
        "resourceType",
        "id",
        "status",
        "intent",
        "subject",
        "medicationCodeableConcept",
        "authoredOn",
        "dosageInstruction",
        "dispenseRequest",
    }


def test_refill_and_feedback_worklists_come_from_generated_patients() -> None:
    """``careline patients generate --import`` then ``careline worklist generate``: every
    list gets items from the synthetic directory, through the real FHIR import."""
    imported = careline("patients", "generate", "--count", "3000", "--import", timeout=120)
    assert imported.returncode == 0, imported.stderr
    # The reminders are for the next day's appointments, and the clinics are shut at the
    # weekend: generate for the next Monday to Thursday, not for whatever day this is.
    day = datetime.now(UTC).date() + timedelta(days=1)
    while day.weekday() > 3:
        day += timedelta(days=1)
    made = careline("worklist", "generate", "--date", day.isoformat(), timeout=120)
    assert made.returncode == 0, made.stderr
    added = dict(re.findall(r"^([\w-]+): (\d+) added", made.stdout, re.MULTILINE))
    assert set(added) == {"appointment-reminders", "refill-reminders", "visit-feedback"}
    assert int(added["refill-reminders"]) > 100
    assert int(added["visit-feedback"]) > 0
    assert int(added["appointment-reminders"]) > 0
