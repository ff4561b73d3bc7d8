"""``python -m gilviz``: the same entry point as the ``gilviz`` console script."""

from gilviz.cli import main

raise SystemExit(main())
