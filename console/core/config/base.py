# SPDX-License-Identifier: GPL-2.0-or-later
"""What every part of the configuration shares: its model base and its limits."""

from __future__ import annotations

from console.core.bounded_load import Limits
from console.core.schema import BaseModel, ConfigDict

ENV_PREFIX = "CARELINE_"
"""Environment variables that override settings start with this."""
ENV_NAME = r"^[A-Z_][A-Z0-9_]*$"
"""What a setting naming an environment variable must look like."""
CONFIG_LIMITS = Limits(max_bytes=1_000_000)
"""A configuration is a few kilobytes: past these it is a mistake or an attack, not a config."""


class Section(BaseModel):
    """A part of the configuration: unknown settings are refused, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
