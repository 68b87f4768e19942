# SPDX-License-Identifier: GPL-2.0-or-later
"""The configuration's error, alone: raised and caught all over careline, including by
the engine and the CLI, which should not load the configuration's models to name it."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration problem, worded for the person who wrote the file."""
