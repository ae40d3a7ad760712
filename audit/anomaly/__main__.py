"""Makes ``python -m audit.anomaly`` run the command line."""

import sys

from audit.anomaly.cli import main

sys.exit(main())
