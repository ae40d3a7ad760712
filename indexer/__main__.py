"""Entry point of ``python -m indexer``."""

from __future__ import annotations

import sys

from indexer.cli import main

sys.exit(main())
