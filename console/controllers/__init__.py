# SPDX-License-Identifier: GPL-2.0-or-later
"""Controllers: the agent screen's work per concern (patients, guidance, wrap-up,
notes, lost calls, audio, call control, engine effects), over the services."""
