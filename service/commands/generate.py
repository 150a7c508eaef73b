"""``driftsnap generate``: produce realistic inference events (and labels) to Kafka.

Real-time mode (``--rate N``) stamps events with the wall clock at N requests/s; bulk mode
(``--rate 0 --count N``) produces as fast as possible with event times spread over ``--span``
ending now (for benchmarks and backfills). Drift is injected after ``--drift-after`` requests.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from typing import Any

import polars as pl
from confluent_kafka import KafkaException, Producer

from service.generator import MODELS, VARIANTS, encode_events, encode_labels, generate_requests

log = logging.getLogger(__name__)


def register(sub: Any) -> None:
    p = sub.add_parser("generate", help="produce realistic inference events to a Kafka topic")
    p.add_argument("--bootstrap", required=True, help="Kafka bootstrap servers (host:port)")
    p.add_argument("--topic", default="inference-events")
    p.add_argument(
        "--rate",
        type=float,
        default=200.0,
        help="requests per second (each scored by every variant); 0 = as fast as possible",
    )
    p.add_argument("--count", type=int, default=0, help="stop after N requests (0 = forever)")
    p.add_argument(
        "--drift-after",
        type=int,
        default=0,
        help="inject drift after N requests per model (0 = never)",
    )
    p.add_argument("--models", default=",".join(MODELS))
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--span", default="1h", help="bulk mode: event times spread over this span")
    p.add_argument("--labels-topic", default=None, help="also produce ground-truth labels here")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(func=run)


class KafkaWriter:
    """A producer that raises when any delivery failed (checked on flush)."""

    def __init__(self, bootstrap: str, **extra: Any) -> None:
        self._errors: list[str] = []
        self.producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "linger.ms": 20,
                "batch.num.messages": 10000,
                "compression.type": "lz4",
                "queue.buffering.max.messages": 500000,
                **extra,
            }
        )
        self.sent = 0

    def _on_delivery(self, err: Any, _msg: Any) -> None:
        if err is not None:
            self._errors.append(str(err))

    def send(self, topic: str, pairs: list[tuple[bytes, bytes]]) -> None:
        produce, poll = self.producer.produce, self.producer.poll
        for key, value in pairs:
            while True:
                try:
                    produce(topic, value, key, on_delivery=self._on_delivery)
                    break
                except BufferError:
                    poll(0.05)  # local queue full: let deliveries drain
            self.sent += 1
        poll(0)

    def flush(self, timeout: float = 60.0) -> None:
        left = self.producer.flush(timeout)
        if left or self._errors:
            msg = f"{left} message(s) undelivered, {len(self._errors)} failed: {self._errors[:3]}"
            raise KafkaException(msg)


def request_batches(
    *,
    models: list[str],
    variants: tuple[str, ...],
    seed: int,
    chunk: int,
    start_ms: int,
    span_ms: int,
    index: int,
    drift_after: int,
) -> pl.DataFrame:
    """One chunk of requests for every model (deterministic in ``seed`` and ``index``)."""
    frames = []
    for m_i, model in enumerate(models):
        drifted = drift_after > 0 and index * chunk >= drift_after
        frames.append(
            generate_requests(
                chunk,
                seed=seed * 1_000_003 + index * 17 + m_i,
                start_ms=start_ms,
                span_ms=span_ms,
                drifted=drifted,
                model_id=model,
                variants=variants,
                id_prefix=f"s{seed}i{index}-",
            )
        )
    return pl.concat(frames)


def run(args: argparse.Namespace) -> int:
    from windowing import parse_duration_ms

    models = [m for m in args.models.split(",") if m]
    variants = tuple(v for v in args.variants.split(",") if v)
    unknown = set(models) - set(MODELS)
    if unknown:
        print(f"unknown model(s) {sorted(unknown)}; the generator knows {MODELS}", file=sys.stderr)
        return 2
    writer = KafkaWriter(args.bootstrap)
    stop = False

    def _stop(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    bulk = args.rate <= 0
    chunk = 5000 if bulk else max(1, int(args.rate))  # one chunk per second in real time
    span_ms = parse_duration_ms(args.span)
    total_chunks = -(-args.count // chunk) if args.count else None
    now_ms = int(time.time() * 1000)
    index = 0
    started = time.monotonic()
    while not stop and (total_chunks is None or index < total_chunks):
        if bulk:
            per = span_ms // max(total_chunks or 1, 1)
            start_ms, width = now_ms - span_ms + index * per, max(per, 1)
        else:
            start_ms, width = int(time.time() * 1000), 1000
        frame = request_batches(
            models=models,
            variants=variants,
            seed=args.seed,
            chunk=chunk,
            start_ms=start_ms,
            span_ms=width,
            index=index,
            drift_after=args.drift_after,
        )
        writer.send(args.topic, encode_events(frame))
        if args.labels_topic:
            writer.send(args.labels_topic, encode_labels(frame))
        index += 1
        if not bulk:
            time.sleep(max(0.0, started + index - time.monotonic()))
    writer.flush()
    elapsed = time.monotonic() - started
    print(f"produced {writer.sent} records in {elapsed:.1f} s", file=sys.stderr)
    return 0
