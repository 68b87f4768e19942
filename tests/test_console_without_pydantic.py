# SPDX-License-Identifier: GPL-2.0-or-later
"""The console process does not load pydantic (issue 17: "fast and light").

The configuration and the script library are validated by careline's own small
model layer (:mod:`console.core.schema`); pydantic and its compiled core would
add about 14 MiB to every console's resident memory. Checked on a real
``careline run`` in a terminal, phone online, and in a plain interpreter that
loads the configuration and the whole library.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from bench.common import console_and_engine, isolated_home
from tests.support import ROOT, free_udp_port
from tests.tmux import TmuxSession


def mapped_files(pid: int) -> set[str]:
    """The files mapped into process ``pid`` (its shared libraries among them)."""
    lines = Path(f"/proc/{pid}/maps").read_text().splitlines()
    return {line.split(maxsplit=5)[5] for line in lines if len(line.split(maxsplit=5)) == 6}


def test_a_running_console_has_not_loaded_pydantic() -> None:
    """``import pydantic`` loads its compiled core (``_pydantic_core``): a console whose
    memory maps do not hold it never imported pydantic."""
    with isolated_home() as env:
        env["CARELINE_SIP__LISTEN"] = f"127.0.0.1:{free_udp_port()}"
        session = TmuxSession([sys.executable, "-m", "console", "run"], env)
        try:
            session.wait_for("phone online", 30)
            time.sleep(1)  # what loads behind the first frames has loaded
            console, _engine = console_and_engine(env["HOME"])
            files = mapped_files(console)
        finally:
            session.keys("q")
            time.sleep(0.5)
            session.kill()
    assert any("textual" in name or "python" in name for name in files)  # the maps were read
    assert [name for name in files if "pydantic" in name] == []


LOADS_EVERYTHING = """
import sys
from console.core.config import load_config
from console.core.scripts.loader import load_library
load_config(environ={})
library = load_library()
assert library.scripts and library.forms and library.worklists and library.evaluations
print("\\n".join(sorted(sys.modules)))
"""


def test_the_configuration_and_the_library_load_without_pydantic() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", LOADS_EVERYTHING],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "console.core.config.sections" in loaded
    assert [name for name in loaded if name.split(".")[0] in ("pydantic", "pydantic_core")] == []
