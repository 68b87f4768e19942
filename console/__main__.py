# SPDX-License-Identifier: GPL-2.0-or-later
"""``python -m console`` is the ``careline`` command (under ``-OO`` once compiled)."""

from console.core.bytecode import run_optimized

run_optimized()

from console.cli import main  # noqa: E402  (after the re-exec: loaded once, optimized)

raise SystemExit(main())
