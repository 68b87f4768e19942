# SPDX-License-Identifier: GPL-2.0-or-later
"""What the console's parts share, built once when the app starts.

:class:`Services` is handed to the agent screen and its controllers, the session
lock and the hub link: nothing below the App reaches back up to it. No Textual
here; the services are plain objects over the store and the engine.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Protocol

from console.core.audit import Action, AuditLog, Category, Outcome
from console.core.clock import Clock
from console.core.config import CarelineConfig, ConfigError
from console.core.ehr.orders import Orders
from console.core.ehr.refills import Refills
from console.core.ehr.scheduling import Scheduling
from console.core.floor import FloorReporter
from console.core.held_writes import HeldWrites
from console.core.interactions import InteractionStore
from console.core.monitoring import agent_contact
from console.core.patients.directory import PatientDirectory
from console.core.phone import PhoneClient
from console.core.recorder import CallRecorder
from console.core.records import dataclass
from console.core.store import Store, StoreKey
from console.core.worklists.claims import WorklistClaimer

_AUDIT_CATEGORY: dict[Action, Category] = {"search": "search", "verify": "verification"}
"""What kind of patient data an action touches; a view after verification is demographics."""


class SessionView(Protocol):
    """Whether the screen is covered (locked, or not signed in yet): then nothing
    on it may name a caller."""

    @property
    def locked(self) -> bool:
        """Locked after idle time or ctrl+l."""
        ...

    @property
    def signing_in(self) -> bool:
        """The sign-in still covers the console."""
        ...


@dataclass(frozen=True, slots=True)
class PatientAudit:
    """Records every look at patient data in the audit log, through the held writes."""

    log: AuditLog
    agent_id: str
    held: HeldWrites
    clock: Clock

    async def __call__(
        self,
        patient_id: str | None,
        action: Action,
        outcome: Outcome,
        categories: Sequence[Category] = (),
    ) -> None:
        """Record one look (search, verification, view, lock…).

        ``categories`` lists the kinds of data a view put on screen; by default
        the action's own category (search, verification) or demographics.
        """
        category = categories or _AUDIT_CATEGORY.get(action, "demographics")
        # The row's time is taken now, so a held (disk full) entry keeps it.
        await self.held.run(
            "audit entry",
            functools.partial(
                self.log.append,
                self.agent_id,
                action,
                category,
                outcome,
                patient_id,
                at=self.clock(),
            ),
        )


@dataclass(frozen=True, slots=True)
class Services:
    """The console's shared objects (the store is open; the phone may not be up yet)."""

    config: CarelineConfig
    store: Store
    directory: PatientDirectory
    audit: PatientAudit
    interactions: InteractionStore
    floor: FloorReporter
    recorder: CallRecorder
    phone: PhoneClient
    held: HeldWrites
    clock: Clock
    session: SessionView
    scheduling: Scheduling | None = None
    """Booking: the EHR's (``ehr.base_url``), the demo's own, or None."""
    refills: Refills | None = None
    """Refill requests and care-team messages: the EHR's, the demo's own, or None."""
    orders: Orders | None = None
    """Pending tests and results: the EHR's, the demo's own, or None."""
    worklists: WorklistClaimer | None = None
    """Outbound worklist items this console claims: the hub's with a hub, else the local
    store's (None: the hub's password could not be read; the hub sync says why)."""
    store_key: StoreKey | None = None
    """The encrypted store's key (the recordings key derives from it); None: plain store."""

    @classmethod
    def over(
        cls,
        store: Store,
        *,
        config: CarelineConfig,
        phone: PhoneClient,
        held: HeldWrites,
        clock: Clock,
        session: SessionView,
        scheduling: Scheduling | None = None,
        refills: Refills | None = None,
        orders: Orders | None = None,
        store_key: StoreKey | None = None,
    ) -> Services:
        """Everything built over an open store."""
        agent = config.agent
        interactions = InteractionStore(store, clock=clock)
        return cls(
            config=config,
            store=store,
            directory=PatientDirectory(store, config.sip.dial.region),
            audit=PatientAudit(AuditLog(store, clock=clock), agent.id, held, clock),
            interactions=interactions,
            floor=FloorReporter(
                interactions,
                agent.id,
                agent.name,
                clock,
                held,
                contact=lambda: agent_contact(config.sip, phone.status.listen),
            ),
            recorder=CallRecorder(store, agent.id, held),
            phone=phone,
            held=held,
            clock=clock,
            session=session,
            scheduling=scheduling,
            refills=refills,
            orders=orders,
            worklists=_worklists(store, config),
            store_key=store_key,
        )


def _worklists(store: Store, config: CarelineConfig) -> WorklistClaimer | None:
    """The floor's claims (the hub's when one is configured, else this machine's store);
    None when the hub's password file is unsafe (the hub sync reports that, once)."""
    from console.hub.worklist import worklist_claimer

    try:
        return worklist_claimer(store, config)
    except ConfigError:
        return None
