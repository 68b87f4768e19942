# SPDX-License-Identifier: GPL-2.0-or-later
"""The patient directory: the local cache of patients, imports and phone lookup.

Plain Python over the local store; imports neither Textual nor pjsua2.
"""
