"""Nothing lost, nothing forged (issue 15) on a real PostgreSQL hub.

A non-superuser hub owner (the README's set-up) can reset an agent's password.
"""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from console.hub.schema import migrations
from tests.pg import PgCluster
from tests.test_hub_schema import careline, secret_file


def _drop(cluster: PgCluster, dbname: str) -> None:
    if not cluster.running:
        cluster.start()
    with psycopg.connect(cluster.superuser_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


def _plain_owner(cluster: PgCluster) -> tuple[str, str, str]:
    """(owner role, its password, a database it owns), as the README sets them up."""
    tag = uuid.uuid4().hex[:10]
    owner, password, dbname = f"owner_{tag}", secrets.token_urlsafe(12), f"owned_{tag}"
    if not cluster.running:
        cluster.start()
    with psycopg.connect(cluster.superuser_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE PASSWORD {}").format(
                sql.Identifier(owner), sql.Literal(password)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(owner)
            )
        )
    return owner, password, dbname


def login(prefix: str) -> str:
    """A login name no other test of the session uses (roles are cluster-wide)."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- a non-superuser owner -----------------------------------------------------


def test_a_createrole_owner_resets_an_agents_password(
    pg_cluster: PgCluster, tmp_path: Path
) -> None:
    owner, password, dbname = _plain_owner(pg_cluster)
    agent = login("agent")
    try:
        dsn = pg_cluster.dsn(owner, None, dbname)
        owner_pw = secret_file(tmp_path / "owner.pw", password)
        init = careline("init", "--dsn", dsn, "--password-file", str(owner_pw))
        assert init.returncode == 0, init.stderr
        assert f"version {migrations()[-1].version}" in init.stdout
        results = []
        for n in (1, 2):
            pw = secret_file(tmp_path / f"agent{n}.pw", f"agent-Secret-{n}")
            results.append(
                careline(
                    "add-agent",
                    agent,
                    "--dsn",
                    dsn,
                    "--dsn-password-file",
                    str(owner_pw),
                    "--password-file",
                    str(pw),
                )  # fmt: skip
            )
        assert [result.returncode for result in results] == [0, 0], results[-1].stderr
        assert results[0].stdout.strip() == f"agent {agent} created"
        assert results[1].stdout.strip() == f"agent {agent} updated (new password)"
        with psycopg.connect(pg_cluster.dsn(agent, "agent-Secret-2", dbname)) as conn:
            row = conn.execute("SELECT session_user, pg_has_role('careline_agent', 'MEMBER')")
            assert row.fetchone() == (agent, True)
        with pytest.raises(psycopg.OperationalError, match="authentication failed"):
            psycopg.connect(pg_cluster.dsn(agent, "agent-Secret-1", dbname)).close()
    finally:
        _drop(pg_cluster, dbname)
