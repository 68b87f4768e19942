# SPDX-License-Identifier: GPL-2.0-or-later
"""The installed ``careline`` command: puts careline's packages on the path, then runs it.

Installed from the wheel, careline's packages (``console``, ``sip``, ``scripts_library``)
live in a private directory, ``careline/_app``, not at the top of site-packages, where
their generic names would shadow other projects' (or be shadowed by them): PyPI has a
``console`` package, and older PyQt installs a top-level ``sip`` module. Only careline's
own process puts that directory first on its path, and hands it on through
``PYTHONPATH`` to the processes it starts (the phone engine, the audio probes, the demo
caller), so a ``console`` or ``sip`` someone else installed stays importable as theirs
everywhere else. In a checkout (or an editable install) there is no ``_app`` directory:
the packages are importable as they are.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = Path(__file__).resolve().parent / "_app"
"""Where the wheel puts careline's packages."""


def use_private_packages() -> None:
    """Put :data:`APP` first on this process's path and its children's (when installed)."""
    if not APP.is_dir():
        return
    path = str(APP)
    if path not in sys.path:
        sys.path.insert(0, path)
    inherited = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = path if not inherited else os.pathsep.join([path, inherited])


def main() -> int:
    """Entry point of the ``careline`` console script; returns the exit code."""
    use_private_packages()
    from console.core.bytecode import run_optimized

    run_optimized()  # under -OO once compiled (same process): about 2 MiB less
    from console.cli import main as run

    return run()
