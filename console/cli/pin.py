# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline pin set``: set the PIN that signs the agent in and unlocks the console.

The PIN rules, its hash and its file are :mod:`console.core.pin`'s; this
module asks for the PIN and says what happened.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from console.cli.command import Command, Subcommands, config_of


def _set_arguments(set_: argparse.ArgumentParser) -> None:
    set_.add_argument(
        "--pin-stdin",
        action="store_true",
        help="read the PIN from the first line of stdin (for scripts; no confirmation)",
    )


def _set(args: argparse.Namespace) -> int:
    from console.core.pin import PinError, check_rules, hash_pin, pin_path, save_pin_file

    config = config_of(args)
    agent_id = config.agent.id
    path = pin_path(config.session.pin_file)
    if args.pin_stdin:
        pin = sys.stdin.readline().rstrip("\r\n")
    else:
        pin = getpass.getpass(f"New PIN for {agent_id}: ")
        if getpass.getpass("Again: ") != pin:
            print("careline: the two PINs differ; nothing changed", file=sys.stderr)
            return 1
    try:
        check_rules(pin)
    except PinError as exc:
        print(f"careline: {exc}", file=sys.stderr)
        return 1
    save_pin_file(path, agent_id, hash_pin(pin))
    print(f"PIN set for {agent_id} in {path}")
    return 0


PIN = Command(
    help="set the PIN that unlocks the console after an idle lock",
    description="Manage your unlock PIN (a salted hash in a 0600 file).",
    subcommands=Subcommands(
        "pin_command",
        "ACTION",
        {
            "set": Command(
                help="set the PIN that signs you in and unlocks your console "
                "(asked twice, not echoed)",
                description=(
                    "Set the PIN or passphrase that signs the configured agent.id in and "
                    "unlocks the console "
                    "(at least 6 digits, or 8+ characters). It is stored as a salted scrypt "
                    "hash in session.pin_file (mode 0600)."
                ),
                run=_set,
                add_arguments=_set_arguments,
            ),
        },
    ),
)
