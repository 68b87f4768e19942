# SPDX-License-Identifier: GPL-2.0-or-later
"""Pending orders and results on a FHIR R4 server: ``ServiceRequest`` and ``DiagnosticReport``.

Active ServiceRequests are tests ordered; DiagnosticReports registered,
partial or preliminary are results on their way, and final ones issued in
the last :data:`~console.core.ehr.orders.RECENT_DAYS` days are results in.
An order that a report is ``basedOn`` shows once, as the report.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from console.core.ehr.client import FhirClient, Resource
from console.core.ehr.errors import MalformedResourceError
from console.core.ehr.fhir_fields import moment
from console.core.ehr.orders import (
    EXPECTATION_LIMIT,
    PENDING_REPORT_STATUSES,
    RECENT_DAYS,
    Expectation,
    Kind,
)


class FhirOrders:
    """:class:`~console.core.ehr.orders.Orders` on a FHIR R4 server."""

    def __init__(self, client: FhirClient) -> None:
        self.client = client

    async def pending(self, patient_id: str, *, now: datetime) -> list[Expectation]:
        """The patient's active orders and recent reports: awaited first, then final."""
        patient = f"Patient/{patient_id}"
        orders = await self.client.search(
            "ServiceRequest", {"patient": patient, "status": "active"}, limit=50
        )
        reports = await self.client.search(
            "DiagnosticReport",
            {"patient": patient, "status": ",".join(PENDING_REPORT_STATUSES)},
            limit=50,
        )
        reports = [r for r in reports if r.get("resourceType") == "DiagnosticReport"]
        answered = {
            str(basis.get("reference") or "").removeprefix("ServiceRequest/")
            for report in reports
            for basis in report.get("basedOn") or ()
            if isinstance(basis, dict)
        }
        found = [
            _expectation(r, "order", "authoredOn")
            for r in orders
            if r.get("resourceType") == "ServiceRequest" and r.get("id") not in answered
        ]
        recent = now - timedelta(days=RECENT_DAYS)
        for report in reports:
            shown = _expectation(report, "result", "issued")
            if shown.status == "final" and (shown.since is None or shown.since < recent):
                continue  # an old result is no longer something the patient waits for
            found.append(shown)
        oldest = datetime.min.replace(tzinfo=UTC)
        found.sort(key=lambda e: (e.status != "final", e.since or oldest), reverse=True)
        return found[:EXPECTATION_LIMIT]


def _expectation(resource: Resource, kind: Kind, when: str) -> Expectation:
    """An order or report as the card shows it; :class:`MalformedResourceError` naming the
    field when it names no test or no status."""
    what = resource.get("resourceType", "resource")
    code = resource.get("code")
    codings = (
        [c for c in (code.get("coding") or ()) if isinstance(c, dict)]
        if isinstance(code, dict)
        else []
    )
    test = (code.get("text") if isinstance(code, dict) else None) or next(
        (c.get("display") for c in codings if c.get("display")), None
    )
    if not isinstance(test, str) or not test:
        raise MalformedResourceError(f"The EHR's {what} names no test (code).")
    status = resource.get("status")
    if not isinstance(status, str) or not status:
        raise MalformedResourceError(f"The EHR's {what} has no status.")
    return Expectation(
        kind=kind,
        test=test,
        code=next((str(c["code"]) for c in codings if isinstance(c.get("code"), str)), ""),
        status=status,
        since=moment(resource.get(when) or resource.get("effectiveDateTime"), what, when),
    )
