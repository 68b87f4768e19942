# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline doctor``: run the checks of :mod:`console.doctor` and print them."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import TYPE_CHECKING

from console.cli.command import Command

if TYPE_CHECKING:
    from console.doctor import Check, Status

SYMBOLS: dict[Status, str] = {"ok": "✓", "warn": "!", "fail": "✗", "skip": "-"}


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the checks as a JSON list")
    parser.add_argument(
        "--engine",
        action="store_true",
        help="when no engine is running, start one briefly to test SIP registration",
    )


def _run(args: argparse.Namespace) -> int:
    """Run every check, print them, and return the exit code (1 if any failed)."""
    import asyncio

    from console.doctor import diagnose

    # No config_of(args) first: a configuration that does not load is one of the findings.
    checks = asyncio.run(diagnose(args.config, start_engine=args.engine))
    if args.json:
        print(json.dumps([asdict(check) for check in checks], indent=2))
    else:
        print(render(checks))
    return 1 if any(check.status == "fail" for check in checks) else 0


def render(checks: list[Check]) -> str:
    """Aligned lines: symbol, name, detail; the fix indented under it."""
    width = max((len(check.name) for check in checks), default=0)
    lines: list[str] = []
    for check in checks:
        lines.append(f"{SYMBOLS[check.status]} {check.name:<{width}}  {check.detail}")
        if check.fix:
            lines.append(f"  {'':<{width}}  fix: {check.fix}")
    return "\n".join(lines)


DOCTOR = Command(
    help="check the store, engine socket, registration, audio, hub, clock and TLS",
    description="Check what careline needs on this machine and print what to fix.",
    run=_run,
    add_arguments=_arguments,
)
