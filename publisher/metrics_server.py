"""The metrics HTTP endpoint: ``/metrics`` (prometheus_client's own WSGI exposition),
``/healthz`` (the process answers) and ``/readyz`` (a readiness callback says yes).

Served with the stdlib ``wsgiref`` threading server, as prometheus_client's
``start_wsgi_server`` does; binds 127.0.0.1 by default (use "0.0.0.0" in a container).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from types import TracebackType
from typing import Any, Self
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Scrapes every few seconds would flood the log."""


def _text(start_response: StartResponse, status: str, body: str) -> list[bytes]:
    data = body.encode()
    start_response(
        status,
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))],
    )
    return [data]


class MetricsServer:
    """One HTTP server for Prometheus and the orchestrator's probes.

    ``ready`` returns True when the service is ready (assigned partitions, references
    loaded...); ``healthy`` defaults to always True. ``port=0`` picks a free port, read back
    from ``.port`` after ``start()``.
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        *,
        host: str = "127.0.0.1",
        port: int = 9464,
        ready: Callable[[], bool] = lambda: True,
        healthy: Callable[[], bool] = lambda: True,
    ) -> None:
        self.host = host
        self._requested_port = port
        self._ready = ready
        self._healthy = healthy
        self._metrics_app = make_wsgi_app(registry)
        self._server: _ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            msg = "the metrics server is not started"
            raise RuntimeError(msg)
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        server = make_server(
            self.host, self._requested_port, self._app, _ThreadingWSGIServer, _QuietHandler
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name="driftsnap-metrics", daemon=True
        )
        self._thread.start()
        log.info("metrics endpoint listening url=%s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and close the socket (idempotent)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _probe(self, check: Callable[[], bool], what: str) -> tuple[bool, str]:
        try:
            ok = bool(check())
        except Exception as exc:  # a failing probe is a "no", and is worth a log line
            log.warning("%s check raised: %r", what, exc)
            return False, f"not {what}: {type(exc).__name__}: {exc}\n"
        return ok, (f"{what}\n" if ok else f"not {what}\n")

    def _app(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            result: Iterable[bytes] = self._metrics_app(environ, start_response)
            return result
        if path in ("/healthz", "/readyz"):
            check, what = (
                (self._healthy, "healthy") if path == "/healthz" else (self._ready, "ready")
            )
            ok, body = self._probe(check, what)
            return _text(start_response, "200 OK" if ok else "503 Service Unavailable", body)
        if path == "/":
            return _text(start_response, "200 OK", "driftsnap: /metrics /healthz /readyz\n")
        return _text(start_response, "404 Not Found", f"no such path: {path}\n")
