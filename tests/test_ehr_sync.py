# SPDX-License-Identifier: GPL-2.0-or-later
# size: one feature against two real servers (FHIR, PostgreSQL), sharing fixtures
"""``careline patients sync`` against a real FHIR R4 server (sekmet-fhir on 127.0.0.1,
SMART Backend Services sign-in) and, for ``--hub``, the real PostgreSQL hub.

A first run reads everything, a second only what changed; pages follow the
server's next links; a process killed mid-sync, a server that stops, answers
500 or times out, all go on from the last committed page with nothing lost
and nothing read twice; a resource careline cannot read is rejected with a
reason and no patient data; tokens are refreshed on the way. Through the hub,
one sync feeds two consoles' stores by their normal pull.

Faults the real server will not produce on demand (a 500, a timeout) come from
a transport wrapped around the real one: every other request reaches sekmet.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from console.core.config import EhrConfig
from console.core.ehr.auth import load_signing_key
from console.core.ehr.client import FhirClient
from console.core.ehr.directory_sync import (
    SYNCED_TYPES,
    DirectorySink,
    DirectorySync,
    LocalDirectorySink,
    SyncReport,
)
from console.core.patients.directory import PatientDirectory
from console.core.store import Store
from console.hub.ehr_sync import HubDirectorySink
from console.hub.sync import SyncWorker, hub_connector
from tests.careline_cli import careline
from tests.ehr_console import ehr_config as linked_config
from tests.fhir_server import FhirServer, put_resources, seed_directory, transaction
from tests.pg import Hub
from tests.support import ROOT

TABLES = {
    "Patient": "patients",
    "PractitionerRole": "practitioner_roles",
    "MedicationRequest": "medications",
    "Appointment": "appointments",
}
"""The local table each synced type lands in (CareTeam: one row per member)."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FhirServer]:
    with FhirServer(tmp_path / "ehr", smart=True) as running:
        yield running


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "careline.sqlite3")
    yield opened
    await opened.close()


def ehr_config(server: FhirServer, **fields: Any) -> EhrConfig:
    """The EHR link a sync uses: read and search scopes only."""
    return linked_config(server, **({"scopes": "system/*.rs"} | fields))


class FaultyTransport(httpx.AsyncBaseTransport):
    """The real transport, except that search request number ``fail_at`` (counting FHIR
    searches only, from 1) gets ``fault`` instead: a 500 answer or a timeout."""

    def __init__(self, fail_at: int, fault: str) -> None:
        self._real = httpx.AsyncHTTPTransport()
        self._fail_at = fail_at
        self._fault = fault
        self.searches = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if (
            request.method == "GET"
            and "/fhir/" in request.url.path
            and "well-known" not in (request.url.path)
        ):
            self.searches += 1
            if self.searches == self._fail_at:
                if self._fault == "timeout":
                    raise httpx.ReadTimeout("injected", request=request)
                return httpx.Response(500, json={"resourceType": "OperationOutcome"})
        return await self._real.handle_async_request(request)

    async def aclose(self) -> None:
        await self._real.aclose()


async def sync_into(
    store: Store,
    server: FhirServer,
    *,
    page_size: int = 25,
    overlap: timedelta = timedelta(seconds=60),
    transport: httpx.AsyncBaseTransport | None = None,
    after_page: Callable[[str, int], None] | None = None,
    config: EhrConfig | None = None,
) -> tuple[SyncReport, LocalDirectorySink]:
    settings = config or ehr_config(server)
    client = FhirClient(settings, load_signing_key(settings), transport=transport)
    sink = LocalDirectorySink(store)
    try:
        report = await DirectorySync(
            client,
            sink,
            region="US",
            page_size=page_size,
            overlap=overlap,
            after_page=after_page,
        ).run()
    finally:
        await client.aclose()
    return report, sink


def read(report: SyncReport) -> dict[str, int]:
    return {part.resource_type: part.fetched for part in report.types}


async def rows(store: Store, table: str) -> int:
    return int((await store.fetch_all(f"SELECT count(*) FROM {table}"))[0][0])  # noqa: S608


