"""Where snapshots go: the workspace store (projects of JSON snapshots), the Prometheus
exporter and the Kafka snapshot topic.

May import ``evaluation`` (the Snapshot model); must not import ``windowing`` internals,
``consumer`` or ``service``.
"""
