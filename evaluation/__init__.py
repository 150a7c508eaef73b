"""Pure numerics: reference profiles, drift statistics, data quality, model quality, test
conditions and presets, and the Snapshot document.

Must not import confluent_kafka, prometheus_client or any other driftsnap package, and does no
file or network I/O inside the core (``Snapshot.load``/``save`` are the one file edge).
"""
