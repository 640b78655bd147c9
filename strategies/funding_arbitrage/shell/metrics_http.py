"""The Prometheus endpoint's response: prometheus-client's own encoders (text 0.0.4 and OpenMetrics, chosen from the
scrape's Accept header by `choose_encoder`), applied per metric family and the bytes of a family kept while it is
unchanged. `MetricsRegistry.collect` returns the very same family object while none of its series changed (most
families between two scrapes), so a scrape encodes only the families that changed (the tick histogram, the
heartbeat, the gauges of a publish) instead of every sample. The bytes are the ones prometheus-client's
`generate_latest` gives for the whole registry (a test compares them). Served like prometheus-client's own app (any
path, OPTIONS, gzip when accepted) except its `name[]` filter, which is not offered.
"""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client.core import Metric
from prometheus_client.exposition import choose_encoder, gzip_accepted

EOF_LINE = b"# EOF\n"  # OpenMetrics' end marker: once, after the last family


class _One:
    """A collector of one family: what an encoder is given to encode that family alone."""

    __slots__ = ("metric",)

    def __init__(self, metric: Metric) -> None:
        self.metric = metric

    def collect(self) -> Iterator[Metric]:
        return iter((self.metric,))


class CachedExposition:
    """`render(accept_header)` -> (body, content type) of every family `collect()` yields; thread-safe."""

    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self._collect = collect
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[Metric, bytes]] = {}  # (content type, family) -> (object, bytes)

    def render(self, accept_header: str | None) -> tuple[bytes, str]:
        encoder, content_type = choose_encoder(accept_header or "")
        openmetrics = content_type.startswith("application/openmetrics-text")
        parts = []
        with self._lock:
            for metric in self._collect():
                key = (content_type, metric.name)
                hit = self._cache.get(key)
                if hit is None or hit[0] is not metric:
                    text = encoder(_One(metric))
                    hit = self._cache[key] = (metric, text[: -len(EOF_LINE)] if openmetrics else text)
                parts.append(hit[1])
        if openmetrics:
            parts.append(EOF_LINE)
        return b"".join(parts), content_type

    def wsgi_app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        """GET (any path, as prometheus-client's app): the exposition, gzipped when accepted; OPTIONS; else 405."""
        method = environ.get("REQUEST_METHOD", "GET")
        headers: list[tuple[str, str]] = [("Allow", "OPTIONS,GET")]
        if method == "OPTIONS":
            status, output = "200 OK", b""
        elif method != "GET":
            status, output = "405 Method Not Allowed", f"# HTTP 405: {method}; use OPTIONS or GET\n".encode()
        elif environ.get("PATH_INFO") == "/favicon.ico":
            status, output = "200 OK", b""
        else:
            status, (output, content_type) = "200 OK", self.render(environ.get("HTTP_ACCEPT"))
            headers = [("Content-Type", content_type)]
            if gzip_accepted(environ.get("HTTP_ACCEPT_ENCODING", "")):
                output = gzip.compress(output)
                headers.append(("Content-Encoding", "gzip"))
        start_response(status, headers)
        return [output]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No access log line per scrape."""


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


def serve(exposition: CachedExposition, addr: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve `exposition` on addr:port (IPv4 or IPv6; port 0 picks a free one) from a daemon thread.

    Raises:
        OSError: the address cannot be bound.
    """
    infos = socket.getaddrinfo(addr, port, type=socket.SOCK_STREAM)
    family, _, _, _, sockaddr = infos[0]

    class Server(_ThreadingServer):
        address_family = family

    httpd = make_server(str(sockaddr[0]), port, exposition.wsgi_app, Server, handler_class=_QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="funding-arb-prometheus", daemon=True)
    thread.start()
    return httpd, thread
