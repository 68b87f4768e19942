# SPDX-License-Identifier: GPL-2.0-or-later
"""Connections to the hub, and what a failure of one may say.

No error text here holds patient data or a password: hub errors are reduced
to their class and SQLSTATE (connection errors keep psycopg's message, which
names host and port only, with anything that looks like a password removed).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg

Connect = Callable[[], Awaitable[psycopg.AsyncConnection[Any]]]
"""Opens a new connection to the hub (autocommit or not: every use is a
``transaction()`` block)."""

ERROR_CHARS = 160
"""Longest failure text kept (in the status and on a parked row)."""

_SECRET = re.compile(r"(password|passwd|pwd)\s*=\s*\S+", re.IGNORECASE)


class HubUnavailableError(Exception):
    """The hub could not answer a lookup (message without PHI or password)."""


def hub_connector(
    conninfo: str, password: str | None = None, *, connect_timeout: int = 5
) -> Connect:
    """A :data:`Connect` for ``conninfo`` (libpq DSN or URL, without the password),
    with the password passed apart so that it never sits in a DSN string."""

    async def connect() -> psycopg.AsyncConnection[Any]:
        extra: dict[str, Any] = {"connect_timeout": connect_timeout}
        if password is not None:
            extra["password"] = password
        return await psycopg.AsyncConnection.connect(
            conninfo, autocommit=True, application_name="careline-console", **extra
        )

    return connect


async def close_quietly(conn: psycopg.AsyncConnection[Any] | None) -> None:
    """Close ``conn`` if it is open, whatever the hub or the network says."""
    if conn is not None and not conn.closed:
        with contextlib.suppress(psycopg.Error, OSError):
            await conn.close()


def describe_failure(exc: BaseException) -> str:
    """A short, PHI-free text for a failure."""
    if isinstance(exc, TimeoutError):
        return "the hub did not answer in time"
    if isinstance(exc, psycopg.OperationalError | OSError):
        # Connection failures name host and port; nothing of the data.
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        text = _SECRET.sub(r"\1=***", lines[0] if lines else type(exc).__name__)
        return f"hub unreachable: {text}"[:ERROR_CHARS]
    if isinstance(exc, psycopg.Error):
        # Other server messages may quote a value from a record.
        state = exc.sqlstate or "no SQLSTATE"
        return f"hub error {type(exc).__name__} ({state})"
    return type(exc).__name__
