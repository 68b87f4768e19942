# SPDX-License-Identifier: GPL-2.0-or-later
"""The quality report: weekly trends of service, handle time, abandonment, QA
score and patient feedback per queue and agent (``careline report``, the
wallboard's trends), read from the local store or the hub.

Plain Python: :mod:`.weeks` (which weeks), :mod:`.figures` (the numbers and how
they are derived), :mod:`.feedback` (survey answers as CSAT and NPS),
:mod:`.redact` (comments made PHI-safe), :mod:`.local` (the local store),
:mod:`.charts` (sparklines and bars as text) and :mod:`.export` (CSV, JSON).
The hub's reader is :mod:`console.hub.reports`.
"""
