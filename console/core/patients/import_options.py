# SPDX-License-Identifier: GPL-2.0-or-later
"""The figures ``careline patients import`` names in its arguments and help: the file
formats, the batch size and the rejection limit. Apart from the importers so that
building ``careline``'s argument parser does not load them (nor the directory)."""

from __future__ import annotations

from typing import Literal

Format = Literal["fhir", "ndjson", "csv"]
"""An import file's format (``--format``; ``auto`` guesses it from the file)."""
FORMATS: tuple[Format, ...] = ("fhir", "ndjson", "csv")

BATCH_SIZE = 500
"""Records checked and written together: one directory write, so one transaction per
kind (patients, other resources). At most the directory's own write batch."""
MAX_REJECTED = 100
"""Rejections after which an import stops (``--max-rejected``)."""
