"""Settings with documented defaults: limits, timeouts and server behaviour.

Every limit exists because an unbounded one lets a single client exhaust the server; every
default is chosen to be generous for well-behaved clients and to end a misbehaving one quickly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Config"]


@dataclass
class Config:
    """The settings an `App` reads at serve time. Change them before the server starts.

    All sizes are bytes and all times seconds. ``None`` for a timeout means no limit. Like
    Sanic's config, it also holds the application's own upper-case settings
    (``app.config.DB_URL = ...``).
    """

    # Body of a non-streaming route, read into memory before the handler runs. 100 MB matches
    # Sanic's default; larger uploads belong on streaming routes, which read in bounded chunks.
    REQUEST_MAX_SIZE: int = 100 * 1024 * 1024

    # A streaming route's body travels from the connection's reader task to the handler
    # through a trio memory channel; this bounds the bytes waiting between the two: one
    # piece in the channel and one in the reader's hands, each read with at most half of
    # it. 128 KiB reads take what a fast client has sent in one go (each piece costs a hand
    # over to the handler's task), while a thousand uploads at once hold at most 256 MiB.
    REQUEST_STREAM_BUFFER: int = 256 * 1024

    # While a response write waits on a client that is not reading, a streaming body the
    # handler has not taken spills to a temporary file, so an echo route does not deadlock
    # with clients that send the whole body before reading (httpx, requests, urllib3). The
    # spill of one request may hold this much; past it the connection ends (and says so in
    # the log). 100 MiB: what REQUEST_MAX_SIZE lets one buffered request hold in memory,
    # here on disk instead. None: no limit.
    REQUEST_STREAM_SPOOL: int | None = 100 * 1024 * 1024

    # All spills of one server together; past it a connection that would spill more ends.
    # 1 GiB of temporary files bounds the disk a crowd of such clients can take. None: none.
    REQUEST_STREAM_SPOOL_TOTAL: int | None = 1024 * 1024 * 1024

    # The request line plus all header lines. 8 KiB is the limit of nginx's default
    # large_client_header_buffers line and of most proxies, so nothing legitimate is larger.
    REQUEST_MAX_HEADER_SIZE: int = 8 * 1024

    # The most bytes asked of the socket in one receive of a request head or of a body read
    # into memory (streamed bodies: see REQUEST_STREAM_BUFFER). 64 KiB is the usual
    # loopback/TCP window step and keeps buffers small.
    READ_SIZE: int = 64 * 1024

    # The whole request head must arrive within this; a client trickling bytes is cut off (408).
    REQUEST_TIMEOUT: float | None = 60.0

    # A started request body that receives nothing for this long is abandoned (408, close).
    REQUEST_BODY_IDLE_TIMEOUT: float | None = 60.0

    # The handler must produce its response (headers) within this, else 503 and it is cancelled.
    RESPONSE_TIMEOUT: float | None = 60.0

    # A client that accepts no response bytes for this long is disconnected.
    WRITE_IDLE_TIMEOUT: float | None = 60.0

    # Keep connections open between requests, and for how long an idle one may wait. 5 s is
    # Sanic's default and shorter than the idle timeouts of common proxies and browsers.
    KEEP_ALIVE: bool = True
    KEEP_ALIVE_TIMEOUT: float | None = 5.0

    # Requests answered on one connection before it is closed; ``None`` means no limit.
    KEEP_ALIVE_MAX_REQUESTS: int | None = None

    # How long in-flight requests may run after a shutdown starts before they are cancelled.
    # 15 s matches Sanic and leaves room inside the 30 s most process managers wait.
    GRACEFUL_SHUTDOWN_TIMEOUT: float | None = 15.0

    # Open connections at most; beyond it nothing is accepted and the kernel backlog waits.
    MAX_CONNECTIONS: int | None = None

    # Kernel accept backlog; trio's default is the system maximum (SOMAXCONN).
    BACKLOG: int | None = None

    # The largest WebSocket message accepted; a larger one closes the connection with 1009.
    # 1 MiB is trio-websocket's and Sanic's default.
    WEBSOCKET_MAX_SIZE: int = 1024 * 1024

    # Received messages waiting for a WebSocket handler; when full, the connection stops
    # reading and TCP slows the peer. trio-websocket's default is 1.
    WEBSOCKET_MESSAGE_QUEUE_SIZE: int = 1

    # Ping each WebSocket peer this often; with no pong within WEBSOCKET_PING_TIMEOUT the
    # connection closes with 1011 and its handler is cancelled. 20 s each, as in Sanic; keeps
    # NAT and proxy idle timers from dropping quiet connections. ``None`` disables pings.
    WEBSOCKET_PING_INTERVAL: float | None = 20.0
    WEBSOCKET_PING_TIMEOUT: float = 20.0

    # Plain ``def`` handlers (and exception handlers) run in worker threads, at most this many
    # at once; more wait their turn. 40 is trio's own default thread limit: enough for
    # blocking database calls, few enough that a stuck backend cannot spawn threads unbounded.
    SYNC_HANDLER_THREADS: int = 40

    # The host (and port) `App.url_for(..., _external=True)` builds URLs on, e.g.
    # "example.com" (or with a scheme, "https://example.com"); None means external URLs
    # need an explicit _server.
    SERVER_NAME: str | None = None

    # Log one line per response at INFO on the ``trioweb.access`` logger.
    ACCESS_LOG: bool = True

    # Show tracebacks in error responses. Never enable it in production.
    DEBUG: bool = False

    # Proxy headers (see trioweb.proxy and docs/requests.md, "Behind a proxy"). Any client can
    # send X-Forwarded-For or Forwarded, so none is believed by default: request.client_ip is
    # the socket's peer. Set these to match the proxies that really sit in front of the app.
    #
    # How many proxies append to X-Forwarded-For in front of the app: the Nth address from the
    # right is the client. None or 0 trusts no X-Forwarded-* header (Sanic's default too).
    PROXIES_COUNT: int | None = None
    # A header your proxy overwrites with the client address, e.g. "x-real-ip" (nginx's
    # usual setup). None: not used.
    REAL_IP_HEADER: str | None = None
    # Trust only RFC 7239 Forwarded elements carrying secret=<this value> (or by=<this value>,
    # as Sanic's guide does it), which your proxy appends (nginx: add "secret=..." to the
    # Forwarded value). None: Forwarded is ignored.
    FORWARDED_SECRET: str | None = None

    # Error pages for routes without an ``error_format``, when the request's ``Accept`` header
    # does not decide: "text", "json" or "html" ("auto" means text).
    FALLBACK_ERROR_FORMAT: str = "auto"

    def update(self, values: Mapping[str, Any] | None = None, **kwargs: Any) -> None:
        """Set several settings at once from a mapping and/or keyword arguments."""
        for key, value in {**(values or {}), **kwargs}.items():
            setattr(self, key, value)

    def load(self, source: Mapping[str, Any] | object) -> None:
        """Take every upper-case key of a mapping, or upper-case attribute of an object.

        An object may be a module, a class or an instance, as with Sanic's ``update_config``.
        """
        if isinstance(source, Mapping):
            values = dict(source)
        else:
            values = {key: getattr(source, key) for key in dir(source)}
        self.update({key: value for key, value in values.items() if key.isupper()})

    def load_environment(self, prefix: str = "TRIOWEB_") -> None:
        """Set ``NAME`` from each environment variable ``<prefix>NAME``.

        Values become ``int``, ``float``, ``bool`` (``true``/``false``, any case) or ``None``
        (``none``) when they read as one; otherwise they stay strings.
        """
        for key, raw in os.environ.items():
            if key.startswith(prefix) and len(key) > len(prefix):
                setattr(self, key[len(prefix) :], _parse_env_value(raw))


def _parse_env_value(raw: str) -> Any:
    lowered = raw.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for convert in (int, float):
        try:
            return convert(raw)
        except ValueError:
            pass
    return raw
