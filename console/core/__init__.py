"""The console's domain: configuration, the local store, the phone client.

Plain Python: nothing here imports Textual or pjsua2.
"""
