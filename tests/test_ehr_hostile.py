# SPDX-License-Identifier: GPL-2.0-or-later
"""The FHIR client against a broken or hostile EHR: clear errors, nothing leaked, no crash.

The EHR here is an in-process fake (httpx.MockTransport) so that it can do
what a real server will not on demand: forged paging links, huge or deeply
nested bodies, invalid UTF-8, tokens that die early, 500s and timeouts.
The real server (sekmet-fhir) is driven in tests/test_ehr_scheduling.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from console.core.config import ConfigError, EhrConfig
from console.core.ehr.auth import load_signing_key
from console.core.ehr.client import MAX_RESPONSE_BYTES, FhirClient
from console.core.ehr.errors import (
    EhrRefusedError,
    EhrSignInError,
    EhrUnavailableError,
    MalformedResourceError,
)

BASE = "https://ehr.test/fhir"
TOKEN_URL = "https://ehr.test/auth/token"
PATIENT_ID = "maria-lopez-0042"  # what must never reach a log line


def write_key(path: Path, key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> Path:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def config(key_file: Path, **fields: Any) -> EhrConfig:
    return EhrConfig(base_url=BASE, client_id="careline-test", private_key_file=key_file, **fields)


class FakeEhr:
    """A FHIR server in a function: SMART sign-in, then ``respond`` for everything else."""

    def __init__(
        self, key: rsa.RSAPrivateKey, respond: Callable[[httpx.Request], httpx.Response]
    ) -> None:
        self.public_key = key.public_key()
        self.respond = respond
        self.expires_in: object = 300
        self.tokens = 0
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/fhir/.well-known/smart-configuration":
            return httpx.Response(200, json={"token_endpoint": TOKEN_URL})
        if str(request.url) == TOKEN_URL:
            form = dict(pair.split("=", 1) for pair in request.content.decode().split("&") if pair)
            claims = jwt.decode(
                form["client_assertion"], self.public_key, algorithms=["RS384"], audience=TOKEN_URL
            )
            assert claims["iss"] == claims["sub"] == "careline-test"
            assert claims["exp"] - claims["iat"] <= 300
            self.tokens += 1
            body = {"access_token": f"token-{self.tokens}", "token_type": "Bearer"}
            return httpx.Response(200, json=body | {"expires_in": self.expires_in})
        return self.respond(request)


def client_for(
    tmp_path: Path, key: rsa.RSAPrivateKey, ehr: Callable[[httpx.Request], httpx.Response]
) -> FhirClient:
    key_file = write_key(tmp_path / "ehr.pem", key)
    settings = config(key_file)
    return FhirClient(settings, load_signing_key(settings), transport=httpx.MockTransport(ehr))


def bundle(*resources: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources],
        **fields,
    }


SLOT = {"resourceType": "Slot", "id": "s1", "meta": {"versionId": "1"}, "status": "free"}


async def test_a_token_is_reused_then_replaced_before_it_expires(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    ehr = FakeEhr(rsa_key, lambda _r: httpx.Response(200, json=SLOT))
    ehr.expires_in = 1  # refreshed halfway through a token this short
    client = client_for(tmp_path, rsa_key, ehr)
    try:
        await client.read("Slot", "s1")
        await client.read("Slot", "s1")
        assert ehr.tokens == 1
        await asyncio.sleep(0.6)
        await client.read("Slot", "s1")
        assert ehr.tokens == 2
        sent = [r.headers.get("Authorization") for r in ehr.requests if r.url.path.endswith("s1")]
        assert sent == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]
    finally:
        await client.aclose()


async def test_a_401_signs_in_again_once_then_says_so(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    answers = iter([httpx.Response(401), httpx.Response(200, json=SLOT)])
    ehr = FakeEhr(rsa_key, lambda _r: next(answers))
    client = client_for(tmp_path, rsa_key, ehr)
    try:
        assert (await client.read("Slot", "s1"))["id"] == "s1"
        assert ehr.tokens == 2
        ehr.respond = lambda _r: httpx.Response(401)
        with pytest.raises(EhrSignInError, match="refused careline's sign-in"):
            await client.read("Slot", "s1")
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("answer", "error", "words"),
    [
        (
            lambda _r: httpx.Response(500, text="boom at Patient/maria"),
            EhrUnavailableError,
            "failing",
        ),
        (lambda _r: httpx.Response(429), EhrUnavailableError, "failing"),
        (lambda _r: httpx.Response(403), EhrRefusedError, "not allowed"),
        (lambda _r: httpx.Response(404), EhrRefusedError, "refused"),
        (lambda _r: httpx.Response(200, content=b"{not json"), MalformedResourceError, "not JSON"),
        (lambda _r: httpx.Response(200, content=b'{"a": "\xff"}'), MalformedResourceError, "UTF-8"),
        (
            lambda _r: httpx.Response(200, content=b"[" * 10_000 + b"]" * 10_000),
            MalformedResourceError,
            "nests too deep",
        ),
        (
            lambda _r: httpx.Response(200, json={"resourceType": "Patient", "id": "x"}),
            MalformedResourceError,
            "did not answer with a Slot",
        ),
        (
            lambda _r: httpx.Response(200, content=b" " * (MAX_RESPONSE_BYTES + 1)),
            MalformedResourceError,
            "too large",
        ),
    ],
)
async def test_a_broken_answer_is_a_clear_error(
    tmp_path: Path,
    rsa_key: rsa.RSAPrivateKey,
    answer: Callable[[httpx.Request], httpx.Response],
    error: type[Exception],
    words: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    client = client_for(tmp_path, rsa_key, FakeEhr(rsa_key, answer))
    try:
        with pytest.raises(error, match=words) as raised:
            await client.read("Slot", PATIENT_ID)
        assert "maria" not in str(raised.value).lower()
        assert "maria" not in caplog.text.lower()
        assert "token-" not in caplog.text
    finally:
        await client.aclose()


async def test_a_slow_or_absent_ehr_is_unavailable(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    client = client_for(tmp_path, rsa_key, FakeEhr(rsa_key, slow))
    try:
        with pytest.raises(EhrUnavailableError, match="did not answer in time"):
            await client.read("Slot", "s1")
    finally:
        await client.aclose()

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    ehr = FakeEhr(rsa_key, refused)
    client = client_for(tmp_path, rsa_key, ehr)
    try:
        with pytest.raises(EhrUnavailableError, match="cannot be reached"):
            await client.read("Slot", "s1")
    finally:
        await client.aclose()


async def test_a_search_the_ehr_partly_ignored_is_refused(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    outcome = {
        "resource": {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "warning", "code": "not-supported"}],
        },
        "search": {"mode": "outcome"},
    }
    page = bundle(SLOT)
    page["entry"].append(outcome)
    ehr = FakeEhr(rsa_key, lambda _r: httpx.Response(200, json=page))
    client = client_for(tmp_path, rsa_key, ehr)
    try:
        with pytest.raises(EhrRefusedError, match="ignored or refused part of the Slot search"):
            await client.search("Slot", {"status": "free"})
        assert ehr.requests[-1].headers["Prefer"] == "handling=strict"
    finally:
        await client.aclose()


async def test_a_next_link_elsewhere_is_refused_and_gets_no_token(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    forged = bundle(SLOT, link=[{"relation": "next", "url": "https://evil.test/fhir/Slot?p=2"}])
    ehr = FakeEhr(rsa_key, lambda _r: httpx.Response(200, json=forged))
    client = client_for(tmp_path, rsa_key, ehr)
    try:
        with pytest.raises(MalformedResourceError, match="another server"):
            await client.search("Slot", {"status": "free"})
        assert all(r.url.host == "ehr.test" for r in ehr.requests)
    finally:
        await client.aclose()


async def test_paging_follows_next_links_on_the_same_server(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    pages = {
        "1": bundle(SLOT, link=[{"relation": "next", "url": f"{BASE}/Slot?page=2"}]),
        "2": bundle(SLOT | {"id": "s2"}),
    }
    ehr = FakeEhr(rsa_key, lambda r: httpx.Response(200, json=pages[r.url.params.get("page", "1")]))
    client = client_for(tmp_path, rsa_key, ehr)
    try:
        assert [r["id"] for r in await client.search("Slot", {"status": "free"})] == ["s1", "s2"]
    finally:
        await client.aclose()


async def test_an_id_that_is_not_a_fhir_id_never_reaches_a_url(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    ehr = FakeEhr(rsa_key, lambda _r: httpx.Response(200, json=SLOT))
    client = client_for(tmp_path, rsa_key, ehr)
    try:
        for bad in ("../Patient/1", "s1?_format=xml", "", "x" * 65, "s1/_history/1"):
            with pytest.raises(EhrRefusedError, match="Not a FHIR id"):
                await client.read("Slot", bad)
        assert not [r for r in ehr.requests if "Slot" in r.url.path]
    finally:
        await client.aclose()


async def test_a_token_endpoint_in_the_clear_is_refused(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    ehr = FakeEhr(rsa_key, lambda _r: httpx.Response(200, json=SLOT))

    def clear_text(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("smart-configuration"):
            return httpx.Response(200, json={"token_endpoint": "http://ehr.test/auth/token"})
        return ehr(request)

    client = client_for(tmp_path, rsa_key, clear_text)
    try:
        with pytest.raises(EhrSignInError, match="no usable token_endpoint"):
            await client.read("Slot", "s1")
    finally:
        await client.aclose()


@pytest.mark.parametrize("expires_in", ["soon", -5, True, None])
async def test_an_unusable_token_answer_is_a_sign_in_error(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey, expires_in: object
) -> None:
    ehr = FakeEhr(rsa_key, lambda _r: httpx.Response(200, json=SLOT))
    ehr.expires_in = expires_in
    client = client_for(tmp_path, rsa_key, ehr)
    try:
        with pytest.raises(EhrSignInError, match="expires_in"):
            await client.read("Slot", "s1")
    finally:
        await client.aclose()


def test_the_key_file_must_be_private_and_the_right_kind(
    tmp_path: Path, rsa_key: rsa.RSAPrivateKey
) -> None:
    key_file = write_key(tmp_path / "ehr.pem", rsa_key)
    os.chmod(key_file, 0o644)
    with pytest.raises(ConfigError, match="mode 0600"):
        load_signing_key(config(key_file))
    os.chmod(key_file, 0o600)
    assert load_signing_key(config(key_file)) is not None
    with pytest.raises(ConfigError, match="ES384 needs an EC key"):
        load_signing_key(config(key_file, algorithm="ES384"))
    ec_file = write_key(tmp_path / "ec.pem", ec.generate_private_key(ec.SECP256R1()))
    with pytest.raises(ConfigError, match="P-384"):
        load_signing_key(config(ec_file, algorithm="ES384"))
    junk = tmp_path / "junk.pem"
    junk.write_text("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n")
    junk.chmod(0o600)
    with pytest.raises(ConfigError, match="not an unencrypted PEM private key"):
        load_signing_key(config(junk))


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"base_url": "ftp://ehr.test/fhir"}, "http"),
        ({"base_url": "https://user:pw@ehr.test/fhir"}, "no credentials"),
        ({"base_url": "https://ehr.test/fhir?x=1"}, "no credentials, query"),
        ({"base_url": "https://ehr.test/fhir", "client_id": ""}, "needs client_id"),
    ],
)
def test_a_bad_ehr_setting_is_named(tmp_path: Path, fields: dict[str, Any], words: str) -> None:
    values = {"client_id": "c", "private_key_file": tmp_path / "k.pem"} | fields
    with pytest.raises(ValueError, match=words):
        EhrConfig.model_validate(values)


def test_the_shipped_defaults_have_no_ehr() -> None:
    assert not EhrConfig().enabled
    assert json.loads(EhrConfig().model_dump_json())["base_url"] == ""
