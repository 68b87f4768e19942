"""``python -m console`` is the ``careline`` command."""

from console.cli import main

raise SystemExit(main())
