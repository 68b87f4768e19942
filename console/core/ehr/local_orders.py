# SPDX-License-Identifier: GPL-2.0-or-later
"""Pending orders and results on the console's own store: the demo's backend.

:class:`LocalOrders` keeps the :class:`~console.core.ehr.orders.Orders`
contract as :class:`~console.core.ehr.fhir_orders.FhirOrders` does, on the
``orders`` table of ``migrations/0014_refills_orders.sql`` (kind ``order``
for a ServiceRequest, ``result`` for a DiagnosticReport).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from console.core.ehr.errors import MalformedResourceError
from console.core.ehr.orders import (
    EXPECTATION_LIMIT,
    PENDING_REPORT_STATUSES,
    RECENT_DAYS,
    Expectation,
    Kind,
)
from console.core.store import Store

_INSTANT = "%Y-%m-%dT%H:%M:%SZ"


class LocalOrders:
    """:class:`~console.core.ehr.orders.Orders` on the local :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def pending(self, patient_id: str, *, now: datetime) -> list[Expectation]:
        """The patient's active orders (without a report) and recent reports: awaited
        first, then final, each newest first."""
        marks = ", ".join("?" * len(PENDING_REPORT_STATUSES))
        rows = await self._store.fetch_all(
            f"""SELECT kind, test, code, status, since FROM orders o
                WHERE patient_id = ?
                  AND ((kind = 'order' AND status = 'active'
                        AND NOT EXISTS (SELECT 1 FROM orders r WHERE r.based_on = o.id
                                        AND r.kind = 'result' AND r.status IN ({marks})))
                    OR (kind = 'result' AND status IN ({marks})
                        AND (status <> 'final' OR since >= ?)))
                ORDER BY status = 'final', since IS NULL, since DESC, id LIMIT ?""",
            (
                patient_id,
                *PENDING_REPORT_STATUSES,
                *PENDING_REPORT_STATUSES,
                _instant(now - timedelta(days=RECENT_DAYS)),
                EXPECTATION_LIMIT,
            ),
        )
        return [_expectation(row) for row in rows]

    async def add(
        self,
        patient_id: str,
        kind: Kind,
        test: str,
        status: str,
        since: datetime | None,
        *,
        code: str = "",
        based_on: str | None = None,
        order_id: str | None = None,
    ) -> str:
        """Record an order or a report for the patient (the demo's seed, the tests'); its
        id. With ``order_id`` a row of that id is replaced (seeding again keeps one)."""
        new_id = order_id or str(uuid.uuid4())
        async with self._store.transaction() as db:
            await db.execute(
                """INSERT INTO orders (id, patient_id, kind, test, code, status, since, based_on)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (id) DO UPDATE SET patient_id = excluded.patient_id,
                       kind = excluded.kind, test = excluded.test, code = excluded.code,
                       status = excluded.status, since = excluded.since,
                       based_on = excluded.based_on""",
                (
                    new_id,
                    patient_id,
                    kind,
                    test,
                    code,
                    status,
                    _instant(since) if since else None,
                    based_on,
                ),
            )
        return new_id


def _expectation(row: tuple[Any, ...]) -> Expectation:
    kind, test, code, status, since = row
    if kind not in ("order", "result") or not isinstance(test, str) or not test:
        raise MalformedResourceError("The store's order names no test.")
    try:
        moment = datetime.strptime(since, _INSTANT).replace(tzinfo=UTC) if since else None
    except (TypeError, ValueError):
        raise MalformedResourceError("The store's order has an unreadable time.") from None
    return Expectation(kind, test, str(code or ""), str(status), moment)


def _instant(value: datetime) -> str:
    return value.astimezone(UTC).strftime(_INSTANT)
