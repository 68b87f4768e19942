# SPDX-License-Identifier: GPL-2.0-or-later
"""Worklist claims on the hub: the floor's items, claimed so no two agents call one patient.

:class:`HubWorklists` has the methods of the local
:class:`~console.core.worklists.store.WorklistStore` (the
:class:`~console.core.worklists.claims.WorklistClaimer` interface); each is one call
to a hub function (migration ``0004_worklists.sql``) that checks the calling rules
against every agent's calls, as the login and by the hub's clock, in one transaction.

The hub knows a patient by MRN, the directory's key on every console (a local store's
patient ids are its own): a claim's patient is looked up in the local directory by
MRN, and an item whose patient the directory does not hold yet (its pull lags the
hub's) is given back and None returned, until the next directory pull.

Opt-outs reach every console. One recorded here is written to the local store first
(kept if the hub is down) and then sent to the hub, whose claims check it at once;
those not yet sent go before the next claim. Opt-outs recorded elsewhere are pulled
into the local store (by seq, like the patient directory) before a claim, at most
every ``pull_interval`` seconds, so local reports and generation know them too; the
pull stays before the first one whose patient the local directory lacks, and tries it
again next time. A local opt-out's ``source`` gains the prefix ``hub:`` once the hub
has it (``hub:unknown`` if the directory has no MRN for it, ``hub:refused`` if the
hub refused it: neither is tried again); those pulled from the hub have the source
``hub``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg

from console.core.config.worklists import WorklistsConfig
from console.core.store import Store
from console.core.worklists.calling import utc_text
from console.core.worklists.claims import WorklistUnavailableError
from console.core.worklists.item_appointment import ItemAppointment, item_appointment
from console.core.worklists.store import Claim, Outcome, WorklistStore
from console.hub.connection import Connect, close_quietly, describe_failure

log = logging.getLogger(__name__)

OPT_OUTS_SEQ = "worklist_opt_outs_seq"
"""The ``sync_state`` key of the hub opt-out seq pulled up to."""
SENT = "hub"
"""The ``source`` of an opt-out the hub has (pulled), or its prefix (sent)."""
MAX_LEASE_SECONDS = 14400
"""The longest claim the hub grants (``worklists.claim_minutes`` at most 240)."""
_PAGE = 1000


class HubWorklists:
    """Claims, outcomes, releases and opt-outs on the hub ``connect`` opens (as the
    agent's login), with ``store`` the console's local store.

    Every claim and renewal asks the hub for this console's lease, ``claim_minutes`` of
    ``rules`` (``lease_seconds`` overrides it: tests shorten it), the time the console
    renews by: a shorter lease of the floor's would lapse under a working agent.
    """

    def __init__(
        self,
        store: Store,
        connect: Connect,
        rules: WorklistsConfig,
        *,
        timeout: float = 5.0,
        pull_interval: float = 30.0,
        lease_seconds: int | None = None,
    ) -> None:
        lease = rules.claim_minutes * 60 if lease_seconds is None else lease_seconds
        if not 1 <= lease <= MAX_LEASE_SECONDS:
            raise ValueError(f"a claim lasts 1 to {MAX_LEASE_SECONDS} seconds, not {lease}")
        self._lease = lease
        self._store = store
        self._local = WorklistStore(store, rules)
        self._connect = connect
        self._rules = rules
        self._timeout = timeout
        self._pull_every = pull_interval
        self._next_pull = 0.0
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._lock = asyncio.Lock()

    async def claim_next(
        self, agent_id: str, now: datetime, list_id: str | None = None
    ) -> Claim | None:
        """Claim the first due item the floor's rules allow, or None. The hub claims as
        the login (``agent_id`` is the console's, the same id) by its own clock."""
        del agent_id, now
        if self._rules.caller_id is None:
            return None  # no number to present: no worklist call is placed
        await self.sync_opt_outs()
        rows = await self._call(
            "SELECT item_id, token, list_id, mrn, reason, script_id, numbers, "
            "expires_at, attempt, max_attempts FROM careline.worklist_claim(%s, %s::integer)",
            (list_id, self._lease),
        )
        if not rows:
            return None
        item, token, list_, mrn, reason, script, numbers, expires, attempt, most = rows[0]
        patient = (await self._local_ids([str(mrn)])).get(str(mrn))
        if patient is None:
            await self._call("SELECT careline.worklist_release(%s, %s, NULL)", (item, token))
            log.info("a claimed item's patient is not in the local directory yet: given back")
            return None
        return Claim(
            str(item), str(token), str(list_), patient, str(reason), str(script),
            tuple(str(n) for n in numbers), utc_text(expires), int(attempt), int(most),
        )  # fmt: skip

    async def renew(self, claim: Claim, now: datetime) -> Claim | None:
        """Extend the lease by this console's claim time; None once the claim is no longer
        held (settled, or it lapsed before this renewal)."""
        del now
        keys = _keys(claim)
        if keys is None:
            return None
        rows = await self._call(
            "SELECT careline.worklist_renew(%s, %s, %s::integer)", (*keys, self._lease)
        )
        until = rows[0][0] if rows else None
        return replace(claim, expires_at=utc_text(until)) if until is not None else None

    async def record(
        self, claim: Claim, outcome: Outcome, now: datetime, *, note: str = ""
    ) -> bool:
        """Settle a held claim with ``outcome`` (and a ``note`` only this agent and the
        supervisors read); False when it is no longer held. An opt-out is kept locally
        first, and reaches the hub even when the claim had lapsed."""
        outcome = Outcome(outcome)
        if outcome is Outcome.OPTED_OUT:
            await self._local.opt_out(claim.patient_id, now, "call")
        keys = _keys(claim)
        stored = False
        if keys is not None:
            rows = await self._call(
                "SELECT careline.worklist_record(%s, %s, %s, %s)",
                (*keys, outcome.value, note),
            )
            stored = bool(rows and rows[0][0])
        if outcome is Outcome.OPTED_OUT:
            await self._push_opt_outs()
        return stored

    async def release(self, claim: Claim, now: datetime, until: datetime | None = None) -> None:
        """Give a held item back without an attempt; with ``until`` it is not offered
        again before then (the hub keeps it at most 14 days away)."""
        del now
        keys = _keys(claim)
        if keys is not None:
            await self._call("SELECT careline.worklist_release(%s, %s, %s)", (*keys, until))

    async def appointment(self, claim: Claim) -> ItemAppointment | None:
        """The appointment of the item this agent holds (a reminder's), or None; the
        hub's row-level security shows an agent only the items they hold."""
        keys = _keys(claim)
        if keys is None:
            return None
        rows = await self._call(
            "SELECT appointment_id, appointment_start, appointment_service, "
            "appointment_clinician FROM careline.worklist_items WHERE id = %s",
            (keys[0],),
        )
        return item_appointment(*rows[0]) if rows else None

    async def opt_out(self, patient_id: str, now: datetime, source: str = "") -> None:
        """Record the opt-out locally, then on the hub; WorklistUnavailableError when the
        hub cannot take it now (it goes before the next claim)."""
        await self._local.opt_out(patient_id, now, source)
        await self._push_opt_outs()

    async def sync_opt_outs(self, *, pull: bool | None = None) -> int:
        """Send the opt-outs the hub lacks, then (when due, or if ``pull``) pull those
        recorded elsewhere into the local store; returns how many were pulled."""
        await self._push_opt_outs()
        due = time.monotonic() >= self._next_pull
        if not (due if pull is None else pull):
            return 0
        pulled = await self._pull_opt_outs()
        self._next_pull = time.monotonic() + self._pull_every
        return pulled

    async def close(self) -> None:
        """Close the hub connection (it is opened again when needed)."""
        conn, self._conn = self._conn, None
        await close_quietly(conn)

    # -- opt-outs ----------------------------------------------------------

    async def _push_opt_outs(self) -> None:
        # Every claim looks (one local query): another console sharing this store may
        # have written one it could not send.
        waiting = await self._store.fetch_all(
            "SELECT o.patient_id, o.source, p.mrn FROM worklist_opt_outs AS o "
            "LEFT JOIN patients AS p ON p.id = o.patient_id "
            "WHERE o.source <> ? AND o.source NOT LIKE ? ORDER BY o.at, o.patient_id",
            (SENT, SENT + ":%"),
        )
        for patient_id, source, mrn in waiting:
            mark = f"{SENT}:{source}"
            if mrn is None:
                # Logged without the id (it may be PHI).
                log.warning("an opt-out's patient is not in the local directory: kept local")
                mark = f"{SENT}:unknown"
            else:
                try:
                    await self._call(
                        "SELECT careline.worklist_opt_out(%s, %s)", (mrn, str(source)[:100])
                    )
                except ValueError:
                    # Never tried again, or it would hold up every claim.
                    log.warning("the hub refused a local opt-out; it stays local")
                    mark = f"{SENT}:refused"
            async with self._store.transaction() as db:
                await db.execute(
                    "UPDATE worklist_opt_outs SET source = ? WHERE patient_id = ?",
                    (mark[:100], patient_id),
                )

    async def _pull_opt_outs(self) -> int:
        rows = await self._store.fetch_all(
            "SELECT value FROM sync_state WHERE key = ?", (OPT_OUTS_SEQ,)
        )
        after = int(rows[0][0]) if rows else 0
        stalled: int | None = None
        pulled = 0
        while True:
            page = await self._call(
                "SELECT seq, mrn, at FROM careline.worklist_opt_outs_since(%s, %s)",
                (after, _PAGE),
            )
            if not page:
                return pulled
            ids = await self._local_ids([str(mrn) for _, mrn, _ in page])
            known = [(ids[str(mrn)], _aware(at)) for _, mrn, at in page if str(mrn) in ids]
            if stalled is None:
                stalled = next((int(seq) - 1 for seq, mrn, _ in page if str(mrn) not in ids), None)
            await self._local.opt_outs(known, SENT)
            after = int(page[-1][0])
            async with self._store.transaction() as db:
                await db.execute(
                    "INSERT INTO sync_state (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (OPT_OUTS_SEQ, str(after if stalled is None else stalled)),
                )
            pulled += len(known)
            if len(page) < _PAGE:
                return pulled

    async def _local_ids(self, mrns: Sequence[str]) -> dict[str, str]:
        """The local directory's patient id of each MRN it holds."""
        found: dict[str, str] = {}
        for start in range(0, len(mrns), 500):
            chunk = list(dict.fromkeys(mrns[start : start + 500]))
            rows = await self._store.fetch_all(
                f"SELECT mrn, id FROM patients WHERE mrn IN ({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update((str(mrn), str(pid)) for mrn, pid in rows)
        return found

    # -- plumbing ----------------------------------------------------------

    async def _call(self, query: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        """One statement (its own transaction) on the hub; its rows.

        WorklistUnavailableError when the hub cannot be reached, fails or is slower than
        ``timeout``; ValueError (the hub's PHI-free sentence) when it refuses a value.
        """
        try:
            async with asyncio.timeout(self._timeout), self._lock:
                if self._conn is None or self._conn.closed:
                    self._conn = await self._connect()
                cursor = await self._conn.execute(query, params)
                return list(await cursor.fetchall())
        except TimeoutError:
            await self.close()
            raise WorklistUnavailableError("the hub did not answer in time") from None
        except psycopg.Error as exc:
            if exc.sqlstate == "CL400":
                raise ValueError(exc.diag.message_primary or "refused by the hub") from None
            if isinstance(exc, psycopg.OperationalError) or self._broken():
                await self.close()
            raise WorklistUnavailableError(describe_failure(exc)) from None
        except OSError as exc:
            await self.close()
            raise WorklistUnavailableError(describe_failure(exc)) from None

    def _broken(self) -> bool:
        return self._conn is None or self._conn.closed or self._conn.broken


def _keys(claim: Claim) -> tuple[uuid.UUID, uuid.UUID] | None:
    """The claim's item id and token as the hub's UUIDs; None for a claim that cannot be
    the hub's (a local store's, or a hostile one)."""
    try:
        return uuid.UUID(claim.item_id), uuid.UUID(claim.token)
    except (ValueError, TypeError, AttributeError):
        return None


def _aware(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))