async def care_team_count(store: Store) -> int:
    found = await store.fetch_all("SELECT count(DISTINCT resource_id) FROM care_team_members")
    return int(found[0][0])


async def local_counts(store: Store) -> dict[str, int]:
    counts = {kind: await rows(store, table) for kind, table in TABLES.items()}
    counts["CareTeam"] = await care_team_count(store)
    return counts


def patient(mrn: str, family: str, phone: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:careline:test:mrn", "value": mrn}],
        "name": [{"family": family, "given": ["Test"]}],
        "birthDate": "1970-05-06",
        "telecom": [{"system": "phone", "value": phone}],
        **fields,
    }


# -- first run, second run, paging ---------------------------------------------------


async def test_a_first_sync_reads_everything_into_the_directory(
    server: FhirServer, store: Store
) -> None:
    seeded = seed_directory(server, 60)

    report, sink = await sync_into(store, server)

    assert report.failure is None
    assert read(report) == {kind: seeded[kind] for kind in SYNCED_TYPES}
    assert all(part.done and part.since is None for part in report.types)
    assert report.rejected == 0
    assert await local_counts(store) == {kind: seeded[kind] for kind in SYNCED_TYPES}
    assert (sink.summary.imported, sink.summary.updated) == (60, 0)
    # The directory answers a caller's number from what the EHR holds.
    some = await store.fetch_all("SELECT e164 FROM patient_phones LIMIT 1")
    assert await PatientDirectory(store, "US").find_by_phone(str(some[0][0]))


async def test_a_second_run_reads_only_what_changed(server: FhirServer, store: Store) -> None:
    seed_directory(server, 30)
    first, _ = await sync_into(store, server, overlap=timedelta(0))
    assert first.failure is None
    ids = [r[0] for r in await store.fetch_all("SELECT fhir_id FROM patients ORDER BY mrn")]
    with server.client() as http:
        changed = http.get(f"Patient/{ids[0]}").json()
    changed["name"] = [{"family": "Renamed", "given": ["Test"]}]
    put_resources(server, [changed])
    transaction(server, [("urn:uuid:1", patient("MRN-NEW-1", "Newcomer", "+12025550199"))])

    second, sink = await sync_into(store, server, overlap=timedelta(0))

    assert second.failure is None
    assert read(second) == {"Patient": 2} | dict.fromkeys(SYNCED_TYPES[1:], 0)
    assert all(part.since is not None for part in second.types)
    assert (sink.summary.imported, sink.summary.updated) == (1, 1)
    assert await rows(store, "patients") == 31
    renamed = await store.fetch_all("SELECT family_name FROM patients WHERE fhir_id = ?", ids[:1])
    assert renamed == [("Renamed",)]


async def test_an_overlapping_run_reads_again_but_doubles_nothing(
    server: FhirServer, store: Store
) -> None:
    seeded = seed_directory(server, 20)
    await sync_into(store, server)

    again, sink = await sync_into(store, server)  # within the minute of overlap

    assert read(again) == {kind: seeded[kind] for kind in SYNCED_TYPES}
    assert (sink.summary.imported, sink.summary.updated) == (0, 20)
    assert await local_counts(store) == {kind: seeded[kind] for kind in SYNCED_TYPES}


async def test_paging_follows_the_next_links_over_many_pages(
    server: FhirServer, store: Store
) -> None:
    seeded = seed_directory(server, 100)

    report, _ = await sync_into(store, server, page_size=7)

    patients = report.types[0]
    assert (patients.resource_type, patients.fetched) == ("Patient", 100)
    assert patients.pages == 15  # 14 full pages of 7 and one of 2
    assert await local_counts(store) == {kind: seeded[kind] for kind in SYNCED_TYPES}


# -- crashes and failures: nothing lost, nothing read twice ----------------------------

