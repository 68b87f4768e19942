# SPDX-License-Identifier: GPL-2.0-or-later
"""Worklist generation, the calling rules and claims, on a real local store."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from console.core.config import WorklistsConfig
from console.core.scripts.loader import load_library
from console.core.store import Store
from console.core.worklists.calling import Blocker, cap_blocker, in_window, patient_zones
from console.core.worklists.generate import generate
from console.core.worklists.report import item_lines, summarise
from console.core.worklists.store import Outcome, WorklistStore
from tests.careline_cli import careline
from tests.support import ROOT

TODAY = date(2031, 3, 3)
# 15:00 UTC: 10:00 in New York, 07:00 in Los Angeles (outside the window there).
NOON = datetime(2031, 3, 3, 15, 0, tzinfo=UTC)
RULES = WorklistsConfig(caller_id="+12025550100")
NY, LA = "+12025550142", "+15035550142"


async def directory(path: Path, patients: int = 4) -> Store:
    """A store holding ``patients`` New York patients, each with one appointment tomorrow
    (p0: a diabetes review, which has a preparation), a refill and a past visit."""
    store = await Store.open(path)
    async with store.transaction() as db:
        for n in range(patients):
            await db.execute(
                "INSERT INTO patients (id, mrn, given_names, source, updated_at) "
                "VALUES (?, ?, 'Ann', 'test', 'x')",
                (f"p{n}", f"M{n}"),
            )
            await db.execute("INSERT INTO patient_phones VALUES (?, ?, 'home')", (f"p{n}", NY))
            service = "Diabetes review" if n == 0 else "Primary care \x1b[2J"
            for rid, start, status in (
                (f"a{n}", "2031-03-04T15:00:00Z", "booked"),
                (f"v{n}", "2031-03-01T15:00:00Z", "fulfilled"),
            ):
                await db.execute(
                    "INSERT INTO appointments (resource_id, subject, start, status, description,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, 'x')",
                    (rid, f"mrn:M{n}", start, status, service),
                )
            # Filled 25 days ago, 30 days' supply: runs out in 5 days (inside 7).
            await db.execute(
                "INSERT INTO medications (resource_id, subject, name, status, updated_at, "
                "supply_days, last_filled, authored_on) "
                "VALUES (?, ?, 'Metformin', 'active', 'x', 30, '2031-02-06', '2030-01-01')",
                (f"rx{n}", f"mrn:M{n}"),
            )
    return store


async def run_generate(store: Store) -> list[tuple[str, int, int]]:
    library = load_library()
    results = await generate(
        store, library.worklists, library.preparations, today=TODAY, zone="America/New_York"
    )
    return [(r.list_id, r.candidates, r.added) for r in results]


async def test_generation_for_each_kind_is_idempotent(tmp_path: Path) -> None:
    store = await directory(tmp_path / "s.db")
    try:
        first = await run_generate(store)
        assert first == [
            ("appointment-reminders", 4, 4),
            ("refill-reminders", 4, 4),
            ("visit-feedback", 4, 4),
        ]
        assert [added for *_, added in await run_generate(store)] == [0, 0, 0]
        rows = await store.fetch_all(
            "SELECT patient_id, list_id, reason, script_id, due_until FROM worklist_items"
            " ORDER BY list_id, patient_id"
        )
        assert rows[0] == (
            "p0", "appointment-reminders", "Preparation call: Diabetes review",
            "pre-visit-preparation", "2031-03-04",
        )  # fmt: skip
        assert "\x1b" not in rows[1][2]  # the directory's text is shown plainly
        assert rows[1][3] == "appointment-reminder-confirmation"
        refill = [r for r in rows if r[1] == "refill-reminders"][0]
        assert refill[2:] == (
            "Refill due: supply ends 2031-03-08",
            "medication-refill",
            "2031-03-08",
        )
    finally:
        await store.close()


async def test_an_evening_appointments_reminder_is_due_on_its_local_day(tmp_path: Path) -> None:
    """20:00 in New York is 01:00 the next day in UTC: the reminder's due day is the clinic's
    day of the appointment, never the day after it (it would be offered after the visit)."""
    store = await directory(tmp_path / "s.db", patients=1)
    try:
        async with store.transaction() as db:
            await db.execute(
                "UPDATE appointments SET start = '2031-03-05T01:00:00Z' WHERE resource_id = 'a0'"
            )
        await run_generate(store)
        rows = await store.fetch_all(
            "SELECT due_until FROM worklist_items WHERE list_id = 'appointment-reminders'"
        )
        assert rows == [("2031-03-04",)]
    finally:
        await store.close()


def test_calling_window_across_zones_and_midnight() -> None:
    zones_ny, zones_la = patient_zones([NY], "UTC"), patient_zones([LA], "UTC")
    assert zones_ny == ("America/New_York",)
    start, end = time(8), time(21)
    assert in_window(NOON, zones_ny, start, end)
    assert not in_window(NOON, zones_la, start, end)
    # 01:30 UTC is 20:30 in New York the day before (in), 02:00 UTC is 21:00 (out).
    assert in_window(datetime(2031, 3, 4, 1, 30, tzinfo=UTC), zones_ny, start, end)
    assert not in_window(datetime(2031, 3, 4, 2, 0, tzinfo=UTC), zones_ny, start, end)
    assert patient_zones([], "Europe/London") == ("Europe/London",)


def test_caps_count_the_patients_local_day_and_seven_days() -> None:
    zones = ("America/New_York",)
    # 03:00 UTC on the 3rd was 22:00 on the 2nd in New York: yesterday, not today.
    late_yesterday = datetime(2031, 3, 3, 3, 0, tzinfo=UTC)
    assert cap_blocker([late_yesterday], NOON, zones, 1, 3) is None
    assert cap_blocker([NOON - timedelta(hours=1)], NOON, zones, 1, 3) is Blocker.DAILY_CAP
    week = [NOON - timedelta(days=d) for d in (1, 2, 3)]
    assert cap_blocker(week, NOON, zones, 1, 3) is Blocker.WEEKLY_CAP
    assert cap_blocker([NOON - timedelta(days=8), *week[:2]], NOON, zones, 1, 3) is None


async def test_rules_enforced_on_claim_with_reasons_in_status(tmp_path: Path) -> None:
    store = await directory(tmp_path / "s.db")
    try:
        async with store.transaction() as db:
            await db.execute("DELETE FROM patient_phones WHERE patient_id = 'p3'")
            await db.execute("UPDATE patient_phones SET e164 = ? WHERE patient_id = 'p2'", (LA,))
        worklists = WorklistStore(store, RULES)
        await worklists.opt_out("p1", NOON, "test")
        await run_generate(store)
        claim = await worklists.claim_next("agent", NOON)
        assert claim is not None
        assert claim.patient_id == "p0"
        assert claim.numbers == (NY,)
        # One patient, one call at a time, across lists.
        assert await worklists.claim_next("agent2", NOON) is None
        assert await worklists.record(claim, Outcome.NO_ANSWER, NOON)
        # Called today: the daily cap holds p0's other lists too.
        assert await worklists.claim_next("agent", NOON + timedelta(minutes=30)) is None
        status = summarise(await item_lines(store, worklists, NOON), [])
        reminders = status[0].as_json()
        assert reminders["blocked"] == {
            "daily_cap": 1, "no_number": 1, "opted_out": 1, "outside_window": 1,
        }  # fmt: skip
        # Without a caller ID nothing is offered at all.
        silent = WorklistStore(store, WorklistsConfig())
        assert await silent.claim_next("agent", NOON + timedelta(days=1)) is None
        # An opt-out during the call blocks the patient everywhere, at once.
        tomorrow = NOON + timedelta(days=1)
        again = await worklists.claim_next("agent", tomorrow)
        assert again is not None
        assert again.patient_id == "p0"
        await worklists.record(again, Outcome.OPTED_OUT, tomorrow)
        left = await store.fetch_all(
            "SELECT count(*) FROM worklist_items WHERE patient_id = 'p0' AND state = 'pending'"
        )
        assert left == [(0,)]
    finally:
        await store.close()


async def test_an_expired_claim_returns_and_its_token_is_dead(tmp_path: Path) -> None:
    store = await directory(tmp_path / "s.db", patients=1)
    try:
        await run_generate(store)
        worklists = WorklistStore(store, RULES)
        held = await worklists.claim_next("dead-console", NOON, "appointment-reminders")
        assert held is not None
        later = NOON + timedelta(minutes=RULES.claim_minutes + 1)
        taken = await worklists.claim_next("live-console", later, "appointment-reminders")
        assert taken is not None
        assert taken.item_id == held.item_id
        assert not await worklists.record(held, Outcome.CONFIRMED, later)
        assert await worklists.record(taken, Outcome.CONFIRMED, later)
    finally:
        await store.close()


CLAIMER = textwrap.dedent(
    """
    import asyncio, json, sys
    from datetime import datetime, UTC
    from pathlib import Path
    from console.core.config import WorklistsConfig
    from console.core.store import Store
    from console.core.worklists.store import WorklistStore

    async def main() -> None:
        store = await Store.open(Path(sys.argv[1]))
        worklists = WorklistStore(store, WorklistsConfig(caller_id="+12025550100"))
        now = datetime(2031, 3, 3, 15, 0, tzinfo=UTC)
        got = []
        while (claim := await worklists.claim_next(sys.argv[2], now)) is not None:
            got.append(claim.item_id)
        await store.close()
        print(json.dumps(got))

    asyncio.run(main())
    """
)


async def test_two_processes_never_claim_one_item(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = await directory(path, patients=30)
    try:
        await run_generate(store)
    finally:
        await store.close()
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", CLAIMER, str(path), name, cwd=ROOT, stdout=subprocess.PIPE
        )
        for name in ("one", "two")
    ]
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 120)
    claimed = [item for out, _ in outputs for item in json.loads(out)]
    # One item per patient at a time: 30 patients, 30 claims, none twice.
    assert len(claimed) == 30
    assert len(set(claimed)) == 30


def test_cli_generate_status_export_and_exit_codes(tmp_path: Path) -> None:
    assert careline("worklist", "generate", "--list", "nope").returncode == 2
    made = careline("worklist", "generate", "--date", "2031-03-03")
    assert made.returncode == 0, made.stderr
    assert made.stdout.splitlines()[0] == "appointment-reminders: 0 added (0 candidates)"
    status = careline("worklist", "status", "--json")
    assert status.returncode == 0
    assert [entry["list"] for entry in json.loads(status.stdout)["lists"]] == [
        "appointment-reminders", "refill-reminders", "visit-feedback",
    ]  # fmt: skip
    export = careline("worklist", "export")
    assert export.stdout.splitlines() == [
        "item_id,list_id,kind,state,due_from,due_until,attempts,max_attempts,outcome,"
        "blocked_by,blocked_why"
    ]
    bad = tmp_path / "lib"
    (bad / "w").mkdir(parents=True)
    (bad / "w" / "x.yaml").write_text("kind: worklist\nid: x\n", "utf-8")
    config = tmp_path / "c.yaml"
    config.write_text(f"guidance:\n  scripts: {bad}\n", "utf-8")
    broken = careline("--config", str(config), "worklist", "generate")
    assert broken.returncode == 1
    assert "x.yaml:1" in broken.stderr


def test_fhir_dispense_request_gives_the_prediction_inputs() -> None:
    from console.core.patients.fhir_clinical import LAST_FILL_URL, clinical_from_fhir
    from console.core.patients.records import MedicationRecord

    resource = {
        "resourceType": "MedicationRequest",
        "id": "rx1",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "Metformin"},
        "extension": [{"url": LAST_FILL_URL, "valueDate": "2031-02-06"}],
        "dispenseRequest": {
            "quantity": {"value": 60},
            "expectedSupplyDuration": {"value": 4, "code": "wk"},
            "numberOfRepeatsAllowed": 2,
        },
    }
    record = clinical_from_fhir(resource)
    assert isinstance(record, MedicationRecord)
    assert (record.quantity, record.supply_days, record.last_filled) == (60.0, 28, "2031-02-06")
    # Hostile or odd values leave the prediction unknown instead of failing the row.
    resource["dispenseRequest"] = {
        "quantity": {"value": True},
        "expectedSupplyDuration": {"value": 1e12, "code": "d"},
    }
    resource["extension"] = [{"url": LAST_FILL_URL, "valueDate": "yesterday"}]
    odd = clinical_from_fhir(resource)
    assert isinstance(odd, MedicationRecord)
    assert (odd.quantity, odd.supply_days, odd.last_filled) == (None, None, None)


@asynccontextmanager
async def generated(path: Path, patients: int) -> AsyncIterator[tuple[Store, WorklistStore]]:
    """A :func:`directory` store with today's lists generated, and its claims."""
    store = await directory(path, patients)
    try:
        await run_generate(store)
        yield store, WorklistStore(store, RULES)
    finally:
        await store.close()


