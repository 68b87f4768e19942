# SPDX-License-Identifier: GPL-2.0-or-later
"""Outbound worklists (issue 19): generation from the directory, the calling rules,
the local store of items with atomic claims. Plain Python: no Textual, no pjsua2."""
