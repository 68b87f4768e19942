# SPDX-License-Identifier: GPL-2.0-or-later
"""Pending orders and results ("expectations"): the contract every orders backend keeps.

What the patient is waiting for: tests ordered and not yet resulted (an active
FHIR ``ServiceRequest``) and reports on their way or just issued (a
``DiagnosticReport`` registered, partial, preliminary or final). With each,
the card gives the configured turnaround for that test, so that the agent can
say when results usually come. The EHR's form is
:mod:`console.core.ehr.fhir_orders`; the demo's own is
:mod:`console.core.ehr.local_orders`. Nothing here imports an HTTP client.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Literal, Protocol

from console.core.records import dataclass

PENDING_REPORT_STATUSES = ("registered", "partial", "preliminary", "final")
"""DiagnosticReport statuses the card shows (final ones only while recent)."""
RECENT_DAYS = 30
"""A final report is shown this many days after it was issued, then no more."""
EXPECTATION_LIMIT = 8
"""The card lists at most this many (see :meth:`Orders.pending` for the order)."""

Kind = Literal["order", "result"]


@dataclass(frozen=True, slots=True, repr=False)
class Expectation:
    """A test the patient awaits, as the card shows it (hidden from ``repr``: PHI)."""

    kind: Kind
    """``order``: ordered, no result yet; ``result``: a report on its way or issued."""
    test: str
    """The test's name (the code's text or display)."""
    code: str
    """The test's code (e.g. a LOINC code), "" when the EHR gives none."""
    status: str
    """The ServiceRequest's or the DiagnosticReport's status."""
    since: datetime | None
    """Ordered (an order) or issued (a result); None when the EHR does not say."""

    def timeline(self, turnaround: str) -> str:
        """What the agent can tell the patient, e.g. "ordered 02 Dec, results usually
        within 3 working days"."""
        when = f" {self.since.astimezone():%d %b}" if self.since is not None else ""
        if self.kind == "order":
            return f"ordered{when}, results usually within {turnaround}"
        if self.status == "final":
            return f"result issued{when}: the clinician reviews it and gets in touch"
        return f"result {self.status}{when}, final usually within {turnaround}"


def turnaround(expectation: Expectation, table: Mapping[str, str], default: str) -> str:
    """The configured turnaround for ``expectation``'s test: by code, then by name
    (case and surrounding spaces ignored), else ``default``."""
    lowered = {key.strip().casefold(): value for key, value in table.items()}
    for key in (expectation.code, expectation.test):
        found = lowered.get(key.strip().casefold()) if key else None
        if found:
            return found
    return default


class Orders(Protocol):
    """What the console needs from an orders backend (the EHR, or the demo's own)."""

    async def pending(self, patient_id: str, *, now: datetime) -> list[Expectation]:
        """The patient's pending orders and recent results (at most :data:`EXPECTATION_LIMIT`):
        what they still wait for first, then final results, each newest first; an order
        that has a report is shown as the report."""
        ...
