# SPDX-License-Identifier: GPL-2.0-or-later
"""A FHIR R4 REST client: read, search (strict, paged), transaction; errors in words.

Every request carries a SMART access token (one retry with a fresh token
after a 401), ``Accept: application/fhir+json``, and a time limit. Searches
ask the server to refuse what it does not understand (``Prefer:
handling=strict``) and a search answered with a warning about an ignored
parameter is refused here too: a slot search that silently dropped
``status=free`` would offer booked slots. Responses are capped in size and
parsed defensively. Logs name the interaction, the resource type, the
status and the time, never an id, a query or a body.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from console.core.bounded_load import LimitError, check_json_depth
from console.core.config import EhrConfig
from console.core.ehr.auth import SigningKey, SmartBackendAuth, load_signing_key
from console.core.ehr.errors import (
    EhrConflictError,
    EhrRefusedError,
    EhrSignInError,
    EhrUnavailableError,
    MalformedResourceError,
)
from console.core.records import dataclass

log = logging.getLogger(__name__)
# httpx logs every request's full URL at INFO: ids and search parameters are patient data.
logging.getLogger("httpx").setLevel(logging.WARNING)

FHIR_JSON = "application/fhir+json"
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""A response larger than this is refused unread (a hostile or broken server)."""
MAX_PAGES = 50
"""A search follows at most this many ``next`` links."""
JSON_NESTING_LIMIT = 64
"""FHIR resources nest a dozen levels; anything deeper is refused before it is walked."""

Resource = dict[str, Any]
SearchParams = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True, slots=True)
class SearchPage:
    """One page of a search."""

    resources: list[Resource]
    """The page's matches and included resources, in the server's order."""
    next_url: str | None
    """The ``next`` link (checked to point back at this EHR); None on the last page."""
    server_time: datetime | None
    """When the server ran the search, by its own clock (``Bundle.meta.lastUpdated``,
    else the ``Date`` header); None when it gave neither."""


@dataclass(frozen=True, slots=True)
class Reply:
    """A response, read (within :data:`MAX_RESPONSE_BYTES`)."""

    status: int
    headers: httpx.Headers
    content: bytes


