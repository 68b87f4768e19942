# SPDX-License-Identifier: GPL-2.0-or-later
"""A real, throwaway PostgreSQL cluster for the hub tests.

``pg_cluster`` (session) runs ``initdb`` into a temporary directory as an
unprivileged system user (``careline-pg``, created if missing, because
``initdb`` refuses root), with SCRAM password authentication on 127.0.0.1 and
a free port, and stops it when the session ends. ``hub`` (per test) creates a
fresh database on it, migrates it to the current hub schema and drops it
afterwards.

Use it from a test module with the fixtures ``pg_cluster`` and ``hub``::

    async def test_x(hub: Hub) -> None:
        alice = hub.add_agent("alice")          # a DSN that logs in as alice
        async with await psycopg.AsyncConnection.connect(alice) as conn: ...

Tests may ``pg_cluster.stop()`` and ``pg_cluster.start()`` to simulate the hub
being down; the port and the data survive.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from console.hub.schema import add_login, migrate
from console.hub.teams import set_member
from tests.support import free_tcp_port

PG_USER = "careline-pg"
"""The system user the test cluster runs as when the tests run as root."""
SUPERUSER = "careline_admin"
"""The cluster's superuser role."""
_T = TypeVar("_T")


def find_pg_bin() -> Path:
    """The newest installed PostgreSQL server ``bin`` directory, or a test failure."""
    override = os.environ.get("CARELINE_PG_BIN")
    candidates = [Path(override)] if override else []
    # The newest major wins, so Debian's next release works unchanged.
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "pg_ctl").is_file():
            return candidate
    pytest.fail(
        "PostgreSQL server binaries (initdb, pg_ctl) were not found in /usr/lib/postgresql/*/bin. "
        "Run the README test command (`make test`), which installs the Debian `postgresql` "
        "package, or set CARELINE_PG_BIN.",
        pytrace=False,
    )


def _ensure_user() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam(PG_USER)
    except KeyError:
        # Not check=True: another test session may create it at the same moment.
        done = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            entry = pwd.getpwnam(PG_USER)
        except KeyError:
            raise RuntimeError(f"cannot create user {PG_USER}: {done.stderr.strip()}") from None
    return entry.pw_uid, entry.pw_gid


def run_async(coro: Coroutine[Any, Any, _T]) -> _T:
    """Run ``coro`` to completion on a private loop in a worker thread.

    Sync fixtures use this, so they never touch the event loop pytest-asyncio
    gives the test.
    """
    result: list[_T] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=work, name="pg-fixture")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


class PgCluster:
    """A PostgreSQL cluster in a temporary directory, on 127.0.0.1:``port``."""

    def __init__(self) -> None:
        self.bin = find_pg_bin()
        self.as_root = os.geteuid() == 0
        self.root = Path(tempfile.mkdtemp(prefix="careline-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_tcp_port()
        """The TCP port on 127.0.0.1."""
        self.superuser_password = secrets.token_urlsafe(18)
        self.superuser = SUPERUSER
        self._running = False
        if self.as_root:
            uid, gid = _ensure_user()
            # mkdtemp made it 0700 root: hand it to the cluster's user.
            os.chown(self.root, uid, gid)
        self._init()

    @property
    def superuser_dsn(self) -> str:
        """A DSN for the cluster's superuser on the ``postgres`` database."""
        return self.dsn(self.superuser, self.superuser_password)

    @property
    def running(self) -> bool:
        """The server was started and not stopped since."""
        return self._running

    def dsn(self, user: str, password: str | None = None, dbname: str = "postgres") -> str:
        """A libpq DSN for ``user`` over TCP on 127.0.0.1."""
        params: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "dbname": dbname,
            "user": user,
            "connect_timeout": 5,
        }
        if password is not None:
            params["password"] = password
        return make_conninfo(**params)

    def _run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", PG_USER, "--"] if self.as_root else []
        return subprocess.run(
            [*prefix, *argv],
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def _init(self) -> None:
        pwfile = self.root / "superuser.pw"
        pwfile.write_text(self.superuser_password + "\n")
        pwfile.chmod(0o600)
        if self.as_root:
            os.chown(pwfile, *_ensure_user())
        done = self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            self.superuser,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=scram-sha-256",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        pwfile.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed ({done.returncode}): {done.stderr[-2000:]}")
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
            "log_min_messages": "warning",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# careline test cluster\n")
            for key, value in settings.items():
                conf.write(f"{key} = {value}\n")

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        done = self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start"
        )
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}\n{tail}")
        self._running = True

    def stop(self) -> None:
        """Stop the server (fast: open sessions are cut off)."""
        if not self.data.exists():
            # The files are gone (removed under us): no server can run from them.
            self._running = False
            return
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        if done.returncode != 0 and "not running" not in done.stderr:
            raise RuntimeError(f"pg_ctl stop failed: {done.stdout}{done.stderr}")
        self._running = False

    def remove(self) -> None:
        """Delete the cluster's files (stop it first)."""
        shutil.rmtree(self.root, ignore_errors=True)


class Hub:
    """A freshly migrated hub database on the test cluster."""

    def __init__(self, cluster: PgCluster, dbname: str) -> None:
        self.cluster = cluster
        self.dbname = dbname
        self.passwords: dict[str, str] = {}
        """The password of every login added through this object."""

    @property
    def owner_dsn(self) -> str:
        """The cluster superuser on this database (the hub owner here)."""
        return self.cluster.dsn(
            self.cluster.superuser, self.cluster.superuser_password, self.dbname
        )

    def dsn(self, user: str, password: str | None = None) -> str:
        """A DSN for ``user`` on this database (password: the one it was added with)."""
        return self.cluster.dsn(user, password or self.passwords.get(user), self.dbname)

    def _add(self, name: str, password: str | None, kind: Any) -> str:
        secret = password or secrets.token_urlsafe(12)

        async def work() -> None:
            async with await psycopg.AsyncConnection.connect(self.owner_dsn) as conn:
                await add_login(conn, name, secret, kind)

        run_async(work())
        self.passwords[name] = secret
        return self.dsn(name, secret)

    def add_agent(self, agent_id: str, password: str | None = None) -> str:
        """Create (or update) the agent login ``agent_id``; returns its DSN."""
        return self._add(agent_id, password, "agent")

    def add_supervisor(self, name: str, password: str | None = None) -> str:
        """Create (or update) the supervisor login ``name``; returns its DSN."""
        return self._add(name, password, "supervisor")

    def team(self, team: str, *logins: str) -> None:
        """Put ``logins`` (added before) in ``team``, each in its group's role: a
        supervisor of the team supervises its agents (hub version 7)."""

        async def work() -> None:
            async with await psycopg.AsyncConnection.connect(self.owner_dsn) as conn:
                for login in logins:
                    await set_member(conn, team, login)

        run_async(work())


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A running PostgreSQL cluster for the whole test session."""
    cluster = PgCluster()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        cluster.remove()


@pytest.fixture
def hub(pg_cluster: PgCluster) -> Iterator[Hub]:
    """A fresh, migrated hub database for one test; dropped afterwards."""
    if not pg_cluster.running:
        pg_cluster.start()
    dbname = f"hub_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster.superuser_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
    hub = Hub(pg_cluster, dbname)

    async def setup() -> None:
        async with await psycopg.AsyncConnection.connect(hub.owner_dsn) as conn:
            await migrate(conn)

    run_async(setup())
    yield hub
    # A test may leave the hub down to simulate an outage.
    if not pg_cluster.running:
        pg_cluster.start()
    with psycopg.connect(pg_cluster.superuser_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
