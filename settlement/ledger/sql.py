"""Re-exports of :mod:`common.sql.helpers` under the name the settlement packages first used.

New code imports from ``common.sql.helpers``; this module stays so nothing that imports the old
path breaks.
"""

from common.sql.helpers import BigId, UtcDateTime, insert_or_ignore, utcnow

__all__ = ["BigId", "UtcDateTime", "insert_or_ignore", "utcnow"]
