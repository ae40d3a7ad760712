"""``python -m launcher`` is the same as the ``msc`` command."""

from launcher.cli import main

raise SystemExit(main())
