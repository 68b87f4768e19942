# SPDX-License-Identifier: GPL-2.0-or-later
"""What ``patients sync`` fetches and in what page sizes: the figures its arguments and
help text name, apart from the sync itself so that building ``careline``'s argument
parser does not load the patient directory."""

from __future__ import annotations

SYNCED_TYPES = ("Patient", "PractitionerRole", "CareTeam", "MedicationRequest", "Appointment")
"""What the directory keeps, patients first (their clinical resources may come in any
order: they are stored against the patient's key)."""
PAGE_SIZE = 200
"""Resources asked for per page (``_count``)."""
MAX_PAGE_SIZE = 1000
"""The largest ``_count`` asked for."""