async def reminder_states(store: Store) -> list[tuple[object, ...]]:
    """(state, block reason) of each appointment reminder."""
    return await store.fetch_all(
        "SELECT state, block_reason FROM worklist_items WHERE list_id = ?",
        ("appointment-reminders",),
    )


AFTER = datetime(2031, 3, 5, 15, 0, tzinfo=UTC)
"""10:00 on the 5th in New York: the day after the appointments of the 4th."""


async def test_an_item_is_never_offered_after_its_due_day_and_status_says_why(
    tmp_path: Path,
) -> None:
    """A reminder for the appointment of the 4th is not called on the 5th: the item is
    closed as expired (lasting), and ``status`` and ``export`` say so."""
    async with generated(tmp_path / "s.db", 2) as (store, worklists):
        # 23:30 on the 4th in New York: still the due day (but outside the window).
        late = datetime(2031, 3, 5, 4, 30, tzinfo=UTC)
        lines = await item_lines(store, worklists, late)
        assert {line.blocked_by for line in lines if line.list_id == "appointment-reminders"} == {
            "outside_window"
        }
        assert await worklists.claim_next("agent", AFTER, "appointment-reminders") is None
        assert await reminder_states(store) == [("blocked", "expired")] * 2
        # The other lists are still due (the refill until the 8th).
        assert await worklists.claim_next("agent", AFTER, "refill-reminders") is not None
        lines = await item_lines(store, worklists, AFTER)
        reminders = next(s for s in summarise(lines, []) if s.list_id == "appointment-reminders")
        assert reminders.as_json()["blocked"] == {"expired": 2}
        line = next(x for x in lines if x.blocked_by)
        assert line.blocked_why == Blocker.EXPIRED.words


