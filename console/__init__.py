# SPDX-License-Identifier: GPL-2.0-or-later
"""careline: the agent console (Textual UI, CLI) and its plain-Python core.

Only the UI modules of this package import Textual; ``console.core`` and
``console.cli`` must stay importable without it (the engine process runs the
CLI and must not pay for a UI toolkit).
"""

__version__ = "0.1.0"
