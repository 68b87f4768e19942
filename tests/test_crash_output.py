# SPDX-License-Identifier: GPL-2.0-or-later
"""A console that crashes prints its traceback without the frames' local values
(they hold callers' names and numbers) and never exits 0."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support import ROOT

CRASHING_CONSOLE = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from console.app import AppWiring, CarelineApp
    from console.core.config import load_config
    from console.launch import _exit_code

    import console.app

    class Crashing(CarelineApp):
        CSS_PATH = str(Path(console.app.__file__).parent / "careline.tcss")

        async def on_mount(self) -> None:
            await super().on_mount()
            caller_name = sys.argv[2]  # in a local only, as a caller's name would be
            raise RuntimeError("the console fell over")

    folder = Path(sys.argv[1])
    config = load_config(environ={"CARELINE_UI__BELL": "false"})
    wiring = AppWiring(["true"], folder / "none.sock", folder / "store.sqlite3")
    app = Crashing(config, wiring, start_phone=False)
    sys.exit(_exit_code(app, app.run(headless=True)))
    """
)


def test_a_crash_prints_no_locals_and_exits_non_zero(tmp_path: Path) -> None:
    script = tmp_path / "crashing_console.py"  # a file: Textual reads the class's source
    script.write_text(CRASHING_CONSOLE, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path), "Maria SECRET-PATIENT Lopez"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = done.stdout + done.stderr
    assert "the console fell over" in output  # the traceback is there…
    assert "SECRET-PATIENT" not in output  # …without the frame's locals
    assert done.returncode == 1
