# SPDX-License-Identifier: GPL-2.0-or-later
"""SMART Backend Services sign-in: a signed client assertion traded for an access token.

The flow (SMART App Launch 2, "Backend Services"): read the token endpoint
from ``<base>/.well-known/smart-configuration``; sign a JWT (iss = sub = the
client id, aud = the token endpoint, a fresh ``jti``, expiring within five
minutes) with the private key; POST it as a ``client_credentials`` grant; use
the access token until shortly before it expires. The token and the key are
never logged or shown.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from console.core.config import ConfigError, EhrConfig, read_secret_file
from console.core.ehr.errors import EhrSignInError, EhrUnavailableError
from console.core.records import dataclass

log = logging.getLogger(__name__)

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 240
"""The client assertion's lifetime: SMART allows at most five minutes."""
REFRESH_BEFORE_S = 60.0
"""A token is replaced this long before it expires (a request in flight must not carry
one that dies on the way)."""
DEFAULT_TOKEN_LIFETIME_S = 300.0
"""Assumed when the token response has no ``expires_in``."""

SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def load_signing_key(config: EhrConfig) -> SigningKey:
    """The private key of ``ehr.private_key_file``, checked against ``ehr.algorithm``.

    Raises :class:`ConfigError` when the file is not 0600 and yours, not a PEM
    private key, or the wrong kind of key for the algorithm.
    """
    if config.private_key_file is None:
        raise ConfigError("ehr.private_key_file: not set (the EHR link needs it)")
    pem = read_secret_file(config.private_key_file, "ehr.private_key_file")
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        # (cryptography's message says what is wrong with the format, not the key's content.)
        raise ConfigError(
            f"ehr.private_key_file: not an unencrypted PEM private key ({exc})"
        ) from None
    if config.algorithm == "RS384":
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
            raise ConfigError("ehr.private_key_file: RS384 needs an RSA key of 2048 bits or more")
    elif not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp384r1":
        raise ConfigError("ehr.private_key_file: ES384 needs an EC key on the P-384 curve")
    return key


@dataclass(frozen=True, slots=True)
class _Token:
    value: str
    refresh_at: float
    """time.monotonic() after which the token is replaced."""


class SmartBackendAuth:
    """Access tokens for one EHR client, fetched when needed and shared by every request."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        config: EhrConfig,
        key: SigningKey,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._config = config
        self._key = key
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._token: _Token | None = None
        self._token_endpoint: str | None = None
        self._lock = asyncio.Lock()
        self.tokens_fetched = 0
        """How many tokens this client has asked for (for tests and the doctor)."""

    async def token(self) -> str:
        """A valid access token (one fetch at a time, however many requests wait for it)."""
        async with self._lock:
            token = self._token
            if token is None or self._monotonic() >= token.refresh_at:
                token = self._token = await self._fetch()
            return token.value

    def forget(self, used: str) -> None:
        """The EHR refused ``used`` (401): the next request signs in again."""
        if self._token is not None and self._token.value == used:
            self._token = None

    async def _fetch(self) -> _Token:
        endpoint = await self._endpoint()
        now = self._wall_clock()
        claims = {
            "iss": self._config.client_id,
            "sub": self._config.client_id,
            "aud": endpoint,
            "jti": uuid.uuid4().hex,
            "iat": int(now),
            "exp": int(now) + ASSERTION_LIFETIME_S,
        }
        headers = {"typ": "JWT", **({"kid": self._config.key_id} if self._config.key_id else {})}
        assertion = jwt.encode(claims, self._key, algorithm=self._config.algorithm, headers=headers)
        form = {
            "grant_type": "client_credentials",
            "scope": self._config.scopes,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        }
        asked = self._monotonic()
        try:
            response = await self._http.post(endpoint, data=form)
        except httpx.TimeoutException:
            raise EhrUnavailableError("The EHR's sign-in did not answer in time.") from None
        except httpx.HTTPError:
            raise EhrUnavailableError("The EHR's sign-in cannot be reached.") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise EhrUnavailableError(
                f"The EHR's sign-in is failing (HTTP {response.status_code})."
            )
        if response.status_code != 200:
            log.warning("EHR token request refused: HTTP %d", response.status_code)
            raise EhrSignInError(
                f"The EHR refused careline's sign-in (HTTP {response.status_code}): "
                "check ehr.client_id, the key and its registration with the EHR."
            )
        body = _json_object(response, "the EHR's token response")
        value = body.get("access_token")
        if not isinstance(value, str) or not value or len(value) > 16_384:
            raise EhrSignInError("The EHR's token response has no usable access_token.")
        if str(body.get("token_type", "")).lower() != "bearer":
            raise EhrSignInError("The EHR's token response is not a bearer token.")
        lifetime = body.get("expires_in", DEFAULT_TOKEN_LIFETIME_S)
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            raise EhrSignInError("The EHR's token response has an unusable expires_in.")
        self.tokens_fetched += 1
        # Refresh a minute early, or halfway through a token shorter than two minutes.
        margin = min(REFRESH_BEFORE_S, float(lifetime) / 2)
        return _Token(value, asked + float(lifetime) - margin)

    async def _endpoint(self) -> str:
        if self._token_endpoint is not None:
            return self._token_endpoint
        url = f"{self._config.base_url}/.well-known/smart-configuration"
        try:
            response = await self._http.get(url, headers={"Accept": "application/json"})
        except httpx.TimeoutException:
            raise EhrUnavailableError("The EHR did not answer in time.") from None
        except httpx.HTTPError:
            raise EhrUnavailableError("The EHR cannot be reached.") from None
        if response.status_code >= 500 or response.status_code == 429:
            raise EhrUnavailableError(f"The EHR is failing (HTTP {response.status_code}).")
        if response.status_code != 200:
            raise EhrSignInError(
                f"The EHR has no SMART configuration (HTTP {response.status_code}) at "
                "ehr.base_url/.well-known/smart-configuration."
            )
        endpoint = _json_object(response, "the EHR's SMART configuration").get("token_endpoint")
        if not isinstance(endpoint, str) or not _same_security(endpoint, self._config.base_url):
            # A token endpoint on plain http when the EHR is https would send the signed
            # assertion in the clear: refused, as is one that is not a URL at all.
            raise EhrSignInError("The EHR's SMART configuration has no usable token_endpoint.")
        self._token_endpoint = endpoint
        return endpoint


def _same_security(url: str, base_url: str) -> bool:
    """Whether ``url`` is an http(s) URL at least as secure as the EHR's base URL."""
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme not in ("http", "https"):
        return False
    return parts.scheme == "https" or urlsplit(base_url).scheme == "http"


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """The response's JSON object; :class:`EhrSignInError` naming ``what`` otherwise."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        raise EhrSignInError(f"{what.capitalize()} is not JSON.") from None
    if not isinstance(body, dict):
        raise EhrSignInError(f"{what.capitalize()} is not a JSON object.")
    return body
