# SPDX-License-Identifier: GPL-2.0-or-later
"""Call recordings on the console's side: the key, the store's rows, the audit, retention.

The engine records and encrypts (``sip/recording.py``); the console hands it the
key (:mod:`.keys`), keeps a row per recorded call with its pauses and audits each
step (:mod:`.ledger`), and deletes what is past its retention (:mod:`.retention`).
Plain Python: no Textual, no pjsua2; ``cryptography`` only to play a recording back.
"""
