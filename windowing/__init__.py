"""Pure event-time core: window specs (tumbling, hopping), vectorised assignment of event
batches to keyed windows, per-partition watermarks, allowed lateness, idle partitions, close
decisions, the offset frontier and deterministic snapshot identity.

Performs no I/O and never reads a clock (time is passed in). Must not import Kafka,
prometheus_client, files or network, nor any other driftsnap package.
"""
