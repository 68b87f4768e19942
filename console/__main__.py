# SPDX-License-Identifier: GPL-2.0-or-later
"""``python -m console`` is the ``careline`` command."""

from console.cli import main

raise SystemExit(main())
