# SPDX-License-Identifier: GPL-2.0-or-later
"""``careline qa``: evaluating calls in the terminal (Textual), and an agent's own evaluations."""
