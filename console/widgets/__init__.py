# SPDX-License-Identifier: GPL-2.0-or-later
"""Reusable widgets of the agent console."""
