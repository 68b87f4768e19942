# SPDX-License-Identifier: GPL-2.0-or-later
"""One line of the help screen: a key, what it does, and its id for remapping.

Apart from the help dialog because the console checks its keymap against these
rows at start-up (every binding id), while the dialog loads when help first opens.
"""

from __future__ import annotations

from console.core.records import dataclass


@dataclass(frozen=True, slots=True)
class KeyHelp:
    """One line of the help screen."""

    keys: str
    description: str
    binding_id: str
    tooltip: str
