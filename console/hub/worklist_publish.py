# SPDX-License-Identifier: GPL-2.0-or-later
"""The floor's worklists generated once, by the hub owner, and published to the hub.

``careline worklist generate --hub`` runs this as the hub's owner, like ``careline
patients sync --hub``: generation is the floor's decision (who is called, why, with
which script), made once from the one directory, and only the owner may write items
(an agent login that could would be able to send colleagues to any patient). It
reuses what a console already does rather than a second generator in SQL:

1. the hub's directory is pulled into the local store (the console's own pull);
2. opt-outs: the local ones the hub lacks are sent, the hub's pulled;
3. the local generation runs (the same rules, the same idempotent items);
4. the items still due, with the patient's numbers and the zones the calling window
   is judged in, go to the hub; ``UNIQUE (list_id, dedupe_key)`` keeps a second run
   from adding anything twice, so a run stopped half-way is simply run again;
5. the ``worklists:`` section becomes the floor's calling rules (window, caps, claim
   time), which every claim on the hub applies.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any

import psycopg

from console.core.config.worklists import WorklistsConfig
from console.core.store import Store
from console.core.worklists.calling import patient_zones
from console.core.worklists.claims import WorklistUnavailableError
from console.hub.connection import describe_failure
from console.hub.sync import SyncWorker
from console.hub.worklist_claims import HubWorklists

BATCH = 2000
"""Items per INSERT."""

_INSERT = """
INSERT INTO careline.worklist_items AS w
    (list_id, kind, dedupe_key, mrn, reason, script_id, numbers, zones, due_from,
     due_until, generated_on, max_attempts, spacing_minutes, state, block_reason,
     appointment_id, appointment_start, appointment_service, appointment_clinician)
SELECT r.list_id, r.kind, r.dedupe_key, r.mrn, r.reason, r.script_id, r.numbers,
       r.zones, r.due_from, r.due_until, r.generated_on, r.max_attempts, r.spacing_minutes,
       CASE WHEN b.reason IS NULL THEN 'pending' ELSE 'blocked' END, b.reason,
       r.appointment_id, r.appointment_start, coalesce(r.appointment_service, ''),
       coalesce(r.appointment_clinician, '')
FROM jsonb_to_recordset(%s::jsonb) AS r(
    list_id text, kind text, dedupe_key text, mrn text, reason text, script_id text,
    numbers text[], zones text[], due_from date, due_until date, generated_on date,
    max_attempts integer, spacing_minutes integer, blocked text, appointment_id text,
    appointment_start timestamptz, appointment_service text, appointment_clinician text)
CROSS JOIN LATERAL (
    SELECT CASE
        WHEN EXISTS (SELECT 1 FROM careline.worklist_opt_outs AS o
                     WHERE o.mrn = r.mrn) THEN 'opted_out'
        WHEN cardinality(r.numbers) = 0 THEN 'no_number'
        ELSE r.blocked
    END AS reason
) AS b
ON CONFLICT (list_id, dedupe_key) DO NOTHING
RETURNING w.list_id
"""


class PublishError(Exception):
    """The hub could not be read or written; the message holds no patient data."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable
        """The hub could not be reached (or stopped answering), rather than refusing."""


async def prepare(conn: psycopg.AsyncConnection[Any], store: Store, region: str) -> int:
    """Steps 1 and 2 on the owner's ``conn`` (autocommit): the directory and the
    opt-outs; returns the directory resources pulled."""

    async def same() -> psycopg.AsyncConnection[Any]:
        return conn

    cur = await conn.execute("SELECT to_regclass('careline.worklist_items') IS NOT NULL")
    row = await cur.fetchone()
    if row is None or not row[0]:
        raise PublishError("the hub has no worklists yet: run `careline hub init` first")
    cur = await conn.execute("SELECT careline.is_hub_admin()")
    row = await cur.fetchone()
    if row is None or not row[0]:
        raise PublishError(
            "refused: only the hub's owner generates the floor's worklists (the --dsn of "
            "`careline hub init`)"
        )
    puller = SyncWorker(store, same, region=region)
    pulled = await puller.pull()
    failure = (await puller.status()).last_error
    if failure is not None:
        raise PublishError(
            f"the hub's directory could not be pulled: {failure}",
            unreachable=failure.startswith(("hub unreachable", "the hub did not answer")),
        )
    try:
        await HubWorklists(store, same, WorklistsConfig()).sync_opt_outs(pull=True)
    except WorklistUnavailableError as exc:
        raise PublishError(f"opt-outs: {exc}", unreachable=True) from None
    return pulled