class FhirClient:
    """One EHR's FHIR R4 API, signed in as careline's backend client."""

    def __init__(
        self,
        config: EhrConfig,
        key: SigningKey,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        verify: str | bool = str(config.ca_file.expanduser()) if config.ca_file else True
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(config.timeout, connect=config.connect_timeout),
            verify=verify if config.verify_tls else False,
            transport=transport,
            follow_redirects=False,  # a redirect would carry the token elsewhere
            headers={"User-Agent": "careline"},
        )
        self.base_url = config.base_url
        self.auth = SmartBackendAuth(self._http, config, key)

    @classmethod
    def from_config(cls, config: EhrConfig) -> FhirClient:
        """A client for ``config``; :class:`ConfigError` for a bad key file."""
        return cls(config, load_signing_key(config))

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    # ------------------------------------------------------------ interactions
    async def read(self, resource_type: str, resource_id: str) -> Resource:
        """The current version of one resource (``meta.versionId`` filled from the ETag)."""
        reply = await self._send("GET", f"{resource_type}/{_safe_id(resource_id)}", resource_type)
        resource = _resource(_body(reply), resource_type)
        _version_from_etag(resource, reply)
        return resource

    async def search(
        self, resource_type: str, params: SearchParams, *, limit: int = 500
    ) -> list[Resource]:
        """Every match (and included resource), following ``next`` links up to ``limit``.

        :class:`EhrRefusedError` when the server ignored or refused part of the search.
        """
        page = await self.search_page(resource_type, params)
        found = list(page.resources)
        for _ in range(MAX_PAGES - 1):
            if page.next_url is None or len(found) >= limit:
                break
            page = await self.search_page(resource_type, url=page.next_url)
            found.extend(page.resources)
        return found[:limit]

    async def search_page(
        self, resource_type: str, params: SearchParams | None = None, *, url: str | None = None
    ) -> SearchPage:
        """One page of a search: the first (``params``) or the one a ``next`` link names
        (``url``, which must point back at this EHR, as :meth:`is_own_url` checks).

        :class:`EhrRefusedError` when the server ignored or refused part of the search.
        """
        if url is not None and not self.is_own_url(url):
            raise MalformedResourceError("The EHR's next page link points to another server.")
        reply = await self._send(
            "GET",
            url or resource_type,
            resource_type,
            params=None if url is not None else params,
            headers={"Prefer": "handling=strict"},
        )
        bundle = _resource(_body(reply), "Bundle")
        return SearchPage(
            resources=_search_entries(bundle, resource_type),
            next_url=self._next_page(bundle),
            server_time=_server_time(bundle, reply),
        )

    def is_own_url(self, url: str) -> bool:
        """Whether ``url`` is under this EHR's base URL (a link anywhere else would carry
        the access token there)."""
        mine, theirs = urlsplit(self.base_url), urlsplit(url)
        return (theirs.scheme, theirs.netloc) == (mine.scheme, mine.netloc) and (
            theirs.path.startswith(mine.path)
        )

    async def transaction(self, entries: list[Resource]) -> list[Resource]:
        """Run ``entries`` (each with ``resource`` and ``request``) all or nothing.

        Returns the response entries in order. :class:`EhrConflictError` when a
        version check failed (nothing was written), :class:`EhrRefusedError` for the rest.
        """
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
        reply = _resource(
            _body(await self._send("POST", "", "transaction", json_body=bundle)), "Bundle"
        )
        answers = reply.get("entry")
        if reply.get("type") != "transaction-response" or not isinstance(answers, list):
            raise MalformedResourceError(
                "The EHR's transaction response is not a transaction-response."
            )
        if len(answers) != len(entries) or not all(isinstance(a, dict) for a in answers):
            raise MalformedResourceError("The EHR's transaction response has the wrong entries.")
        return answers

    # ------------------------------------------------------------------ HTTP
    async def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: SearchParams | None = None,
        headers: Mapping[str, str] | None = None,
        json_body: Resource | None = None,
    ) -> Reply:
        """The response to one request (a fresh token and one retry after a 401)."""
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}/{path}"
        url = url.rstrip("/")
        body = json.dumps(json_body).encode() if json_body is not None else None
        for attempt in (1, 2):
            token = await self.auth.token()
            started = time.monotonic()
            request_headers = {
                "Accept": FHIR_JSON,
                "Authorization": f"Bearer {token}",
                **({"Content-Type": FHIR_JSON} if body is not None else {}),
                **(headers or {}),
            }
            try:
                request = self._http.build_request(
                    method, url, params=_query(params), headers=request_headers, content=body
                )
                response = await self._http.send(request, stream=True)
                try:
                    reply = Reply(
                        response.status_code, response.headers, await _read_capped(response)
                    )
                finally:
                    await response.aclose()
            except httpx.TimeoutException:
                log.warning("EHR %s %s: timed out", method, what)
                raise EhrUnavailableError(f"The EHR did not answer in time ({what}).") from None
            except httpx.HTTPError:
                log.warning("EHR %s %s: unreachable", method, what)
                raise EhrUnavailableError(f"The EHR cannot be reached ({what}).") from None
            log.info(
                "EHR %s %s: HTTP %d in %.0f ms",
                method,
                what,
                reply.status,
                (time.monotonic() - started) * 1000,
            )
            if reply.status == 401 and attempt == 1:
                self.auth.forget(token)  # expired early or revoked: sign in again, once
                continue
            _raise_for_status(reply, what)
            return reply
        raise EhrSignInError(f"The EHR refused careline's sign-in ({what}).")

    def _next_page(self, bundle: Resource) -> str | None:
        """The bundle's ``next`` link, if it points back at this EHR (never elsewhere:
        the request would carry the access token there)."""
        for link in bundle.get("link") or ():
            if isinstance(link, dict) and link.get("relation") == "next":
                url = link.get("url")
                if not isinstance(url, str):
                    raise MalformedResourceError("The EHR's next page link is not a URL.")
                if not self.is_own_url(url):
                    raise MalformedResourceError(
                        "The EHR's next page link points to another server."
                    )
                return url
        return None


