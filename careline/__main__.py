# SPDX-License-Identifier: GPL-2.0-or-later
"""``python -m careline`` is the ``careline`` command."""

from careline import main

raise SystemExit(main())
