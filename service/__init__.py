"""Composition root: configuration, the command line, the run loop that wires consumer,
windowing, evaluation and publisher, health endpoints, replay and the demo.

The only package that imports all the others; nothing imports ``service``.
"""
