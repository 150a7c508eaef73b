"""Errors raised by the Kafka input edge.

Bad *records* never raise: they become :class:`consumer.decode.Rejected` values and go to the
dead-letter topic. These exceptions are for the process: a wrong configuration at start-up, a
broker the client cannot work with, a commit or a dead-letter delivery that did not succeed.

::

    ConsumerError                    root of everything raised by ``consumer``
    ├── SchemaError (ValueError)     column mapping or model schemas are inconsistent (start-up)
    ├── BrokerError                  fatal client/broker error while polling (wraps KafkaError)
    ├── CommitError                  a synchronous offset commit failed; offsets were not stored
    └── DeadLetterError              a dead-letter record was not confirmed as delivered; the
                                     caller must not commit past its source offset
"""

from __future__ import annotations

__all__ = ["BrokerError", "CommitError", "ConsumerError", "DeadLetterError", "SchemaError"]


class ConsumerError(Exception):
    """Root of every exception raised by the ``consumer`` package."""


class SchemaError(ConsumerError, ValueError):
    """The column mapping and the per-model schemas cannot describe one event frame."""


class BrokerError(ConsumerError):
    """A fatal error reported by librdkafka while polling; restart the process."""


class CommitError(ConsumerError):
    """A synchronous offset commit failed; the committed position did not move."""


class DeadLetterError(ConsumerError):
    """At least one dead-letter record was not delivered (or not confirmed in time)."""
