# SPDX-License-Identifier: GPL-2.0-or-later
"""The console's domain: configuration, the local store, the phone client.

Plain Python: nothing here imports Textual or pjsua2.
"""
