# SPDX-License-Identifier: GPL-2.0-or-later
"""The refills and orders contracts as checks any backend must pass, spoken only through
:class:`~console.core.ehr.refills.Refills` and :class:`~console.core.ehr.orders.Orders`:
tests/test_refills_contract.py runs every check in :data:`CHECKS` against the FHIR
server and against the console's own store.

Each check gets a patient of its own, seeded with :data:`PRESCRIPTIONS` by one
prescriber (:data:`PRESCRIBER`) on a care team, and the tests of :data:`TESTS`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

import pytest

from console.core.ehr.errors import EhrRefusedError
from console.core.ehr.orders import Orders
from console.core.ehr.refills import NotEligibleError, Prescription, Refills

TODAY = date(2031, 3, 3)
NOW = datetime(2031, 3, 3, 12, 0, tzinfo=UTC)
PRESCRIBER = "Dr Ines Moreau"
PRESCRIPTIONS: tuple[tuple[str, int | None, date | None], ...] = (
    ("Lisinopril 10 mg tablet", 3, TODAY + timedelta(days=265)),
    ("Metformin 500 mg tablet", 0, TODAY + timedelta(days=60)),
    ("Atorvastatin 20 mg tablet", 2, TODAY - timedelta(days=10)),
)
"""Eligible, no refills left, expired."""
TESTS: tuple[tuple[str, str, date, tuple[str, datetime] | None], ...] = (
    ("Lipid panel", "24331-1", TODAY - timedelta(days=1), None),
    (
        "Full blood count",
        "58410-2",
        TODAY - timedelta(days=3),
        ("preliminary", NOW - timedelta(days=1)),
    ),
    ("HbA1c", "4548-4", TODAY - timedelta(days=90), ("final", NOW - timedelta(days=80))),
    ("TSH", "3016-3", TODAY - timedelta(days=9), ("final", NOW - timedelta(days=2))),
)
"""(test, LOINC code, ordered, report): an order waiting, a preliminary result, a final
one too old to show, and a final one just in."""


@dataclass(frozen=True, slots=True)
class Pharmacy:
    """A backend seeded for one check: a patient with :data:`PRESCRIPTIONS`, a care team,
    :data:`TESTS`, and another patient with none of it."""

    refills: Refills
    orders: Orders
    patient_id: str
    other_patient_id: str


Check = Callable[[Pharmacy], Awaitable[None]]


def request_id() -> str:
    return uuid.uuid4().hex


async def listed(pharmacy: Pharmacy) -> dict[str, Prescription]:
    found = await pharmacy.refills.prescriptions(pharmacy.patient_id)
    return {p.name: p for p in found}


async def check_prescriptions_say_who_may_refill(pharmacy: Pharmacy) -> None:
    found = await listed(pharmacy)
    assert sorted(found) == sorted(name for name, _, _ in PRESCRIPTIONS)
    said = {name: p.eligibility(TODAY) for name, p in found.items()}
    assert said["Lisinopril 10 mg tablet"][1] is True
    assert said["Metformin 500 mg tablet"] == (
        "no refills authorised: needs prescriber approval",
        False,
    )
    assert said["Atorvastatin 20 mg tablet"][1] is False
    assert "expired" in said["Atorvastatin 20 mg tablet"][0]
    assert all(p.prescriber == PRESCRIBER for p in found.values())
    assert await pharmacy.refills.prescriptions(pharmacy.other_patient_id) == []


async def check_a_refill_goes_to_the_prescriber_once(pharmacy: Pharmacy) -> None:
    lisinopril = (await listed(pharmacy))["Lisinopril 10 mg tablet"]
    ask = request_id()
    sent = await pharmacy.refills.request_refill(
        pharmacy.patient_id, lisinopril, request_id=ask, today=TODAY
    )
    assert (sent.prescription_id, sent.status, sent.owner) == (
        lisinopril.prescription_id,
        "requested",
        PRESCRIBER,
    )
    # The answer was lost and the agent pressed again: the same request, not a second.
    again = await pharmacy.refills.request_refill(
        pharmacy.patient_id, lisinopril, request_id=ask, today=TODAY
    )
    assert again.request_id == sent.request_id
    now = (await listed(pharmacy))["Lisinopril 10 mg tablet"]
    assert now.requested_on == sent.authored_on.date()
    reason, eligible = now.eligibility(TODAY)
    assert not eligible
    assert reason.startswith("refill already requested")
    # Another agent (another request id) on the same prescription: refused, not a second.
    with pytest.raises(NotEligibleError, match="already requested"):
        await pharmacy.refills.request_refill(
            pharmacy.patient_id, lisinopril, request_id=request_id(), today=TODAY
        )


async def check_an_ineligible_prescription_is_refused_as_it_is_now(pharmacy: Pharmacy) -> None:
    found = await listed(pharmacy)
    with pytest.raises(NotEligibleError, match="no refills authorised"):
        await pharmacy.refills.request_refill(
            pharmacy.patient_id,
            found["Metformin 500 mg tablet"],
            request_id=request_id(),
            today=TODAY,
        )
    with pytest.raises(NotEligibleError, match="expired"):
        await pharmacy.refills.request_refill(
            pharmacy.patient_id,
            found["Atorvastatin 20 mg tablet"],
            request_id=request_id(),
            today=TODAY,
        )
    # A card that still showed refills left: the backend's own record decides.
    stale = replace(found["Metformin 500 mg tablet"], refills_allowed=5)
    with pytest.raises(NotEligibleError, match="no refills authorised"):
        await pharmacy.refills.request_refill(
            pharmacy.patient_id, stale, request_id=request_id(), today=TODAY
        )


async def check_another_patients_prescription_is_refused(pharmacy: Pharmacy) -> None:
    lisinopril = (await listed(pharmacy))["Lisinopril 10 mg tablet"]
    with pytest.raises(EhrRefusedError, match="not this patient's"):
        await pharmacy.refills.request_refill(
            pharmacy.other_patient_id, lisinopril, request_id=request_id(), today=TODAY
        )
    assert (await listed(pharmacy))["Lisinopril 10 mg tablet"].requested_on is None


async def check_a_message_reaches_the_care_team_once(pharmacy: Pharmacy) -> None:
    metformin = (await listed(pharmacy))["Metformin 500 mg tablet"]
    ask = request_id()
    sent = await pharmacy.refills.message_care_team(
        pharmacy.patient_id,
        "  Asks for a Metformin refill; none left.  ",
        request_id=ask,
        about=metformin,
    )
    assert sent.recipient
    again = await pharmacy.refills.message_care_team(
        pharmacy.patient_id,
        "Asks for a Metformin refill; none left.",
        request_id=ask,
        about=metformin,
    )
    assert again.message_id == sent.message_id
    with pytest.raises(EhrRefusedError, match="empty"):
        await pharmacy.refills.message_care_team(
            pharmacy.patient_id, "   ", request_id=request_id()
        )
    with pytest.raises(EhrRefusedError, match="longer than"):
        await pharmacy.refills.message_care_team(
            pharmacy.patient_id, "x" * 501, request_id=request_id()
        )


async def check_pending_tests_awaited_first_then_results_in(pharmacy: Pharmacy) -> None:
    found = await pharmacy.orders.pending(pharmacy.patient_id, now=NOW)
    shown = [(e.kind, e.test, e.code, e.status) for e in found]
    assert shown == [
        ("result", "Full blood count", "58410-2", "preliminary"),
        ("order", "Lipid panel", "24331-1", "active"),
        ("result", "TSH", "3016-3", "final"),
    ]
    lipid = found[1]
    assert lipid.since is not None
    assert lipid.since.date() == TODAY - timedelta(days=1)
    assert await pharmacy.orders.pending(pharmacy.other_patient_id, now=NOW) == []


CHECKS: list[Check] = [
    check_prescriptions_say_who_may_refill,
    check_a_refill_goes_to_the_prescriber_once,
    check_an_ineligible_prescription_is_refused_as_it_is_now,
    check_another_patients_prescription_is_refused,
    check_a_message_reaches_the_care_team_once,
    check_pending_tests_awaited_first_then_results_in,
]