async def test_a_retry_or_a_lapsed_claim_past_the_due_day_is_not_offered(tmp_path: Path) -> None:
    async with generated(tmp_path / "s.db", 2) as (store, worklists):
        busy = await worklists.claim_next("agent", NOON, "appointment-reminders")
        held = await worklists.claim_next("dead-console", NOON, "appointment-reminders")
        assert busy is not None
        assert held is not None
        assert await worklists.record(busy, Outcome.BUSY, NOON)  # retried later...
        # ...but not after the appointment's day, nor is the dead console's item.
        assert await worklists.claim_next("agent", AFTER, "appointment-reminders") is None
        assert await reminder_states(store) == [("blocked", "expired")] * 2


async def test_a_hostile_due_date_in_the_store_is_never_offered(tmp_path: Path) -> None:
    """The store is a file: a due date that is not one cannot say the item is still due."""
    async with generated(tmp_path / "s.db", 3) as (store, worklists):
        async with store.transaction() as db:
            for patient, due in (("p0", ""), ("p1", "2031-13-45"), ("p2", "\x1b[2J; DROP")):
                await db.execute(
                    "UPDATE worklist_items SET due_until = ? WHERE patient_id = ? "
                    "AND list_id = 'appointment-reminders'",
                    (due, patient),
                )
        assert await worklists.claim_next("agent", NOON, "appointment-reminders") is None
        assert await reminder_states(store) == [("blocked", "expired")] * 3


