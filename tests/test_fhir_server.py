# SPDX-License-Identifier: GPL-2.0-or-later
"""The FHIR test server helper (tests/fhir_server.py) against the real sekmet-fhir."""

from __future__ import annotations

import signal
import socket
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.fhir_server import MRN_SYSTEM, Algorithm, FhirServer, seed_patient, seed_schedule
from tests.kamailio import live_group_members

LISTEN = "0A"
"""The LISTEN state in /proc/net/tcp*."""


def _address(hex_address: str) -> str:
    """An address as /proc/net/tcp* writes it (32-bit words in host order, little-endian
    here) in its usual notation."""
    raw = b"".join(
        bytes.fromhex(hex_address[i : i + 8])[::-1] for i in range(0, len(hex_address), 8)
    )
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def listening_addresses(port: int) -> list[str]:
    """The local addresses with a TCP socket listening on ``port``, IPv4 and IPv6."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, _remote, state = line.split()[1:4]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == LISTEN:
                found.append(_address(address))
    return found


def gone(pid: int) -> bool:
    """No process (nor one of its process group) runs as ``pid`` any more."""
    return not Path(f"/proc/{pid}").exists() and live_group_members(pid) == []


def test_it_serves_fhir_r4_on_loopback_only_with_links_on_its_own_port() -> None:
    with FhirServer() as server:
        listeners = listening_addresses(server.port)
        with server.client() as http:
            metadata = http.get("metadata")
            created = http.post(
                "Patient",
                content=b'{"resourceType": "Patient", "name": [{"family": "Lopez"}]}',
                headers={"Content-Type": "application/fhir+json"},
            )
    assert listeners == ["127.0.0.1"]
    assert metadata.status_code == 200
    assert metadata.json()["fhirVersion"] == "4.0.1"
    # sekmet builds Location from base_url, not from the port it listens on.
    assert created.status_code == 201
    assert created.headers["Location"].startswith(f"{server.base_url}/Patient/")
    assert not server.dir.exists(), "the temporary directory it made outlived the with block"


def test_seeded_slots_are_free_and_found_by_a_strict_search(tmp_path: Path) -> None:
    start = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
    with FhirServer(tmp_path) as server:
        ids = seed_schedule(server, "Ines Moreau", "Clinic A", "Diabetes follow-up", start, 4, 20)
        patient_id = seed_patient(
            server, "Maria Lopez", "DEMO-0001", date(1961, 3, 9), "+12025550142"
        )
        schedule = f"Schedule/{ids['Schedule']}"
        with server.client() as http:
            found = http.get(
                "Slot", params={"status": "free", "schedule": schedule, "_sort": "start"}
            )
            misspelt = http.get("Slot", params={"statuz": "free", "schedule": schedule})
            actors = http.get(schedule).json()["actor"]
            patient = http.get(f"Patient/{patient_id}").json()
    assert found.status_code == 200, found.text
    slots = [entry["resource"] for entry in found.json()["entry"]]
    assert [slot["id"] for slot in slots] == ids["Slot"]
    assert [datetime.fromisoformat(slot["start"]) for slot in slots] == [
        start + timedelta(minutes=20 * i) for i in range(4)
    ]
    assert {slot["status"] for slot in slots} == {"free"}
    # Under Prefer: handling=strict an unknown parameter is an error, not "match all".
    assert misspelt.status_code == 400
    assert [actor["reference"] for actor in actors] == [
        f"Practitioner/{ids['Practitioner']}",
        f"Location/{ids['Location']}",
    ]
    assert patient["identifier"][0]["system"] == MRN_SYSTEM
    assert patient["identifier"][0]["value"] == "DEMO-0001"
    assert patient["birthDate"] == "1961-03-09"
    assert patient["telecom"][0]["value"] == "+12025550142"


@pytest.mark.parametrize("algorithm", ["RS384", "ES384"])
def test_with_smart_a_request_needs_a_token_from_the_registered_key(
    tmp_path: Path, algorithm: Algorithm
) -> None:
    with FhirServer(tmp_path, smart=True, algorithm=algorithm, token_lifetime=30) as server:
        granted = server.request_token().json()
        # The seeding helpers get a token themselves.
        patient_id = seed_patient(
            server, "James Okafor", "DEMO-0002", date(1975, 1, 2), "+15550100"
        )
        with server.client(authorised=False) as anonymous:
            refused = anonymous.get(f"Patient/{patient_id}")
            metadata = anonymous.get("metadata")
        with server.client() as http:
            allowed = http.get(f"Patient/{patient_id}")
        key_mode = stat.S_IMODE(server.private_key_path.stat().st_mode)
        key = serialization.load_pem_private_key(server.private_key_path.read_bytes(), None)
    assert granted["expires_in"] == 30
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    assert metadata.status_code == 200
    assert allowed.status_code == 200, allowed.text
    assert key_mode == 0o600
    if algorithm == "RS384":
        assert isinstance(key, rsa.RSAPrivateKey)
        assert key.key_size == 2048
    else:
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert key.curve.name == "secp384r1"


def test_killed_or_stopped_it_leaves_no_process_and_comes_back_with_its_data(
    tmp_path: Path,
) -> None:
    server = FhirServer(tmp_path)
    server.start()
    try:
        patient_id = seed_patient(
            server, "Grace Lindqvist", "DEMO-0003", date(1990, 5, 6), "+15550101"
        )
        first = server.pid
        assert first is not None
        server.kill()
        assert server.pid is None
        assert gone(first)
        server.start()
        second = server.pid
        assert second is not None
        with server.client() as http:
            again = http.get(f"Patient/{patient_id}")
        assert again.status_code == 200
        # Gone on SIGTERM (uvicorn raises it again once shut down), not on the SIGKILL fallback.
        assert server.stop() == -signal.SIGTERM
        assert gone(second)
        assert server.stop() is None
        server.kill()
    finally:
        server.stop()


def test_a_missing_server_fails_the_test_and_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARELINE_SEKMET", str(tmp_path / "nowhere" / "sekmet"))
    with pytest.raises(pytest.fail.Exception, match="make fhir-server"):
        FhirServer(tmp_path)
