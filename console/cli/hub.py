# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline hub``: set up and inspect the central PostgreSQL hub.

``init`` migrates the hub and creates the group roles; ``add-agent`` and
``add-supervisor`` create (or re-password) a login role; ``team`` puts a login in a
team (supervisors reach only their teams' agents); ``status`` shows the
schema version and row counts. Passwords come from files readable by their
owner only (or PGPASSWORD / ~/.pgpass for the connection), never from the
command line, and are never printed; errors are one line with an exit code:

- 1: the hub refused (privileges, a conflicting role, a database error)
- 2: usage (bad DSN, bad password file, bad name)
- 3: cannot connect
- 4: authentication failed

psycopg is imported only when a subcommand runs, so ``careline`` itself
starts without it.
"""

from __future__ import annotations

import argparse
import asyncio
import stat
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.cli.command import EXIT_USAGE, Command, Subcommands, config_of

if TYPE_CHECKING:
    import psycopg

    from console.core.config import CarelineConfig

EXIT_REFUSED = 1
EXIT_CONNECT = 3
EXIT_AUTH = 4


class HubCommandError(Exception):
    """A one-line error and the exit code that goes with it (the codes above)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _connection(command: argparse.ArgumentParser, *, password_flag: bool) -> None:
    command.add_argument(
        "--dsn",
        required=True,
        metavar="DSN",
        help="libpq connection string or URI of the hub database, as its owner "
        "(the password from PGPASSWORD, ~/.pgpass or a password file, not the DSN)",
    )
    flags = ["--dsn-password-file"]
    if password_flag:
        flags.insert(0, "--password-file")
    command.add_argument(
        *flags,
        dest="dsn_password_file",
        type=Path,
        metavar="FILE",
        help="file (mode 0600) holding the password for the DSN's user",
    )


def owner_connection_arguments(command: argparse.ArgumentParser) -> None:
    """``--dsn`` (required) and ``--password-file``: the hub owner's connection."""
    _connection(command, password_flag=True)


def _login_arguments(who: str) -> Callable[[argparse.ArgumentParser], None]:
    def add(command: argparse.ArgumentParser) -> None:
        command.add_argument("name", metavar="AGENT_ID" if who == "agent" else "NAME")
        _connection(command, password_flag=False)
        command.add_argument(
            "--password-file",
            required=True,
            type=Path,
            metavar="FILE",
            help=f"file (mode 0600) holding the {who}'s new password",
        )

    return add


def _runner(
    action: Callable[[psycopg.AsyncConnection[Any], argparse.Namespace], Awaitable[None]],
) -> Callable[[argparse.Namespace], int]:
    """Run ``action`` on a connection to the hub; a failure is one line and its exit code."""

    def run(args: argparse.Namespace) -> int:
        config_of(args)  # a configuration that does not load fails every command but doctor

        async def done(conn: psycopg.AsyncConnection[Any]) -> int:
            await action(conn, args)
            return 0

        return run_on_hub(args, "hub", done)

    return run


def hub_dsn_from_config(args: argparse.Namespace, config: CarelineConfig) -> bool:
    """For ``--hub`` without ``--dsn``: the configuration's ``hub.dsn`` into ``args.dsn``,
    with its password (``hub.password_file`` or its variable) unless ``--password-file``
    gives one; False when neither names a hub."""
    if args.dsn is not None:
        return True
    if not config.hub.dsn:
        return False
    from console.core.config import hub_password

    args.dsn = config.hub.dsn
    password = hub_password(config) if args.dsn_password_file is None else None
    if password:
        from psycopg.conninfo import make_conninfo

        args.dsn = make_conninfo(args.dsn, password=password)
    return True


def run_on_hub(
    args: argparse.Namespace,
    command: str,
    action: Callable[[psycopg.AsyncConnection[Any]], Awaitable[int]],
) -> int:
    """Run ``action`` on a connection to the hub ``args`` names (:func:`on_hub`): the
    exit status it returns, or, when the hub fails it, ``careline COMMAND: <why>`` on
    stderr and the failure's code."""
    codes: list[int] = []

    async def run(conn: psycopg.AsyncConnection[Any], _args: argparse.Namespace) -> None:
        codes.append(await action(conn))

    try:
        asyncio.run(on_hub(args, run))
    except HubCommandError as failure:
        print(f"careline {command}: {failure}", file=sys.stderr)
        return failure.code
    return codes[0]


def read_password_file(path: Path) -> str:
    """The password in ``path`` (its first line), if only its owner can read it."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise HubCommandError(f"{path} is not a file", EXIT_USAGE)
        if info.st_mode & 0o077:
            raise HubCommandError(
                f"{path} can be read by others: `chmod 600 {path}` first", EXIT_USAGE
            )
        text = path.read_text("utf-8")
    except OSError as exc:
        raise HubCommandError(f"cannot read {path}: {exc.strerror}", EXIT_USAGE) from None
    except UnicodeDecodeError:
        raise HubCommandError(f"{path} is not UTF-8 text", EXIT_USAGE) from None
    password = text.splitlines()[0] if text else ""
    if not password:
        raise HubCommandError(f"{path} holds no password", EXIT_USAGE)
    return password


def _where(params: dict[str, Any]) -> str:
    host = params.get("host") or params.get("hostaddr") or "local socket"
    port = params.get("port") or "5432"
    return f"{host}:{port}/{params.get('dbname') or params.get('user') or ''}"


async def on_hub(
    args: argparse.Namespace,
    action: Callable[[psycopg.AsyncConnection[Any], argparse.Namespace], Awaitable[None]],
) -> None:
    """Run ``action`` on a connection to the hub ``args.dsn`` names (password from
    ``args.dsn_password_file``, PGPASSWORD or ~/.pgpass); :class:`HubCommandError`
    with a one-line message and its exit code when the hub cannot be reached, refuses
    the login or fails the action."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict

    from console.hub.schema import HubError

    try:
        params = conninfo_to_dict(args.dsn)
    except psycopg.ProgrammingError:
        # The parser's message can quote the DSN, password included.
        raise HubCommandError("--dsn is not a valid connection string or URI", EXIT_USAGE) from None
    overrides: dict[str, Any] = {"connect_timeout": params.get("connect_timeout") or 10}
    if args.dsn_password_file is not None:
        overrides["password"] = read_password_file(args.dsn_password_file)
    where = _where(params)
    try:
        conn = await psycopg.AsyncConnection.connect(args.dsn, **overrides)
    except psycopg.OperationalError as exc:
        raise _connect_failure(exc, where, params) from None
    try:
        async with conn:
            await action(conn, args)
    except HubError as exc:
        raise HubCommandError(str(exc), EXIT_REFUSED) from None
    except psycopg.errors.InsufficientPrivilege as exc:
        raise HubCommandError(
            f"not allowed on {where}: {exc.diag.message_primary} "
            "(the DSN's user must own the database and be able to create roles)",
            EXIT_REFUSED,
        ) from None
    except psycopg.OperationalError as exc:
        raise HubCommandError(
            f"lost the connection to {where}: {_reason(exc)}", EXIT_CONNECT
        ) from None
    except psycopg.Error as exc:
        raise HubCommandError(
            f"the hub at {where} refused: {exc.diag.message_primary or type(exc).__name__}",
            EXIT_REFUSED,
        ) from None


def _reason(exc: Exception) -> str:
    # libpq's first line names the server; the detail is on the last one.
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    last = lines[-1] if not lines[-1].startswith("Is the server") else lines[0]
    return last.rsplit("failed: ", 1)[-1]


def _connect_failure(exc: Exception, where: str, params: dict[str, Any]) -> HubCommandError:
    text = str(exc)
    user = params.get("user") or "(default user)"
    if "password authentication failed" in text or "authentication failed" in text:
        return HubCommandError(f"authentication failed for {user} on {where}", EXIT_AUTH)
    if "no password supplied" in text or "password is required" in text:
        return HubCommandError(
            f"{where} wants a password for {user}: use --password-file, PGPASSWORD or ~/.pgpass",
            EXIT_AUTH,
        )
    return HubCommandError(f"cannot connect to {where}: {_reason(exc)}", EXIT_CONNECT)


async def _init(conn: psycopg.AsyncConnection[Any], args: argparse.Namespace) -> None:
    del args
    from console.hub.schema import current_version, migrate

    applied = await migrate(conn)
    version = await current_version(conn)
    if applied:
        print(f"hub schema at version {version} (applied {', '.join(map(str, applied))})")
    else:
        print(f"hub schema already at version {version}")


async def _add_login(conn: psycopg.AsyncConnection[Any], args: argparse.Namespace) -> None:
    from console.hub.schema import HubError, LoginKind, add_login, check_login_name

    kind: LoginKind = "agent" if args.hub_command == "add-agent" else "supervisor"
    try:
        check_login_name(args.name)
    except HubError as exc:
        raise HubCommandError(str(exc), EXIT_USAGE) from None
    password = read_password_file(args.password_file)
    created = await add_login(conn, args.name, password, kind)
    print(f"{kind} {args.name} {'created' if created else 'updated (new password)'}")


async def _team(conn: psycopg.AsyncConnection[Any], args: argparse.Namespace) -> None:
    from console.hub.schema import HubError
    from console.hub.teams import set_member

    try:
        print(await set_member(conn, args.team, args.login, remove=args.remove))
    except HubError as exc:
        raise HubCommandError(str(exc), EXIT_USAGE) from None


def _team_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("team", metavar="TEAM")
    command.add_argument("login", metavar="LOGIN", help="an agent or supervisor login")
    command.add_argument("--remove", action="store_true", help="take LOGIN out of TEAM")
    owner_connection_arguments(command)


async def _status(conn: psycopg.AsyncConnection[Any], args: argparse.Namespace) -> None:
    del args
    from console.hub.schema import status

    report = await status(conn)
    if report.version == 0:
        print(f"hub not initialised (careline knows version {report.latest})")
    else:
        behind = "" if report.version >= report.latest else f" (latest {report.latest})"
        print(f"schema version {report.version}{behind}")
    for name, count in report.counts.items():
        print(f"{name + ':':<14}{count}")


def _login(who: str) -> Command:
    return Command(
        help=f"create a {who} login role, or set its password",
        description=f"Create the login role for a {who} (a member of careline_{who}), "
        "or replace its password if it exists.",
        run=_runner(_add_login),
        add_arguments=_login_arguments(who),
    )


HUB = Command(
    help="set up the central PostgreSQL hub: schema, agents, supervisors",
    description="Initialise the hub database, add agent and supervisor logins, show its status.",
    subcommands=Subcommands(
        "hub_command",
        "ACTION",
        {
            "init": Command(
                help="create or upgrade the hub schema and its roles",
                description="Apply the hub migrations and create the careline_agent and "
                "careline_supervisor roles. Safe to run again.",
                run=_runner(_init),
                add_arguments=owner_connection_arguments,
            ),
            "add-agent": _login("agent"),
            "add-supervisor": _login("supervisor"),
            "team": Command(
                help="put a login in a team (supervisors reach only their teams' agents)",
                description="Put an agent or supervisor login in TEAM, or take it out with "
                "--remove. A supervisor reads and writes the evaluations of the agents of "
                "every team they are in, reports on them, reads their recordings and "
                "listens in on their calls; a supervisor of no team reaches no agent.",
                run=_runner(_team),
                add_arguments=_team_arguments,
            ),
            "status": Command(
                help="show the hub's schema version and row counts",
                description="Print the schema version, rows per table and logins per role.",
                run=_runner(_status),
                add_arguments=owner_connection_arguments,
            ),
        },
    ),
)
