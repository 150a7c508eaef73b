"""Kafka edge of driftsnap: subscribe, batch-decode events into columns, validate, send bad
records to the dead-letter topic, track and commit the offset frontier, react to rebalances.

Owns everything that touches ``confluent_kafka`` on the input side. May import ``windowing``
types only; must not import ``evaluation``, ``publisher`` or ``service``.
"""