async def _read_capped(response: httpx.Response) -> bytes:
    """The body, unless it is larger than :data:`MAX_RESPONSE_BYTES`."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_RESPONSE_BYTES:
        raise MalformedResourceError("The EHR's response is too large.")
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise MalformedResourceError("The EHR's response is too large.")
        chunks.append(chunk)
    return b"".join(chunks)


def _raise_for_status(reply: Reply, what: str) -> None:
    status = reply.status
    if status < 300:
        return
    if status in (409, 412):
        raise EhrConflictError(f"Someone else changed it first ({what}, HTTP {status}).")
    if status == 401:
        raise EhrSignInError(f"The EHR refused careline's sign-in ({what}).")
    if status >= 500 or status == 429:
        raise EhrUnavailableError(f"The EHR is failing ({what}, HTTP {status}).")
    if status == 403:
        raise EhrRefusedError(f"careline is not allowed to do this in the EHR ({what}).", status)
    raise EhrRefusedError(f"The EHR refused the request ({what}, HTTP {status}).", status)


def _body(reply: Reply) -> Any:
    """The parsed JSON body; :class:`MalformedResourceError` if it is not JSON or nests too deep."""
    try:
        text = reply.content.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedResourceError("The EHR's response is not UTF-8.") from None
    try:
        # In C over the brackets alone: a page of a few hundred resources is checked in
        # a millisecond, not walked a character at a time.
        check_json_depth(text, JSON_NESTING_LIMIT)
    except LimitError:
        raise MalformedResourceError("The EHR's response nests too deep.") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise MalformedResourceError("The EHR's response is not JSON.") from None


def _resource(body: Any, resource_type: str) -> Resource:
    """``body`` if it is a resource of ``resource_type`` (a transaction answers a Bundle)."""
    expected = "Bundle" if resource_type == "transaction" else resource_type
    if not isinstance(body, dict) or body.get("resourceType") != expected:
        raise MalformedResourceError(f"The EHR did not answer with a {expected}.")
    return body


def _search_entries(bundle: Resource, resource_type: str) -> list[Resource]:
    """The resources of a search page; a warning or error entry refuses the whole search."""
    if bundle.get("type") != "searchset":
        raise MalformedResourceError(
            f"The EHR's {resource_type} search did not return a searchset."
        )
    found = []
    for entry in bundle.get("entry") or ():
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
            raise MalformedResourceError(
                f"The EHR's {resource_type} search has an unreadable entry."
            )
        mode = (entry.get("search") or {}).get("mode") if isinstance(entry, dict) else None
        if mode == "outcome" or resource["resourceType"] == "OperationOutcome":
            issues = resource.get("issue") or ()
            if any(isinstance(i, dict) and i.get("severity") != "information" for i in issues):
                raise EhrRefusedError(
                    f"The EHR ignored or refused part of the {resource_type} search.", 400
                )
            continue
        found.append(resource)
    return found


def _server_time(bundle: Resource, reply: Reply) -> datetime | None:
    """The server's clock when it answered: the Bundle's ``meta.lastUpdated`` (a search
    Bundle's is when the search ran), else the HTTP ``Date`` header."""
    meta = bundle.get("meta")
    stamp = meta.get("lastUpdated") if isinstance(meta, dict) else None
    if isinstance(stamp, str):
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                return moment.astimezone(UTC)
    header = reply.headers.get("Date")
    if header:
        with contextlib.suppress(TypeError, ValueError, IndexError):
            moment = parsedate_to_datetime(header)
            if moment.tzinfo is not None:
                return moment.astimezone(UTC)
    return None


def _version_from_etag(resource: Resource, reply: Reply) -> None:
    """Fill ``meta.versionId`` from a ``W/"n"`` ETag when the body lacks it."""
    meta = resource.setdefault("meta", {})
    if not isinstance(meta, dict):
        raise MalformedResourceError("The EHR sent a resource with an unreadable meta.")
    etag = reply.headers.get("ETag", "")
    if "versionId" not in meta and etag.startswith('W/"') and etag.endswith('"'):
        meta["versionId"] = etag[3:-1]


def _safe_id(resource_id: str) -> str:
    """``resource_id`` if it is a FHIR id (``[A-Za-z0-9-.]{1,64}``): nothing else reaches a URL."""
    if not re.fullmatch(r"[A-Za-z0-9.-]{1,64}", resource_id):
        raise EhrRefusedError("Not a FHIR id.", 400)
    return resource_id


def _query(params: SearchParams | None) -> list[tuple[str, str | int | float | bool | None]] | None:
    """Search parameters as pairs (a parameter given twice is ANDed, as FHIR reads it)."""
    if params is None:
        return None
    pairs: list[tuple[str, str | int | float | bool | None]] = []
    for name, value in params.items():
        values = [value] if isinstance(value, str) else list(value)
        pairs.extend((name, v) for v in values)
    return pairs
