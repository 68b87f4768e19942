# SPDX-License-Identifier: GPL-2.0-or-later
"""Local monitor grants: how a supervisor on the same machine, with no hub, may listen in.

A supervisor's console writes a grant file ``<grant id>.json`` into a spool
directory (:func:`write_local_grant`); the grant id is an opaque random token
and the file names the agent, the call, the modes allowed and when it expires
(a minute after it is made by default). The agent's console accepts a monitor
request only when :meth:`LocalGrants.check` finds the grant file:

* a regular file, opened without following a symlink, at most 4 KiB;
* owned by one of the configured supervisor OS accounts (only root or that
  account can make a file owned by it) and not group- or world-writable;
* not expired, not older than :data:`MAX_GRANT_SECONDS` from its making to its
  expiry, not made later than now (beyond :data:`CLOCK_SKEW_SECONDS`: a grant dated
  in the future would live longer), not used before (a grant lets one leg in; with
  the agent's store, remembered there across console restarts, since the agent's
  account cannot delete the supervisor's file);
* for this agent and one of this agent's live calls, allowing the mode asked.

Anything else raises :class:`GrantRefusedError` with a reason from
:data:`sip.monitor_terms.REFUSALS` (the console audits it and refuses the leg).
The supervisor shown to the agent is the file owner's account name, never
text from the file.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import pwd
import stat
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from console.core.records import dataclass
from console.core.store import Store
from console.core.store_faults import StorageFaultError
from sip.monitor_terms import GRANT_ID, MODES, MonitorMode

log = logging.getLogger(__name__)

GRANT_SECONDS = 60
"""How long a new grant may be used to connect."""
MAX_GRANT_SECONDS = 300
"""A grant living longer than this (from making to expiry) is refused as expired."""
MAX_GRANT_BYTES = 4096
"""A larger grant file is refused unread."""
CLOCK_SKEW_SECONDS = 30
"""How far ahead of this machine's clock a grant may say it was made (the supervisor's
clock may run a little fast); any later and it is refused (``future_grant``)."""


class GrantRefusedError(Exception):
    """A grant that does not let the supervisor in; ``reason`` is a refusal key."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MonitorGrant:
    """A supervisor's permission to join one agent's call, in some modes, for a short while."""

    id: str
    agent_id: str
    call_id: str
    modes: tuple[MonitorMode, ...]
    supervisor: str
    """The supervisor's account (the OS account owning a local grant file)."""
    created_at: datetime
    expires_at: datetime

    def document(self) -> dict[str, object]:
        """The grant as the JSON object a grant file holds."""
        return {
            "grant": self.id,
            "agent": self.agent_id,
            "call": self.call_id,
            "modes": list(self.modes),
            "created": self.created_at.isoformat(),
            "expires": self.expires_at.isoformat(),
        }


def new_grant_id() -> str:
    """A fresh opaque grant id (192 random bits, URL-safe)."""
    import secrets  # here: loads hmac and OpenSSL's hashlib, which idle needs not

    return secrets.token_urlsafe(24)


def checked_modes(values: Iterable[object]) -> tuple[MonitorMode, ...]:
    """The modes in ``values``, in canonical order; ValueError for anything else."""
    given = list(values)
    if not given or any(value not in MODES for value in given):
        raise ValueError("modes must be some of listen, whisper, barge")
    return tuple(mode for mode in MODES if mode in given)


def write_local_grant(
    spool: Path,
    *,
    agent_id: str,
    call_id: str,
    modes: Iterable[str],
    seconds: int = GRANT_SECONDS,
    now: datetime | None = None,
    grant_id: str | None = None,
) -> MonitorGrant:
    """Make a grant file in ``spool`` as this OS account (a supervisor's console does);
    ``grant_id``: one chosen before (default: a new one)."""
    made = now or datetime.now(UTC)
    grant = MonitorGrant(
        id=grant_id or new_grant_id(),
        agent_id=agent_id,
        call_id=call_id,
        modes=checked_modes(modes),
        supervisor=pwd.getpwuid(os.getuid()).pw_name,
        created_at=made,
        expires_at=made + timedelta(seconds=seconds),
    )
    path = spool / f"{grant.id}.json"
    # 0644: the agent's account reads it; nobody but its owner may change it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(grant.document(), out)
    return grant


def sweep_local_grants(spool: Path, now: datetime | None = None) -> int:
    """Delete this OS account's grant files in ``spool`` that no check can accept any more
    (older than :data:`MAX_GRANT_SECONDS`); returns how many. Others' files are left."""
    cutoff = (now or datetime.now(UTC)).timestamp() - MAX_GRANT_SECONDS
    removed = 0
    try:
        entries = list(os.scandir(spool))
    except OSError:
        return 0
    for entry in entries:
        if not entry.name.endswith(".json") or not GRANT_ID.match(entry.name[:-5]):
            continue
        with contextlib.suppress(OSError):
            info = entry.stat(follow_symlinks=False)
            mine = stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid()
            if mine and info.st_mtime < cutoff:
                os.unlink(entry.path)
                removed += 1
    return removed


def supervisor_uids(accounts: Iterable[str | int]) -> frozenset[int]:
    """The uids of the configured supervisor OS accounts (names or numbers; unknown names
    are left out: nobody can own a file as an account that does not exist)."""
    uids: set[int] = set()
    for account in accounts:
        if isinstance(account, int) or str(account).isdigit():
            uids.add(int(account))
            continue
        with contextlib.suppress(KeyError):
            uids.add(pwd.getpwnam(str(account)).pw_uid)
    return frozenset(uids)


