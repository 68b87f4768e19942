# SPDX-License-Identifier: GPL-2.0-or-later
"""The patient directory pulled from the EHR: incremental, paged, resumable after a crash.

:class:`DirectorySync` searches the EHR for each of :data:`SYNCED_TYPES` changed
since that type's cursor (``_lastUpdated=ge<cursor>``; no cursor: everything),
a page at a time through the server's ``next`` links, and hands each page to a
:class:`DirectorySink`: the local store (:class:`LocalDirectorySink`) or the hub
(``console.hub.ehr_sync``), which writes the page's resources *and* where the
run has got to in one transaction. So a run killed at any moment goes on, the
next time, from the page after the last one committed: nothing is lost, and a
resource read twice (a page fetched but not committed) is upserted by its id,
never doubled.

Cursors. A run's next cursor is the server's own clock when the run's first
page was searched (``Bundle.meta.lastUpdated``, else the ``Date`` header),
minus :data:`OVERLAP`: a resource updated while the run pages on, or committed
a little late by a server that stamps it earlier, is fetched again next time
rather than missed. The cursor becomes the type's only once its last page is
committed; until then the run's state (its own cursor, the next cursor to be,
the next link) is what a resumed run reads. A next link the server no longer
honours (4xx: its paging expired) restarts that type from the run's own
cursor, keeping the earliest next cursor.

Order. Pages are searched ``_sort=_id``: servers that page by offset (most
small ones) then keep a resource where it is when it changes during the run;
sorted by ``_lastUpdated`` a change would move it to the end and shift an
unread resource onto a page already read.

Bad resources. A resource careline cannot read (no id, no MRN, a phone that is
not a number …) is rejected with its type, page, position and a reason that
carries no patient data; the rest of its page is written. Errors of the EHR
itself are :mod:`console.core.ehr.errors`; a type the EHR refuses to search
(403, an unsupported parameter) stops that type and the others go on; an EHR
that is down or refuses the sign-in stops the run.

What is synced: the directory's own types. Booking's (Schedule, Slot,
Practitioner, Location, HealthcareService) are read live when an agent books:
a copied free slot is stale by the time it is offered.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

from console.core.ehr.directory_state import (
    Accepted,
    Cursor,
    DirectorySink,
    DirectoryWriteError,
    LocalDirectorySink,
    RunState,
    cursor_from,
    instant_text,
)
from console.core.ehr.errors import (
    EhrRefusedError,
    EhrSignInError,
    EhrUnavailableError,
    MalformedResourceError,
)
from console.core.ehr.sync_limits import MAX_PAGE_SIZE, PAGE_SIZE, SYNCED_TYPES
from console.core.patients.importers import record_from_fhir
from console.core.patients.records import RecordError, Rejection
from console.core.records import dataclass

if TYPE_CHECKING:  # httpx loads with the client, when a sync runs, not with the CLI
    from console.core.ehr.client import FhirClient, Resource, SearchPage

OVERLAP = timedelta(seconds=60)
"""How far before a run's start the next run looks again."""
MAX_LISTED = 100
"""Rejections kept in a report (the rest are only counted)."""
SOURCE = "EHR"
"""What a rejection names as its source."""


@dataclass(slots=True)
class TypeReport:
    """What one type's sync did."""

    resource_type: str
    since: str | None = None
    """The cursor the run started from (None: everything)."""
    resumed: bool = False
    """It went on with a run a crash or an error left unfinished."""
    restarted: bool = False
    """The stored next link was refused, so the run started over from its cursor."""
    fetched: int = 0
    """Resources read in this run (a resumed run counts only its own)."""
    written: int = 0
    rejected: int = 0
    pages: int = 0
    """Pages committed in this run."""
    done: bool = False
    """Its last page is committed and its cursor moved on."""
    error: str | None = None
    """Why it stopped before the end."""


Failure = str
"""``unavailable``, ``sign-in``, ``refused`` or ``store``: why a run stopped."""


@dataclass(slots=True)
class SyncReport:
    """What one ``patients sync`` did."""

    types: list[TypeReport] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    """The first :data:`MAX_LISTED` resources rejected (``rejected`` counts them all)."""
    seconds: float = 0.0
    failure: Failure | None = None
    """The worst reason a type stopped; None when every type finished."""
    stopped: str | None = None
    """The sentence for that reason."""

    @property
    def fetched(self) -> int:
        """Resources read, every type."""
        return sum(t.fetched for t in self.types)

    @property
    def rejected(self) -> int:
        """Resources rejected, every type."""
        return sum(t.rejected for t in self.types)

    @property
    def rate(self) -> float:
        """Resources read per second."""
        return self.fetched / self.seconds if self.seconds > 0 else 0.0


Progress = Callable[[Mapping[str, int], float], None]
"""Called after each page: resources read so far by type, seconds since the start."""
AfterPage = Callable[[str, int], None]
"""Called after each committed page with its type and the run's page count (a test hook)."""

_SEVERITY = {"refused": 1, "store": 2, "sign-in": 3, "unavailable": 4}


