# SPDX-License-Identifier: GPL-2.0-or-later
"""One interface to the worklist claims a console works from, whichever holds them.

Without a hub the items are in the local store (:class:`~console.core.worklists.store.
WorklistStore`, shared by the consoles of one machine); with one they are on the hub
(``console.hub.worklist_claims.HubWorklists``, shared by the floor), and
``console.hub.worklist.worklist_claimer`` picks the one the configuration asks for.
Both keep the calling rules on every claim and hold a claim as a lease the console
renews while the agent works the item; the console's preview dialling sees only
:class:`WorklistClaimer`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from console.core.store_faults import StoreError
from console.core.worklists.store import Claim, Outcome


class WorklistUnavailableError(Exception):
    """The shared claims could not be reached (the hub is down or too slow). The message
    names the failure, never patient data or a password. An opt-out is kept locally and
    sent later; a claim the hub made but could not report lapses with its lease."""


UNREACHABLE = (WorklistUnavailableError, ValueError, StoreError)
"""What the claims raise when the hub is down or refuses a value, or the local store
refuses the write (a full disk, a lock): to be said, never a crash."""


@runtime_checkable
class WorklistClaimer(Protocol):
    """What a console does with worklist items. ``now`` is the console's clock (the hub
    uses its own); ``agent_id`` is who claims (the hub claims as its login)."""

    async def claim_next(
        self, agent_id: str, now: datetime, list_id: str | None = None
    ) -> Claim | None:
        """Claim the first due item the calling rules allow (of ``list_id``, or any list),
        or None when nothing may be called now."""

    async def renew(self, claim: Claim, now: datetime) -> Claim | None:
        """Extend the claim's lease while the agent works it; the claim with its new
        ``expires_at``, or None when it is no longer held (it lapsed or was settled)."""

    async def record(self, claim: Claim, outcome: Outcome, now: datetime) -> bool:
        """Store the outcome of an attempt on a held claim; False if it is no longer held."""

    async def release(self, claim: Claim, now: datetime, until: datetime | None = None) -> None:
        """Give a claimed item back without an attempt (the agent skipped it); with
        ``until``, it is not offered again before then."""

    async def opt_out(self, patient_id: str, now: datetime, source: str = "") -> None:
        """Record that ``patient_id`` is not to be called again, on any list."""