def _utc_text(moment: datetime) -> str:
    """A fixed-width UTC time: stored ones compare in time order as text."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _account_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


class LocalGrants:
    """Checks local grant files for one agent (see the module docstring)."""

    def __init__(
        self,
        spool: Path,
        supervisors: Collection[int],
        agent_id: str,
        clock: Callable[[], datetime] | None = None,
        store: Store | None = None,
    ) -> None:
        """``store``: the agent's local store, where :meth:`verify` remembers the grants it
        let in (None: only in memory, for this object's life)."""
        self._spool = spool
        self._supervisors = frozenset(supervisors)
        self._agent_id = agent_id
        self._clock = clock or (lambda: datetime.now(UTC))
        self._store = store
        self._used: set[str] = set()

    def check(self, grant_id: str, mode: str, live_calls: Collection[str]) -> MonitorGrant:
        """The grant ``grant_id`` if it lets a supervisor join in ``mode`` one of
        ``live_calls`` (this agent's live call ids) now; else :class:`GrantRefusedError`.
        A grant that passes is used up."""
        if not GRANT_ID.match(grant_id):
            raise GrantRefusedError("malformed")
        if grant_id in self._used:
            raise GrantRefusedError("used")
        uid, raw = self._read(self._spool / f"{grant_id}.json")
        grant = self._parse(grant_id, raw, _account_name(uid))
        now = self._clock()
        if grant.created_at > now + timedelta(seconds=CLOCK_SKEW_SECONDS):
            raise GrantRefusedError("future_grant")
        if grant.expires_at <= now or grant.expires_at - grant.created_at > timedelta(
            seconds=MAX_GRANT_SECONDS
        ):
            raise GrantRefusedError("expired")
        if grant.agent_id != self._agent_id:
            raise GrantRefusedError("other_agent")
        if grant.call_id not in live_calls:
            raise GrantRefusedError("other_call")
        if mode not in grant.modes:
            raise GrantRefusedError("mode_not_granted")
        self._used.add(grant_id)
        return grant

    async def verify(self, grant_id: str, mode: str, live_calls: Collection[str]) -> MonitorGrant:
        """:meth:`check`, as a :class:`console.core.monitoring.GrantBook` does it; a grant
        that passes is also remembered as used in the store (refused if it was already)."""
        grant = self.check(grant_id, mode, live_calls)
        if self._store is not None and not await self._remember(self._store, grant_id):
            raise GrantRefusedError("used")  # let in before this console (re)started
        return grant

    async def _remember(self, store: Store, grant_id: str) -> bool:
        """Mark ``grant_id`` used in ``store``; False if it was already. Ids of grants that
        can no longer be valid go: one used at ``t`` was made by ``t`` + the skew and
        expired within :data:`MAX_GRANT_SECONDS` of its making."""
        now = self._clock()
        forget = now - timedelta(seconds=MAX_GRANT_SECONDS + CLOCK_SKEW_SECONDS)
        try:
            async with store.transaction() as db:
                await db.execute(
                    "DELETE FROM monitor_grants_used WHERE used_at < ?", (_utc_text(forget),)
                )
                cursor = await db.execute(
                    "INSERT OR IGNORE INTO monitor_grants_used (grant_id, used_at) VALUES (?, ?)",
                    (grant_id, _utc_text(now)),
                )
                added = cursor.rowcount == 1
                await cursor.close()
        except StorageFaultError:
            # Nobody listens in on a grant whose use could not be remembered.
            log.warning("could not remember a used monitor grant: refused")
            raise GrantRefusedError("unknown_grant") from None
        return added

    def _read(self, path: Path) -> tuple[int, bytes]:
        """The file's owner and bytes, opened so that nothing can be swapped in between."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except FileNotFoundError:
            raise GrantRefusedError("unknown_grant") from None
        except OSError as exc:
            why = "unsafe_grant" if exc.errno == errno.ELOOP else "unknown_grant"
            raise GrantRefusedError(why) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_GRANT_BYTES:
                raise GrantRefusedError("unsafe_grant")
            if info.st_uid not in self._supervisors:
                raise GrantRefusedError("not_supervisor")
            if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                raise GrantRefusedError("unsafe_grant")
            return info.st_uid, os.read(fd, MAX_GRANT_BYTES + 1)
        finally:
            os.close(fd)

    @staticmethod
    def _parse(grant_id: str, raw: bytes, supervisor: str) -> MonitorGrant:
        try:
            doc = json.loads(raw)
            if not isinstance(doc, dict) or doc.get("grant") != grant_id:
                raise ValueError("not this grant")
            agent, call = doc["agent"], doc["call"]
            if not isinstance(agent, str) or not isinstance(call, str):
                raise ValueError("agent and call must be text")
            modes = doc["modes"]
            if not isinstance(modes, list):
                raise ValueError("modes must be a list")
            created = datetime.fromisoformat(str(doc["created"]))
            expires = datetime.fromisoformat(str(doc["expires"]))
            if created.tzinfo is None or expires.tzinfo is None:
                raise ValueError("times must carry their zone")
            return MonitorGrant(
                id=grant_id,
                agent_id=agent,
                call_id=call,
                modes=checked_modes(modes),
                supervisor=supervisor,
                created_at=created,
                expires_at=expires,
            )
        except (ValueError, KeyError, TypeError, RecursionError):
            raise GrantRefusedError("malformed") from None
