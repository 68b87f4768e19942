# SPDX-License-Identifier: GPL-2.0-or-later
"""House rules about the code's structure, enforced (docs/architecture.md).

The import rules are import-linter contracts in ``pyproject.toml`` (layers, no
cycles, no Textual in the core, services, hub or engine, pjsua2 only in ``sip``,
and ``sip`` never imports the console); ``make test``
runs ``lint-imports`` and so does this file, so a plain ``pytest`` sees a broken
contract too.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

MAX_LINES = 500
"""A module longer than this needs a ``# size: <why>`` comment near its top."""
CODE_FOLDERS = ("console", "sip", "scripts_library", "bench", "tests", "pjproject")


def test_the_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr


def oversized(paths: list[Path], root: Path = ROOT) -> list[str]:
    """Modules over MAX_LINES lines without a ``# size:`` comment in their first 30 lines."""
    offenders = []
    for path in paths:
        lines = path.read_text(encoding="utf-8").splitlines()
        excused = any(line.startswith("# size: ") for line in lines[:30])
        if len(lines) > MAX_LINES and not excused:
            offenders.append(f"{path.relative_to(root)}: {len(lines)} lines")
    return offenders


def test_no_module_is_over_500_lines_without_saying_why() -> None:
    paths = [path for folder in CODE_FOLDERS for path in (ROOT / folder).rglob("*.py")]
    assert len(paths) > 100
    assert oversized(paths) == []


def test_the_size_rule_catches_a_long_module_and_accepts_a_reason(tmp_path: Path) -> None:
    long = tmp_path / "long.py"
    long.write_text("x = 1\n" * (MAX_LINES + 1), encoding="utf-8")
    assert oversized([long], tmp_path) == [f"long.py: {MAX_LINES + 1} lines"]
    long.write_text("# size: one table\n" + "x = 1\n" * MAX_LINES, encoding="utf-8")
    assert oversized([long], tmp_path) == []


HEAVY_FOR_THE_CLI = ("textual", "pjsua2", "httpx", "jwt", "cryptography", "psycopg")
"""Loaded only by the commands that use them: every ``careline`` start (the console, the
demo) builds the whole command line first, and each of these costs memory and time
(the EHR client's httpx, PyJWT and cryptography alone: 14 MiB of a running console)."""


def test_protocol_and_cli_load_without_textual_pjsua2_or_the_ehr_and_hub_clients() -> None:
    code = (
        "import sys, console.cli, console.core.phone, sip.protocol, sip.server;"
        "console.cli.build_parser();"
        f"bad = [m for m in {HEAVY_FOR_THE_CLI!r} if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
