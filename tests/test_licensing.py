# SPDX-License-Identifier: GPL-2.0-or-later
"""careline's licence and its third-party notices (issue 22).

careline ships with pjsua2 (GPL-2.0-or-later), so it is GPL-2.0-or-later itself; every
package it installs at run time must be named, with its licence, in THIRD_PARTY_NOTICES.md.
A dependency added to ``pyproject.toml`` without a notice fails here.
"""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
NOTICES = ROOT / "THIRD_PARTY_NOTICES.md"


def pyproject() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def runtime_requirements() -> list[Requirement]:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    return [Requirement(text) for text in project["dependencies"]]


def noticed() -> set[str]:
    """The package names in the notices' tables (first column), canonicalised."""
    names: set[str] = set()
    for line in NOTICES.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"\|\s*([A-Za-z0-9_.\-]+)\s*\|", line):
            names.add(canonicalize_name(m.group(1)))
    return names


def closure(requirements: list[Requirement]) -> set[str]:
    """The runtime requirements and everything they pull in on this platform (with the
    extras asked for), by the installed distributions' metadata."""
    seen: set[tuple[str, str]] = set()  # (package, extra): one package may be asked twice
    todo = [(req.name, extra) for req in requirements for extra in ("", *req.extras)]
    while todo:
        name, extra = todo.pop()
        if (canonicalize_name(name), extra) in seen:
            continue
        seen.add((canonicalize_name(name), extra))
        for text in importlib.metadata.requires(name) or []:
            child = Requirement(text)
            if child.marker is None or child.marker.evaluate({"extra": extra}):
                todo.extend((child.name, e) for e in ("", *child.extras))
    return {name for name, _ in seen}


def test_careline_is_gpl_2_or_later_like_the_phone_library_it_ships() -> None:
    project = pyproject()["project"]
    assert isinstance(project, dict)
    assert project["license"] == "GPL-2.0-or-later"
    assert set(project["license-files"]) == {"LICENSE", "THIRD_PARTY_NOTICES.md"}
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "GNU GENERAL PUBLIC LICENSE" in text
    assert "Version 2, June 1991" in text
    assert "any later version" in text  # the "or later" the SPDX expression claims


def test_every_runtime_dependency_is_in_the_notices() -> None:
    missing = {canonicalize_name(r.name) for r in runtime_requirements()} - noticed()
    assert not missing, f"add to THIRD_PARTY_NOTICES.md: {sorted(missing)}"


def test_everything_the_dependencies_pull_in_is_in_the_notices() -> None:
    pulled = closure(runtime_requirements())
    assert "rich" in pulled  # a dependency's dependency
    assert "linkify-it-py" in pulled  # through an extra asked by a dependency
    assert "cryptography" in pulled  # through an extra (pyjwt[crypto])
    missing = pulled - noticed()
    assert not missing, f"add to THIRD_PARTY_NOTICES.md: {sorted(missing)}"


def test_the_phone_library_and_what_it_links_are_named() -> None:
    text = NOTICES.read_text(encoding="utf-8")
    for part in ("pjproject 2.15.1", "libSRTP", "Speex", "GSM", "iLBC", "G.722.1", "OpenSSL"):
        assert part in text, part


HEADER = "# SPDX-License-Identifier: GPL-2.0-or-later"
"""The header convention: the first line of every Python file (after a ``#!`` line)."""


def test_every_python_file_says_its_licence_in_its_first_line() -> None:
    folders = ("careline", "console", "sip", "scripts_library", "tests", "bench", "pjproject")
    missing = []
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            lines = path.read_text(encoding="utf-8").splitlines()[:2]
            first = lines[1:2] if lines[:1] and lines[0].startswith("#!") else lines[:1]
            if first != [HEADER]:
                missing.append(str(path.relative_to(ROOT)))
    assert not missing, f"start these with {HEADER!r}: {missing}"
