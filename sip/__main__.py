# SPDX-License-Identifier: GPL-2.0-or-later
"""``python -m sip`` is the engine process (:func:`sip.server.main`)."""

from sip.server import main

raise SystemExit(main())
