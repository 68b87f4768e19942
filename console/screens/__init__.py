# SPDX-License-Identifier: GPL-2.0-or-later
"""Screens of the agent console."""
