# SPDX-License-Identifier: GPL-2.0-or-later
"""Refill requests against a broken or hostile EHR: a clear error, nothing written twice.

An in-process fake EHR (httpx.MockTransport, SMART sign-in from tests/test_ehr_hostile.py)
keeps the Tasks it was asked to create, so that it can write one and then answer 500,
time out, or answer something that is not a Task; the real server (sekmet-fhir) is
stopped in the middle of a request in the last test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from console.core.ehr.client import FhirClient
from console.core.ehr.errors import EhrUnavailableError, MalformedResourceError
from console.core.ehr.fhir_refills import REFILL_SYSTEM, FhirRefills
from console.core.ehr.refills import Prescription
from tests.ehr_console import ehr_config
from tests.fhir_server import FhirServer, seed_patient, seed_prescriptions
from tests.test_ehr_hostile import FakeEhr, bundle, client_for

TODAY = date(2031, 3, 3)
PRESCRIPTION = {
    "resourceType": "MedicationRequest",
    "id": "mr1",
    "meta": {"versionId": "1"},
    "status": "active",
    "subject": {"reference": "Patient/p1"},
    "medicationCodeableConcept": {"text": "Lisinopril 10 mg tablet"},
    "requester": {"reference": "Practitioner/dr1", "display": "Dr Ines Moreau"},
    "dispenseRequest": {"numberOfRepeatsAllowed": 3},
}


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class Pharmacy:
    """A fake EHR's refill side: Tasks by careline's identifier, and what it answers
    to the creating transaction once the Task is kept (``after_write``)."""

    def __init__(self, after_write: Callable[[dict[str, Any]], httpx.Response] | None) -> None:
        self.tasks: dict[str, dict[str, Any]] = {}
        self.after_write = after_write
        self.write_fails = False
        """Refuse the transaction before keeping anything (a 500 with nothing written)."""

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/fhir/MedicationRequest/mr1":
            return httpx.Response(200, json=PRESCRIPTION)
        if path == "/fhir/Task":
            wanted = request.url.params.get("identifier", "")
            if wanted:
                found = [self.tasks[v] for v in self.tasks if wanted == f"{REFILL_SYSTEM}|{v}"]
                return httpx.Response(200, json=bundle(*found))
            return httpx.Response(200, json=bundle())
        if path == "/fhir" and request.method == "POST":
            if self.write_fails:
                return httpx.Response(500)
            entry = json.loads(request.content)["entry"][0]
            task = dict(entry["resource"], id=f"t{len(self.tasks) + 1}")
            value = task["identifier"][0]["value"]
            task = self.tasks.setdefault(value, task)  # ifNoneExist: kept once
            if self.after_write is not None:
                return self.after_write(task)
            body = {
                "resourceType": "Bundle",
                "type": "transaction-response",
                "entry": [{"resource": task, "response": {"status": "201 Created"}}],
            }
            return httpx.Response(200, json=body)
        return httpx.Response(404)


def prescription() -> Prescription:
    return Prescription("mr1", "Lisinopril 10 mg tablet", "active", "", 3, None, "Dr Ines Moreau")


def timeout(_task: dict[str, Any]) -> httpx.Response:
    raise httpx.ReadTimeout("slow")


@pytest.mark.parametrize(
    "after_write",
    [
        pytest.param(lambda _t: httpx.Response(500), id="500 after writing"),
        pytest.param(timeout, id="timeout after writing"),
        pytest.param(
            lambda _t: httpx.Response(200, json={"resourceType": "Task"}), id="not a bundle"
        ),
        pytest.param(
            lambda _t: httpx.Response(
                200, json={"resourceType": "Bundle", "type": "transaction-response", "entry": [{}]}
            ),
            id="no body",
        ),
    ],
)
async def test_a_lost_or_broken_answer_finds_the_request_made(
    tmp_path: Path,
    rsa_key: rsa.RSAPrivateKey,
    after_write: Callable[[dict[str, Any]], httpx.Response],
) -> None:
    pharmacy = Pharmacy(after_write)
    client = client_for(tmp_path, rsa_key, FakeEhr(rsa_key, pharmacy))
    try:
        refills = FhirRefills(client)
        sent = await refills.request_refill("p1", prescription(), request_id="r1", today=TODAY)
        again = await refills.request_refill("p1", prescription(), request_id="r1", today=TODAY)
    finally:
        await client.aclose()
    assert sent.request_id == again.request_id == "t1"
    assert len(pharmacy.tasks) == 1


async def test_a_malformed_task_is_a_clear_error(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    def no_focus(task: dict[str, Any]) -> httpx.Response:
        task.pop("focus")
        body = {
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": [{"resource": task, "response": {"status": "201 Created"}}],
        }
        return httpx.Response(200, json=body)

    pharmacy = Pharmacy(no_focus)
    client = client_for(tmp_path, rsa_key, FakeEhr(rsa_key, pharmacy))
    try:
        with pytest.raises(MalformedResourceError, match="Task has no MedicationRequest focus"):
            await FhirRefills(client).request_refill(
                "p1", prescription(), request_id="r1", today=TODAY
            )
    finally:
        await client.aclose()
    assert len(pharmacy.tasks) == 1


async def test_a_failing_ehr_writes_nothing_and_says_so(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    pharmacy = Pharmacy(None)
    pharmacy.write_fails = True
    client = client_for(tmp_path, rsa_key, FakeEhr(rsa_key, pharmacy))
    try:
        refills = FhirRefills(client)
        with pytest.raises(
            EhrUnavailableError, match=r"The EHR is failing \(transaction, HTTP 500\)"
        ):
            await refills.request_refill("p1", prescription(), request_id="r1", today=TODAY)
        assert pharmacy.tasks == {}
        pharmacy.write_fails = False  # the agent presses l again: the same request id
        sent = await refills.request_refill("p1", prescription(), request_id="r1", today=TODAY)
    finally:
        await client.aclose()
    assert sent.owner == "Dr Ines Moreau"
    assert len(pharmacy.tasks) == 1


async def test_a_server_stopped_mid_request_then_back_has_one_task(tmp_path: Path) -> None:
    with FhirServer(tmp_path / "ehr", smart=True) as server:
        patient = seed_patient(server, "Maria Lopez", "MRN-1", date(1961, 3, 9), "+12025550142")
        seed_prescriptions(server, patient, "Dr Ines Moreau", [("Lisinopril", 3, None)])
        client = FhirClient.from_config(ehr_config(server))
        try:
            refills = FhirRefills(client)
            (lisinopril,) = await refills.prescriptions(patient)
            server.kill()
            with pytest.raises(EhrUnavailableError, match="cannot be reached"):
                await refills.request_refill(patient, lisinopril, request_id="r1", today=TODAY)
            server.start()
            first = await refills.request_refill(patient, lisinopril, request_id="r1", today=TODAY)
            again = await refills.request_refill(patient, lisinopril, request_id="r1", today=TODAY)
            tasks = await client.search("Task", {"patient": f"Patient/{patient}"})
        finally:
            await client.aclose()
    assert first.request_id == again.request_id
    assert len(tasks) == 1
