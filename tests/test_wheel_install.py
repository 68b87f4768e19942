# SPDX-License-Identifier: GPL-2.0-or-later
"""careline installed from its wheel into a clean venv, as a user who never clones it (issue 22).

The wheel is built from this checkout and installed with its dependencies (from PyPI, or
pip's cache) next to another project that owns top-level ``console`` and ``sip`` modules,
as PyPI's ``console`` and older PyQt installs do. Both must stay importable as their own,
and careline must still run — ``doctor``, and the demo in a terminal — from a directory
that is not the checkout. The engine and the probes careline starts are child processes:
they find careline's ``sip`` only if the launcher hands its private path on.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.tmux import TmuxSession

ROOT = Path(__file__).resolve().parent.parent


def other_wheel(folder: Path) -> Path:
    """A wheel of another project owning top-level ``console`` and ``sip``, made by hand (no
    build tool, no network)."""
    wheel = folder / "someone_elses_console-1.0-py3-none-any.whl"
    dist = "someone_elses_console-1.0.dist-info"
    files = {
        "console/__init__.py": 'OWNER = "someone else"\n',
        "sip.py": 'OWNER = "someone else"\n',
        f"{dist}/METADATA": "Metadata-Version: 2.1\nName: someone-elses-console\nVersion: 1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
        archive.writestr(f"{dist}/RECORD", "".join(f"{n},,\n" for n in [*files, f"{dist}/RECORD"]))
    return wheel


@dataclass(frozen=True)
class Installed:
    """The clean venv careline's wheel went into, and the wheel."""

    venv: Path
    wheel: Path

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def careline(self) -> str:
        return str(self.venv / "bin" / "careline")


def pip_environment() -> dict[str, str]:
    """pip with the user's cache (the tests' HOME is a throwaway one), quiet."""
    cache = Path(pwd.getpwuid(os.getuid()).pw_dir) / ".cache" / "pip"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(PIP_CACHE_DIR=str(cache), PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def run(*argv: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, cwd=cwd, env=pip_environment(), capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    tmp = tmp_path_factory.mktemp("wheel")
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", "dist", str(ROOT), cwd=tmp
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("careline-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = str(venv / "bin" / "pip")
    result = run(pip, "install", "-q", str(wheel), cwd=tmp)
    assert result.returncode == 0, result.stderr
    result = run(pip, "install", "-q", str(other_wheel(tmp)), cwd=tmp)
    assert result.returncode == 0, result.stderr
    return Installed(venv, wheel)


def test_the_wheel_installs_one_top_level_package_with_the_licences(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as archive:
        names = archive.namelist()
    tops = {name.split("/", 1)[0] for name in names}
    assert tops == {"careline", "careline-0.1.0.dist-info"}
    assert "careline/_app/console/_defaults/careline.yaml" in names  # the embedded defaults
    assert any(n.startswith("careline/_app/console/core/migrations/0001") for n in names)
    assert any(n.startswith("careline/_app/scripts_library/scripts/") for n in names)
    licences = {n.rsplit("/", 1)[1] for n in names if "/licenses/" in n}
    assert licences == {"LICENSE", "THIRD_PARTY_NOTICES.md"}


def test_another_projects_console_and_sip_stay_theirs(installed: Installed, tmp_path: Path) -> None:
    theirs = "import console, sip; print(console.OWNER, '/', sip.OWNER)"
    result = run(installed.python, "-c", theirs, cwd=tmp_path)
    assert result.stdout.strip() == "someone else / someone else", result.stderr
    version = run(installed.careline, "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith("careline ")


def test_doctor_runs_from_any_directory(installed: Installed, tmp_path: Path) -> None:
    env = pip_environment()
    result = subprocess.run(
        [installed.careline, "doctor"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Exit 1 on a machine with no headset (the default audio mode) is the doctor's verdict,
    # not a failure to run: every check must have reported.
    assert result.returncode in (0, 1), result.stderr
    out = result.stdout
    assert "config        defaults only" in out
    assert "migrations" in out  # the store, from the wheel's migrations
    assert "pjsua2 loads" in out  # a child process (-m sip.audio_probe) found careline's sip
    assert "Traceback" not in out + result.stderr


def test_the_demo_runs_from_the_wheel_in_a_terminal(installed: Installed, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k.startswith(("XDG_", "HOME", "PATH"))}
    env["TERM"] = "xterm-256color"
    session = TmuxSession(
        ["sh", "-c", f"cd {tmp_path} && exec {installed.careline} demo --interval 1"], env
    )
    try:
        session.wait_for("phone online", 60)  # the engine: python -m sip, from careline/_app
        session.wait_for("ringing", 30)
        session.keys("a")
        session.wait_for("talking", 15)
        session.keys("h")
        session.wait_for("ctrl+s save", 15)  # the wrap-up: its forms came from the wheel too
        session.keys("r")  # disposition: resolved (its hot key)
        time.sleep(0.3)
        session.keys("C-s")
        session.wait_for("Ready", 15)
        session.keys("q")
        time.sleep(0.5)
        if "anyway?" in session.screen():
            session.keys("y")
        session.wait_for("CARELINE-EXIT 0", 30)
    finally:
        session.kill()
