# SPDX-License-Identifier: GPL-2.0-or-later
"""The one error the headset raises, worded for the agent."""

from __future__ import annotations

__all__ = ["HeadsetError"]


class HeadsetError(RuntimeError):
    """The headset cannot be used (message fit for the agent: which device, why, what to do)."""