async def publish(
    conn: psycopg.AsyncConnection[Any],
    store: Store,
    rules: WorklistsConfig,
    list_ids: Sequence[str],
    today: date,
) -> Counter[str]:
    """Steps 4 and 5: the local items of ``list_ids`` still due on ``today`` (and not
    called from this store) to the hub, in one transaction; new items per list."""
    items = await _local_items(store, rules, list_ids, today)
    added: Counter[str] = Counter()
    try:
        async with conn.transaction():
            await conn.execute(
                "UPDATE careline.worklist_rules SET window_start = %s, window_end = %s, "
                "max_calls_per_day = %s, max_calls_per_week = %s, claim_seconds = %s, "
                "updated_at = now()",
                (
                    rules.window_start,
                    rules.window_end,
                    rules.max_calls_per_day,
                    rules.max_calls_per_week,
                    rules.claim_minutes * 60,
                ),
            )
            for start in range(0, len(items), BATCH):
                cur = await conn.execute(_INSERT, (json.dumps(items[start : start + BATCH]),))
                added.update(str(row[0]) for row in await cur.fetchall())
    except psycopg.OperationalError as exc:
        raise PublishError(describe_failure(exc), unreachable=True) from None
    except psycopg.Error as exc:
        raise PublishError(f"the hub refused the worklist items: {describe_failure(exc)}") from None
    return added


async def _local_items(
    store: Store, rules: WorklistsConfig, list_ids: Sequence[str], today: date
) -> list[dict[str, object]]:
    marks = ", ".join("?" for _ in list_ids)
    where = f"i.list_id IN ({marks}) AND i.due_until >= ? AND i.state <> 'done'"
    params = [*list_ids, today.isoformat()]
    phones: dict[str, list[str]] = {}
    for patient_id, e164 in await store.fetch_all(
        f"""SELECT patient_id, e164 FROM patient_phones WHERE patient_id IN
            (SELECT i.patient_id FROM worklist_items AS i WHERE {where})
            ORDER BY patient_id, e164""",
        params,
    ):
        phones.setdefault(str(patient_id), []).append(str(e164))
    # The hub knows patients by MRN: the local ids are this store's own.
    rows = await store.fetch_all(
        f"""SELECT i.list_id, i.kind, i.dedupe_key, p.mrn, i.reason, i.script_id, i.due_from,
                   i.due_until, i.generated_on, i.max_attempts, i.spacing_minutes, i.state,
                   i.block_reason, i.patient_id, i.appointment_id, i.appointment_start,
                   i.appointment_service, i.appointment_clinician
            FROM worklist_items AS i JOIN patients AS p ON p.id = i.patient_id
            WHERE {where} ORDER BY i.list_id, i.due_until, i.dedupe_key""",
        params,
    )
    items: list[dict[str, object]] = []
    for row in rows:
        numbers = phones.get(str(row[13]), [])
        items.append(
            {
                "list_id": row[0],
                "kind": row[1],
                "dedupe_key": row[2],
                "mrn": row[3],
                "reason": row[4],
                "script_id": row[5],
                "numbers": numbers,
                "zones": list(patient_zones(numbers, rules.default_time_zone)),
                "due_from": row[6],
                "due_until": row[7],
                "generated_on": row[8],
                "max_attempts": row[9],
                "spacing_minutes": row[10],
                "blocked": row[12] if row[11] == "blocked" else None,
                # A reminder's appointment (none for other kinds): the call says its day.
                "appointment_id": row[14],
                "appointment_start": row[15],
                "appointment_service": row[16],
                "appointment_clinician": row[17],
            }
        )
    return items
