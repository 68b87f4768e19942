# SPDX-License-Identifier: GPL-2.0-or-later
"""Benchmarks: scripts that report figures (median of several runs, with a baseline ratio)."""