class DirectorySync:
    """One sync of the directory from ``client``'s EHR into ``sink``.

    ``full``: read everything, whatever the cursors say (an unfinished run too).
    ``today`` is the date birth dates are checked against (default: today, UTC).
    """

    def __init__(
        self,
        client: FhirClient,
        sink: DirectorySink,
        *,
        region: str,
        page_size: int = PAGE_SIZE,
        overlap: timedelta = OVERLAP,
        progress: Progress | None = None,
        after_page: AfterPage | None = None,
        full: bool = False,
        today: date | None = None,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be 1 to {MAX_PAGE_SIZE}")
        self._client = client
        self._sink = sink
        self._region = region
        self._page_size = page_size
        self._overlap = overlap
        self._progress = progress
        self._after_page = after_page
        self._full = full
        self._today = today
        self._counts: dict[str, int] = {}
        self._started = 0.0

    async def run(self, types: Sequence[str] = SYNCED_TYPES) -> SyncReport:
        """Sync ``types`` one after the other; never raises for the EHR or the sink:
        the report says what happened and what stopped it."""
        report = SyncReport()
        self._started = time.monotonic()
        self._counts = dict.fromkeys(types, 0)
        for kind in types:
            part = TypeReport(kind)
            report.types.append(part)
            failure = await self._sync_type(part, report)
            if failure is None:
                continue
            if _SEVERITY[failure] > _SEVERITY.get(report.failure or "", 0):
                report.failure, report.stopped = failure, part.error
            if failure != "refused":
                break  # the EHR is down or refuses us, or nothing can be written
        report.seconds = time.monotonic() - self._started
        return report

    async def _sync_type(self, part: TypeReport, report: SyncReport) -> Failure | None:
        try:
            await self._pages(part, report)
        except (
            EhrUnavailableError,
            EhrSignInError,
            EhrRefusedError,
            MalformedResourceError,
        ) as exc:
            part.error = str(exc)
            if isinstance(exc, EhrUnavailableError):
                return "unavailable"
            return "sign-in" if isinstance(exc, EhrSignInError) else "refused"
        except DirectoryWriteError as exc:
            part.error = str(exc)
            return "unavailable" if exc.unavailable else "store"
        return None

    async def _pages(self, part: TypeReport, report: SyncReport) -> None:
        kind = part.resource_type
        stored = Cursor() if self._full else await self._sink.cursor(kind)
        run = stored.run
        if run is not None and not self._client.is_own_url(run.next_url):
            run = None  # the EHR's address changed since: start the run again
        part.since = run.since if run is not None else stored.since
        part.resumed = run is not None
        page: SearchPage | None = None
        if run is not None:
            try:
                page = await self._client.search_page(kind, url=run.next_url)
            except EhrRefusedError:
                # The server no longer serves that link (its paging expired): read the
                # run again from its own cursor; upserts make the re-read harmless.
                part.restarted = True
        if page is None:
            page = await self._client.search_page(kind, self._query(part.since))
        next_since = run.next_since if run is not None else self._next_since(page)
        pages = run.pages if run is not None and not part.restarted else 0
        fetched = run.fetched if run is not None and not part.restarted else 0
        while True:
            pages += 1
            # The next page is on its way while this one is checked and written: the
            # committed state still names it, so a crash now fetches it again.
            ahead = (
                asyncio.ensure_future(self._client.search_page(kind, url=page.next_url))
                if page.next_url is not None
                else None
            )
            try:
                await self._commit_page(kind, page, pages, fetched, next_since, part, report)
            except BaseException:
                if ahead is not None:
                    ahead.cancel()
                    with contextlib.suppress(BaseException):
                        await ahead
                raise
            fetched += len(page.resources)
            if ahead is None:
                part.done = True
                return
            page = await ahead

    async def _commit_page(
        self,
        kind: str,
        page: SearchPage,
        pages: int,
        fetched: int,
        next_since: str,
        part: TypeReport,
        report: SyncReport,
    ) -> None:
        accepted = self._read(kind, pages, page.resources, part, report)
        if page.next_url is None:
            cursor = Cursor(since=next_since)
        else:
            state = RunState(
                part.since, next_since, page.next_url, pages, fetched + len(page.resources)
            )
            cursor = Cursor(since=part.since, run=state)
        await self._sink.commit(kind, accepted, cursor)
        part.pages += 1
        part.fetched += len(page.resources)
        part.written += len(accepted)
        self._counts[kind] = self._counts.get(kind, 0) + len(page.resources)
        if self._progress is not None:
            self._progress(dict(self._counts), time.monotonic() - self._started)
        if self._after_page is not None:
            self._after_page(kind, pages)

    def _query(self, since: str | None) -> dict[str, str]:
        query = {"_count": str(self._page_size), "_sort": "_id"}
        if since is not None:
            query["_lastUpdated"] = f"ge{since}"
        return query

    def _next_since(self, first: SearchPage) -> str:
        """The server's clock at the run's first search, less the overlap (this
        machine's clock when the server gave none)."""
        moment = first.server_time or datetime.now(UTC)
        return instant_text(moment - self._overlap)

    def _read(
        self,
        kind: str,
        page: int,
        resources: Sequence[Resource],
        part: TypeReport,
        report: SyncReport,
    ) -> list[Accepted]:
        accepted: list[Accepted] = []
        for index, resource in enumerate(resources):
            position = f"{kind} page {page} entry {index}"
            try:
                accepted.append(self._accept(kind, resource))
            except RecordError as bad:
                part.rejected += 1
                if len(report.rejections) < MAX_LISTED:
                    report.rejections.append(Rejection(SOURCE, position, str(bad)))
        return accepted

    def _accept(self, kind: str, resource: Resource) -> Accepted:
        if resource.get("resourceType") != kind:
            raise RecordError(f"not a {kind} (the search answered another type)")
        resource_id = resource.get("id")
        if not isinstance(resource_id, str) or not resource_id.strip():
            raise RecordError(f"{kind} has no id")
        record = record_from_fhir(resource, self._region, today=self._today)
        return Accepted(kind, resource_id.strip(), resource, record)


__all__ = [
    "MAX_LISTED",
    "OVERLAP",
    "PAGE_SIZE",
    "SYNCED_TYPES",
    "Accepted",
    "Cursor",
    "DirectorySink",
    "DirectorySync",
    "DirectoryWriteError",
    "LocalDirectorySink",
    "RunState",
    "SyncReport",
    "TypeReport",
    "cursor_from",
    "instant_text",
]
