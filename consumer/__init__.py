"""Kafka edge of driftsnap: subscribe, batch-decode events into columns, validate, send bad
records to the dead-letter topic, track and commit the offset frontier, react to rebalances.

Owns everything that touches ``confluent_kafka`` on the input side. May import ``windowing``
types only; must not import ``evaluation``, ``publisher`` or ``service``.
"""

from consumer.deadletter import DeadLetterSink, KafkaDeadLetterProducer
from consumer.decode import DecodeBounds, DecodedBatch, decode_batch, frame_schema
from consumer.errors import BrokerError, CommitError, ConsumerError, DeadLetterError, SchemaError
from consumer.labels import DecodedLabels, LabelFields, LabelRecord, decode_labels
from consumer.mapping import ColumnMapping, EventSchema, Kind, ModelSchema
from consumer.rejected import REASONS, Reason, Rejected
from consumer.source import KafkaSource, RawBatch

__all__ = [
    "REASONS",
    "BrokerError",
    "ColumnMapping",
    "CommitError",
    "ConsumerError",
    "DeadLetterError",
    "DeadLetterSink",
    "DecodeBounds",
    "DecodedBatch",
    "DecodedLabels",
    "EventSchema",
    "KafkaDeadLetterProducer",
    "KafkaSource",
    "Kind",
    "LabelFields",
    "LabelRecord",
    "ModelSchema",
    "RawBatch",
    "Reason",
    "Rejected",
    "SchemaError",
    "decode_batch",
    "decode_labels",
    "frame_schema",
]
