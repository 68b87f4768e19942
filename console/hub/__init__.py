# SPDX-License-Identifier: GPL-2.0-or-later
"""The careline hub: the central PostgreSQL store consoles sync to.

:mod:`console.hub.schema` creates and migrates it (the ``careline`` schema,
its roles and row-level security); :mod:`console.cli.hub` is
``careline hub``. This package imports neither Textual nor pjsua2, and only
:mod:`console.hub.schema` and the sync worker import psycopg.
"""
