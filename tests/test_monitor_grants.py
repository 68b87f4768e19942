# SPDX-License-Identifier: GPL-2.0-or-later
"""Local monitor grants: only a supervisor's own, fresh, safe file for this agent's call
lets anyone listen in; hostile files are refused, never followed or trusted (issue 20)."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.controllers.monitoring import grant_book
from console.core.config import load_config
from console.core.monitor_grants import (
    CLOCK_SKEW_SECONDS,
    MAX_GRANT_SECONDS,
    GrantRefusedError,
    LocalGrants,
    MonitorGrant,
    new_grant_id,
    supervisor_uids,
    sweep_local_grants,
    write_local_grant,
)
from console.core.store import Store

SUPERVISOR = 4242
CALL = "call-1"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    path = tmp_path / "grants"
    path.mkdir()
    return path


def grants(spool: Path, now: datetime = NOW, store: Store | None = None) -> LocalGrants:
    return LocalGrants(spool, {SUPERVISOR}, "agent-7", clock=lambda: now, store=store)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await Store.open(tmp_path / "store.sqlite3")
    yield opened
    await opened.close()


def made(spool: Path, **override: object) -> MonitorGrant:
    args: dict[str, object] = {
        "agent_id": "agent-7",
        "call_id": CALL,
        "modes": ["listen"],
        "now": NOW,
    }
    args.update(override)
    grant = write_local_grant(spool, **args)  # type: ignore[arg-type]
    os.chown(spool / f"{grant.id}.json", SUPERVISOR, -1)
    return grant


def refused(check: Callable[[], object]) -> str:
    with pytest.raises(GrantRefusedError) as caught:
        check()
    return caught.value.reason


def test_a_supervisors_fresh_grant_lets_them_in_once_named_by_the_file_owner(
    spool: Path,
) -> None:
    grant = made(spool, modes=["barge", "listen"])
    checker = grants(spool)
    found = checker.check(grant.id, "barge", [CALL, "call-2"])
    assert found.modes == ("listen", "barge")
    assert found.supervisor == "uid 4242" or found.supervisor.isidentifier()
    assert refused(lambda: checker.check(grant.id, "listen", [CALL])) == "used"


def test_each_broken_promise_has_its_own_refusal(spool: Path) -> None:
    checker = grants(spool)
    assert refused(lambda: checker.check(new_grant_id(), "listen", [CALL])) == "unknown_grant"
    for grant_id in ("../../etc/passwd", "short", "A" * 200, ""):
        assert refused(lambda: checker.check(grant_id, "listen", [CALL])) == "malformed"  # noqa: B023
    late = grants(spool, NOW + timedelta(seconds=61))
    assert refused(lambda: late.check(made(spool).id, "listen", [CALL])) == "expired"
    long_lived = made(spool, seconds=301)
    assert refused(lambda: checker.check(long_lived.id, "listen", [CALL])) == "expired"
    other = made(spool, agent_id="agent-8")
    assert refused(lambda: checker.check(other.id, "listen", [CALL])) == "other_agent"
    assert refused(lambda: checker.check(made(spool).id, "listen", ["call-9"])) == "other_call"
    assert refused(lambda: checker.check(made(spool).id, "whisper", [CALL])) == "mode_not_granted"


def test_a_file_not_owned_by_a_supervisor_or_writable_by_others_is_refused(spool: Path) -> None:
    checker = grants(spool)
    theirs = made(spool)
    os.chown(spool / f"{theirs.id}.json", 4343, -1)
    assert refused(lambda: checker.check(theirs.id, "listen", [CALL])) == "not_supervisor"
    mine = write_local_grant(spool, agent_id="agent-7", call_id=CALL, modes=["listen"], now=NOW)
    assert refused(lambda: checker.check(mine.id, "listen", [CALL])) == "not_supervisor"  # root
    for mode in (0o664, 0o646):
        loose = made(spool)
        os.chmod(spool / f"{loose.id}.json", mode)
        assert refused(lambda: checker.check(loose.id, "listen", [CALL])) == "unsafe_grant"  # noqa: B023


def test_symlinks_fifos_and_huge_files_are_never_followed_or_read(spool: Path) -> None:
    checker = grants(spool)
    real = made(spool)
    link = new_grant_id()
    (spool / f"{link}.json").symlink_to(spool / f"{real.id}.json")
    assert refused(lambda: checker.check(link, "listen", [CALL])) == "unsafe_grant"
    fifo = new_grant_id()
    os.mkfifo(spool / f"{fifo}.json")
    os.chown(spool / f"{fifo}.json", SUPERVISOR, -1)
    assert refused(lambda: checker.check(fifo, "listen", [CALL])) == "unsafe_grant"
    huge = new_grant_id()
    (spool / f"{huge}.json").write_text(" " * 5000 + "{}")
    os.chown(spool / f"{huge}.json", SUPERVISOR, -1)
    assert refused(lambda: checker.check(huge, "listen", [CALL])) == "unsafe_grant"


@pytest.mark.parametrize(
    "document",
    [
        "not json",
        "[]",
        "[" * 3000,
        '{"grant": "GRANT"}',
        '{"grant": "other", "agent": "agent-7", "call": "call-1", "modes": ["listen"],'
        ' "created": "2026-12-05T12:00:00+00:00", "expires": "2026-12-05T12:01:00+00:00"}',
        '{"grant": "GRANT", "agent": 7, "call": "call-1", "modes": ["listen"],'
        ' "created": "2026-12-05T12:00:00+00:00", "expires": "2026-12-05T12:01:00+00:00"}',
        '{"grant": "GRANT", "agent": "agent-7", "call": "call-1", "modes": ["spy"],'
        ' "created": "2026-12-05T12:00:00+00:00", "expires": "2026-12-05T12:01:00+00:00"}',
        '{"grant": "GRANT", "agent": "agent-7", "call": "call-1", "modes": "listen",'
        ' "created": "2026-12-05T12:00:00+00:00", "expires": "2026-12-05T12:01:00+00:00"}',
        '{"grant": "GRANT", "agent": "agent-7", "call": "call-1", "modes": ["listen"],'
        ' "created": "2026-12-05T12:00:00", "expires": "2026-12-05T12:01:00"}',
        '{"grant": "GRANT", "agent": "agent-7", "call": "call-1", "modes": ["listen"],'
        ' "created": "yesterday", "expires": "2026-12-05T12:01:00+00:00"}',
    ],
)
def test_a_malformed_grant_file_is_refused(spool: Path, document: str) -> None:
    grant_id = new_grant_id()
    path = spool / f"{grant_id}.json"
    path.write_text(document.replace("GRANT", grant_id))
    os.chown(path, SUPERVISOR, -1)
    assert refused(lambda: grants(spool).check(grant_id, "listen", [CALL])) == "malformed"


def test_supervisor_accounts_resolve_names_and_numbers_and_skip_unknown_names() -> None:
    assert supervisor_uids(["root", "4242", 17, "no-such-account-here"]) == {0, 4242, 17}


def test_a_grant_file_holds_no_more_than_its_ids_modes_and_times(spool: Path) -> None:
    grant = made(spool)
    document = json.loads((spool / f"{grant.id}.json").read_text())
    assert set(document) == {"grant", "agent", "call", "modes", "created", "expires"}
    assert oct((spool / f"{grant.id}.json").stat().st_mode & 0o777) == "0o644"


def test_a_supervisors_stale_grant_files_are_swept_and_nobody_elses(spool: Path) -> None:
    fresh = write_local_grant(spool, agent_id="agent-7", call_id=CALL, modes=["listen"])
    stale = write_local_grant(spool, agent_id="agent-7", call_id=CALL, modes=["listen"])
    theirs = made(spool)  # another account's (chowned): never this account's to delete
    old = NOW.timestamp() - 3600
    for grant in (stale, theirs):
        os.utime(spool / f"{grant.id}.json", (old, old))
    (spool / "notes.txt").write_text("not a grant")
    assert sweep_local_grants(spool, NOW) == 1
    left = sorted(path.name for path in spool.iterdir())
    assert left == sorted(["notes.txt", f"{fresh.id}.json", f"{theirs.id}.json"])


def test_a_grant_dated_in_the_future_is_refused_beyond_a_little_clock_skew(spool: Path) -> None:
    """A grant file claiming to be made later than now would live longer than any grant."""
    checker = grants(spool)
    ahead = made(spool, now=NOW + timedelta(seconds=CLOCK_SKEW_SECONDS + 1), seconds=60)
    assert refused(lambda: checker.check(ahead.id, "listen", [CALL])) == "future_grant"
    far = made(spool, now=NOW + timedelta(days=365), seconds=60)
    assert refused(lambda: checker.check(far.id, "listen", [CALL])) == "future_grant"
    skewed = made(spool, now=NOW + timedelta(seconds=CLOCK_SKEW_SECONDS - 5), seconds=60)
    assert checker.check(skewed.id, "listen", [CALL]).id == skewed.id


def store_config(tmp_path: Path, spool: Path) -> Path:
    config = tmp_path / "careline.yaml"
    config.write_text(
        f"agent:\n  id: agent-7\nmonitoring:\n  grant_dir: {spool}\n"
        f"  supervisor_accounts: ['{SUPERVISOR}']\n"
    )
    return config


async def test_a_used_grant_is_refused_after_the_agents_console_restarts(
    spool: Path, tmp_path: Path
) -> None:
    """The agent's account cannot delete the supervisor's file: the console remembers in
    its store which grants it let in, so a restart does not let the same grant in again."""
    config = load_config(store_config(tmp_path, spool), environ={})
    grant = made(spool)
    path = tmp_path / "store.sqlite3"
    for attempt in range(2):  # the console, then the console started again
        store = await Store.open(path)
        try:
            book = grant_book(config, lambda: NOW, store)
            assert book is not None
            if attempt == 0:
                assert (await book.verify(grant.id, "listen", [CALL])).id == grant.id
            else:
                with pytest.raises(GrantRefusedError) as caught:
                    await book.verify(grant.id, "listen", [CALL])
                assert caught.value.reason == "used"
                fresh = made(spool)
                assert (await book.verify(fresh.id, "listen", [CALL])).id == fresh.id
        finally:
            await store.close()


async def test_used_grant_ids_are_forgotten_once_no_grant_could_still_be_valid(
    spool: Path, store: Store
) -> None:
    first, second = made(spool), made(spool)
    assert (await grants(spool, store=store).verify(first.id, "listen", [CALL])).id == first.id
    assert (await grants(spool, store=store).verify(second.id, "listen", [CALL])).id == second.id
    rows = await store.fetch_all("SELECT grant_id FROM monitor_grants_used ORDER BY grant_id")
    assert [row[0] for row in rows] == sorted([first.id, second.id])
    later = NOW + timedelta(seconds=MAX_GRANT_SECONDS + CLOCK_SKEW_SECONDS + 1)
    third = made(spool, now=later)
    assert (await grants(spool, later, store).verify(third.id, "listen", [CALL])).id == third.id
    rows = await store.fetch_all("SELECT grant_id FROM monitor_grants_used")
    assert [row[0] for row in rows] == [third.id]
