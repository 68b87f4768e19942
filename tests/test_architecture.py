"""House rules about the code's structure, enforced."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.support import ROOT

PACKAGES = ("console", "sip", "scripts_library")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def sources() -> list[Path]:
    return [path for package in PACKAGES for path in (ROOT / package).rglob("*.py")]


def test_only_console_ui_modules_import_textual() -> None:
    offenders = []
    for path in sources():
        rel = path.relative_to(ROOT)
        ui = rel.parts[0] == "console" and rel.parts[1] not in (
            "core",
            "cli.py",
            "__init__.py",
            "__main__.py",
            "launch.py",
        )
        if not ui and {"textual", "rich"} & imported_modules(path):
            if rel.parts[:2] == ("console", "core") and "textual" not in imported_modules(path):
                continue  # rich's cell-width helper is fine in the core; Textual is not
            offenders.append(str(rel))
    assert offenders == []


def test_only_sip_imports_pjsua2() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources()
        if "pjsua2" in imported_modules(path) and path.relative_to(ROOT).parts[0] != "sip"
    ]
    assert offenders == []


def test_protocol_and_cli_load_without_textual_or_pjsua2() -> None:
    code = (
        "import sys, console.cli, console.core.phone, sip.protocol, sip.server;"
        "bad = [m for m in ('textual', 'pjsua2') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
