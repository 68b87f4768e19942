# SPDX-License-Identifier: GPL-2.0-or-later
"""The supervisor's view of the floor: ``careline supervise`` and ``careline queue tail``.

``source``, ``stats``, ``tail`` and ``commands`` are plain Python; only
``app`` (the wallboard) imports Textual.
"""
