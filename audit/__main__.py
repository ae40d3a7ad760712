"""``python -m audit``: see :mod:`audit.cli`."""

from __future__ import annotations

import sys

from audit.cli import main

sys.exit(main())