def test_the_due_day_ends_at_the_earliest_local_midnight_of_the_patients_zones() -> None:
    from console.core.worklists.calling import due_ended

    ny, la = ("America/New_York",), ("America/Los_Angeles",)
    # 05:00 UTC on the 5th: midnight in New York, 21:00 on the 4th in Los Angeles.
    at = datetime(2031, 3, 5, 5, 0, tzinfo=UTC)
    assert due_ended("2031-03-04", at, ny)
    assert not due_ended("2031-03-04", at - timedelta(seconds=1), ny)
    assert not due_ended("2031-03-04", at, la)
    assert due_ended("2031-03-04", at, ny + la)  # over in one of them: over
    assert not due_ended("2031-03-05", at, ny)
    for hostile in ("", "tomorrow", "2031-02-30", "9999-12-31x", "\x00"):
        assert due_ended(hostile, at, ny)


def test_cli_status_says_an_item_past_its_day_is_expired(tmp_path: Path) -> None:
    path = tmp_path / "s.db"

    async def past_due() -> None:
        async with generated(path, 1) as (store, _), store.transaction() as db:
            await db.execute(
                "UPDATE worklist_items SET due_until = '2000-01-01' "
                "WHERE list_id = 'appointment-reminders'"
            )

    asyncio.run(past_due())
    env = {"CARELINE_STORE__PATH": str(path)}
    shown = careline("worklist", "status", env=env)
    assert shown.returncode == 0, shown.stderr
    assert f"  blocked expired: 1 ({Blocker.EXPIRED.words})" in shown.stdout.splitlines()
    items = json.loads(careline("worklist", "status", "--json", env=env).stdout)["items"]
    expired = [i for i in items if i["list"] == "appointment-reminders"]
    assert [(i["state"], i["blocked_by"]) for i in expired] == [("pending", "expired")]
