"""kombu's Redis transport, kept alive when the broker goes away while messages are unacknowledged.

On a lost connection, kombu 5 closes the worker's channel after the transport has dropped its
connection parameters; restoring the channel's unacknowledged messages then fails with an
``AttributeError`` that Celery treats as unrecoverable, and the worker stops — exactly when Redis
is restarted mid-run. Skipping that restore loses nothing: those messages are still in Redis's
unacked set (a worker restores them after the visibility timeout) or went with a Redis that lost
its data, and the sweep re-enqueues the work of every row left waiting in any case.
"""

from __future__ import annotations

import logging
from typing import Any

from kombu.transport import redis

log = logging.getLogger(__name__)

# The URL schemes this transport serves (Celery is pointed at it for these).
REDIS_SCHEMES = ("redis", "rediss")


class QoS(redis.QoS):  # type: ignore[misc]
    """Redis ack emulation whose restore at channel close tolerates a torn-down connection."""

    def restore_unacked(self, client: Any = None) -> None:
        """Puts unacknowledged messages back, unless the connection is already gone."""
        try:
            super().restore_unacked(client)
        except AttributeError:
            delivered: Any = self._delivered
            log.warning(
                "broker connection already closed: %d unacknowledged message(s) are left to the "
                "visibility timeout and the sweep",
                len(delivered),
            )
            delivered.clear()


class Channel(redis.Channel):  # type: ignore[misc]
    """The Redis channel with :class:`QoS`."""

    QoS = QoS


class Transport(redis.Transport):  # type: ignore[misc]
    """The Redis transport with :class:`Channel`."""

    Channel = Channel
