"""``python -m careline`` is the ``careline`` command."""

from careline import main

raise SystemExit(main())