KILLER = """
import os, signal, sys
from console.core.ehr import directory_sync
commit = directory_sync.LocalDirectorySink.commit
calls = []
async def dying_commit(self, kind, page, cursor):
    calls.append(kind)
    if calls.count("Patient") == int(os.environ["KILL_AT_PAGE"]):
        os.kill(os.getpid(), signal.SIGKILL)  # the page is read, not yet written
    await commit(self, kind, page, cursor)
directory_sync.LocalDirectorySink.commit = dying_commit
from console.cli import main
sys.exit(main(sys.argv[1:]))
"""


def write_config(tmp_path: Path, server: FhirServer, **ehr: Any) -> Path:
    settings = {
        "base_url": server.base_url,
        "client_id": server.client_id,
        "private_key_file": str(server.private_key_path),
        "algorithm": server.algorithm,
        "scopes": "system/*.rs",
        "timeout": 5.0,
        "connect_timeout": 1.0,
    }
    path = tmp_path / "careline.yaml"
    document = {"store": {"path": str(tmp_path / "cli.sqlite3")}, "ehr": settings | ehr}
    path.write_text(yaml.safe_dump(document), "utf-8")
    return path


def sync_state(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT key, value FROM sync_state").fetchall())


def test_a_sync_killed_mid_run_goes_on_from_the_last_committed_page(
    server: FhirServer, tmp_path: Path
) -> None:
    seeded = seed_directory(server, 90)
    config = write_config(tmp_path, server)
    argv = ["--config", str(config), "patients", "sync", "--page-size", "10"]

    killed = subprocess.run(
        [sys.executable, "-c", KILLER, *argv],
        cwd=ROOT,
        env={**os.environ, "KILL_AT_PAGE": "4"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert killed.returncode == -9, killed.stderr
    store_path = tmp_path / "cli.sqlite3"
    state = sync_state(store_path)
    run = json.loads(state["ehr_run:Patient"])
    assert (run["pages"], run["fetched"], run["since"]) == (3, 30, None)
    assert "ehr_since:Patient" not in state
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT count(*) FROM patients").fetchone() == (30,)

    resumed = careline(*argv)

    assert resumed.returncode == 0, resumed.stderr
    assert "Patient: 60 read (everything; went on with an unfinished run)" in resumed.stdout
    state = sync_state(store_path)
    assert "ehr_run:Patient" not in state
    assert state["ehr_since:Patient"] == run["next_since"]  # the first run's start, kept
    with sqlite3.connect(store_path) as db:
        assert db.execute("SELECT count(*) FROM patients").fetchone() == (90,)
        # Every MRN the EHR holds, once: 30 pages' worth before the kill, 60 after.
        assert db.execute("SELECT count(DISTINCT mrn) FROM patients").fetchone() == (90,)
        appointments = db.execute("SELECT count(*) FROM appointments").fetchone()
    assert appointments == (seeded["Appointment"],)


@pytest.mark.parametrize("fault", ["500", "timeout"])
async def test_a_failing_server_stops_the_run_and_the_next_one_goes_on(
    server: FhirServer, store: Store, fault: str
) -> None:
    seed_directory(server, 50)
    transport = FaultyTransport(fail_at=3, fault=fault)

    failed, _ = await sync_into(store, server, page_size=10, transport=transport)

    assert failed.failure == "unavailable"
    expected = "HTTP 500" if fault == "500" else "did not answer in time"
    assert expected in (failed.stopped or "")
    assert read(failed)["Patient"] == 20
    assert [part.resource_type for part in failed.types] == ["Patient"]  # the run stopped

    resumed, _ = await sync_into(store, server, page_size=10)

    assert resumed.failure is None
    assert resumed.types[0].resumed
    assert read(resumed)["Patient"] == 30
    assert await rows(store, "patients") == 50


async def test_a_server_that_stops_mid_run_is_reported_and_resumed_once_back(
    server: FhirServer, store: Store
) -> None:
    seed_directory(server, 40)

    def stop_the_server(kind: str, pages: int) -> None:
        if (kind, pages) == ("Patient", 2):
            server.kill()

    stopped, _ = await sync_into(store, server, page_size=10, after_page=stop_the_server)

    assert stopped.failure == "unavailable"
    assert "cannot be reached" in (stopped.stopped or "")
    # Pages 1 and 2, and page 3 if it was already on its way when the server went.
    before = await rows(store, "patients")
    assert before in (20, 30)
    assert read(stopped)["Patient"] == before
    server.start()

    resumed, _ = await sync_into(store, server, page_size=10)

    assert resumed.failure is None
    assert read(resumed)["Patient"] == 40 - before
    assert await rows(store, "patients") == 40


async def test_an_expired_next_link_reads_the_run_again_from_its_start(
    server: FhirServer, store: Store
) -> None:
    seed_directory(server, 30)
    transport = FaultyTransport(fail_at=3, fault="500")
    await sync_into(store, server, page_size=10, transport=transport)
    async with store.transaction() as db:
        cursor = await db.execute("SELECT value FROM sync_state WHERE key = 'ehr_run:Patient'")
        state = json.loads((await cursor.fetchone() or ("{}",))[0])
        state["next_url"] = state["next_url"].replace("_count=10", "_count=abc")
        await db.execute(
            "UPDATE sync_state SET value = ? WHERE key = 'ehr_run:Patient'", (json.dumps(state),)
        )

    again, _ = await sync_into(store, server, page_size=10)

    assert again.failure is None
    assert again.types[0].restarted
    assert read(again)["Patient"] == 30
    assert await rows(store, "patients") == 30


# -- bad resources, sign-in, tokens --------------------------------------------------


async def test_malformed_resources_are_rejected_with_a_reason_and_no_patient_data(
    server: FhirServer, store: Store
) -> None:
    good = [patient(f"MRN-GOOD-{n}", "Goodwin", f"+1202555017{n}") for n in range(3)]
    no_mrn = patient("x", "Secretname", "+12025550150")
    del no_mrn["identifier"]
    bad_phone = patient("MRN-BAD-PHONE", "Secretname", "call the neighbour")
    ids = transaction(server, [(f"urn:uuid:p{n}", r) for n, r in enumerate([*good, no_mrn])])
    transaction(server, [("urn:uuid:b", bad_phone)])
    nameless_drug = {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{ids[0]}"},
        "medicationCodeableConcept": {"coding": [{"system": "urn:x", "code": "123"}]},
    }
    transaction(server, [("urn:uuid:m", nameless_drug)])

    report, sink = await sync_into(store, server)

    assert report.failure is None
    assert report.rejected == 3
    reasons = sorted(rejection.reason for rejection in report.rejections)
    assert reasons == [
        "MedicationRequest names no medication (text or display)",
        "missing MRN (no identifier)",
        "unparseable phone number (telecom 0)",
    ]
    text = "\n".join(map(str, report.rejections))
    assert "Secretname" not in text
    assert "neighbour" not in text
    assert not any(resource_id in text for resource_id in ids)
    assert all(str(r).startswith("EHR: ") and " page 1 entry " in str(r) for r in report.rejections)
    assert sink.summary.imported == 3  # the rest went on


async def test_a_refused_sign_in_stops_the_run_in_words(
    server: FhirServer, store: Store, tmp_path: Path
) -> None:
    seed_directory(server, 5)
    stranger = tmp_path / "stranger.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    stranger.chmod(0o600)

    report, _ = await sync_into(store, server, config=ehr_config(server, private_key_file=stranger))

    assert report.failure == "sign-in"
    assert "refused careline's sign-in" in (report.stopped or "")
    assert await rows(store, "patients") == 0


async def test_tokens_are_refreshed_during_a_long_sync(tmp_path: Path, store: Store) -> None:
    with FhirServer(tmp_path / "short", smart=True, token_lifetime=2) as server:
        seed_directory(server, 40)
        settings = ehr_config(server)
        client = FhirClient(settings, load_signing_key(settings))

        def slowly(kind: str, pages: int) -> None:
            del kind, pages
            time.sleep(0.35)  # the run outlives its first token (refreshed after 1 s)

        try:
            report = await DirectorySync(
                client, LocalDirectorySink(store), region="US", page_size=10, after_page=slowly
            ).run()
        finally:
            await client.aclose()

    assert report.failure is None
    assert read(report)["Patient"] == 40
    assert client.auth.tokens_fetched >= 2


# -- the hub: one sync feeds every console ---------------------------------------------


class CrashError(Exception):
    """The syncing host dies."""


async def hub_sync(hub: Hub, server: FhirServer, **options: Any) -> SyncReport:
    settings = ehr_config(server)
    client = FhirClient(settings, load_signing_key(settings))
    try:
        async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
            sink: DirectorySink = HubDirectorySink(conn)
            return await DirectorySync(client, sink, region="US", **options).run()
    finally:
        await client.aclose()


async def hub_scalar(hub: Hub, query: str) -> Any:
    async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
        cur = await conn.execute(query)
        row = await cur.fetchone()
    return row[0] if row else None


async def test_one_hub_sync_feeds_two_consoles_through_their_pull(
    server: FhirServer, hub: Hub, tmp_path: Path
) -> None:
    seeded = seed_directory(server, 40)

    def crash(kind: str, pages: int) -> None:
        if (kind, pages) == ("Patient", 2):
            raise CrashError

    with pytest.raises(CrashError):
        await hub_sync(hub, server, page_size=10, after_page=crash)
    assert await hub_scalar(hub, "SELECT count(*) FROM careline.patients") == 20
    run = await hub_scalar(hub, "SELECT run FROM careline.ehr_sync WHERE resource_type = 'Patient'")
    assert (run["pages"], run["fetched"]) == (2, 20)

    # Another host (a new connection, nothing in memory) goes on from the hub's cursor.
    report = await hub_sync(hub, server, page_size=10)

    assert report.failure is None
    assert report.types[0].resumed
    assert report.types[0].fetched == 20
    total = sum(seeded[kind] for kind in SYNCED_TYPES)
    assert await hub_scalar(hub, "SELECT count(*) FROM careline.patients") == total
    assert await hub_scalar(hub, "SELECT count(*) FROM careline.ehr_sync WHERE run IS NULL") == 5

    consoles = []
    for name in ("alice", "bob"):
        store = await Store.open(tmp_path / f"{name}.sqlite3")
        worker = SyncWorker(store, hub_connector(hub.add_agent(name)), region="US")
        pulled = await worker.pull()
        await worker.close()
        consoles.append((pulled, await local_counts(store)))
        await store.close()
    expected = {kind: seeded[kind] for kind in SYNCED_TYPES}
    assert consoles == [(total, expected), (total, expected)]

    # A run that finds nothing new moves no seq: the consoles have nothing to pull again.
    last = await hub_scalar(hub, "SELECT max(seq) FROM careline.patients")
    again = await hub_sync(hub, server, page_size=10)
    assert again.fetched == total  # read again within the overlap…
    assert await hub_scalar(hub, "SELECT max(seq) FROM careline.patients") == last  # …unchanged


async def test_an_agent_login_may_not_sync_into_the_hub(server: FhirServer, hub: Hub) -> None:
    seed_directory(server, 3)
    settings = ehr_config(server)
    client = FhirClient(settings, load_signing_key(settings))
    try:
        async with await psycopg.AsyncConnection.connect(hub.add_agent("mallory")) as conn:
            report = await DirectorySync(client, HubDirectorySink(conn), region="US").run()
    finally:
        await client.aclose()
    assert report.failure == "store"
    assert "only the hub's owner" in (report.stopped or "")
    assert await hub_scalar(hub, "SELECT count(*) FROM careline.patients") == 0


# -- the command line ------------------------------------------------------------------


def test_the_command_line_reports_each_run_and_its_exit_code(
    server: FhirServer, tmp_path: Path
) -> None:
    seeded = seed_directory(server, 12)
    transaction(server, [("urn:uuid:x", patient("MRN-X", "Xavier", "not a number at all"))])
    config = write_config(tmp_path, server)

    first = careline("--config", str(config), "patients", "sync")

    assert first.returncode == 1, first.stderr  # one rejected, the rest written
    lines = first.stdout.splitlines()
    assert lines[0].startswith(
        f"EHR sync into the local store: {sum(seeded.values()) + 1} resources read in "
    )
    assert lines[0].endswith(", 1 rejected")
    assert "  Patient: 13 read (everything), 1 rejected" in lines
    assert "  rejected: EHR: Patient page 1 entry " in first.stdout
    assert "Xavier" not in first.stdout + first.stderr
    assert (
        f"  directory: 12 patients new, 0 updated; {seeded['PractitionerRole']} practitioner "
        f"roles, {seeded['CareTeam']} care teams, {seeded['MedicationRequest']} medications, "
        f"{seeded['Appointment']} appointments"
    ) in lines
    assert first.stderr == ""  # not a terminal: no progress line

    second = careline("--config", str(config), "patients", "sync")
    assert second.returncode == 1
    assert "  Patient: 13 read (changed since " in second.stdout

    server.stop()
    down = careline("--config", str(config), "patients", "sync")
    assert down.returncode == 3
    assert down.stderr.count("\n") == 1
    assert "The EHR cannot be reached" in down.stderr
    assert "run `careline patients sync` again" in down.stderr


def test_the_command_line_refuses_what_it_cannot_do(server: FhirServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, server)
    helped = careline("patients", "sync", "--help")
    assert helped.returncode == 0
    assert "Exit status: 0 everything" in " ".join(helped.stdout.split())

    bare = tmp_path / "bare.yaml"
    bare.write_text("store: {}\n", "utf-8")
    unlinked = careline("--config", str(bare), "patients", "sync")
    assert (unlinked.returncode, unlinked.stdout) == (2, "")
    assert "no EHR link is configured" in unlinked.stderr

    no_dsn = careline("--config", str(config), "patients", "sync", "--hub")
    assert no_dsn.returncode == 2
    assert "--hub needs --dsn" in no_dsn.stderr

    stranger = tmp_path / "stranger.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stranger.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    stranger.chmod(0o600)
    refused = careline(
        "--config",
        str(write_config(tmp_path, server, private_key_file=str(stranger))),
        "patients",
        "sync",
    )
    assert refused.returncode == 4
    assert "refused careline's sign-in" in refused.stderr


def test_the_command_line_syncs_into_the_hub(server: FhirServer, hub: Hub, tmp_path: Path) -> None:
    seeded = seed_directory(server, 8)
    config = write_config(tmp_path, server)
    password = tmp_path / "owner.pw"
    password.write_text(hub.cluster.superuser_password + "\n", "utf-8")
    password.chmod(0o600)
    dsn = hub.cluster.dsn(hub.cluster.superuser, dbname=hub.dbname)

    done = careline(
        "--config",
        str(config),
        "patients",
        "sync",
        "--hub",
        "--dsn",
        dsn,
        "--password-file",
        str(password),
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("EHR sync into the hub: ")
    assert "consoles get them with their next directory pull" in done.stdout
    total = sum(seeded[kind] for kind in SYNCED_TYPES)
    assert asyncio.run(hub_scalar(hub, "SELECT count(*) FROM careline.patients")) == total


def test_a_terminal_gets_a_progress_line_that_is_cleared_before_the_report(
    server: FhirServer, tmp_path: Path
) -> None:
    seed_directory(server, 30)
    config = write_config(tmp_path, server)
    controller, terminal = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "console", "--config", str(config), "patients", "sync"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=terminal,
            text=True,
            timeout=60,
            check=False,
        )
        os.close(terminal)
        drawn = b""
        while chunk := _read_available(controller):
            drawn += chunk
    finally:
        os.close(controller)

    assert done.returncode == 0
    text = drawn.decode()
    assert "\r\x1b[KEHR sync: Patient 30" in text
    assert "/s" in text
    assert text.endswith("\r\x1b[K")  # cleared: the report on stdout stands alone
    assert done.stdout.startswith("EHR sync into the local store: ")


def _read_available(fd: int) -> bytes:
    try:
        return os.read(fd, 65536)
    except OSError:  # the terminal's other end is closed: all of it was read
        return b""
