"""A reverse proxy that streams both ways: request bodies go upstream as they arrive, and
responses come back as the upstream sends them, so a 10 GB upload or download passes
through without ever being held whole: memory stays flat however large the body.

Every path and method is forwarded to ``app.config.UPSTREAM`` (from the ``UPSTREAM``
environment variable, default ``http://127.0.0.1:9000``) with httpx's streaming API: the
route streams (``stream=True``), ``request.stream`` is handed to httpx as the body, and
``request.respond()`` sends the upstream's status and headers before its body is copied back
piece by piece. Hop-by-hop headers stay behind, ``X-Forwarded-For``/``-Proto``/``-Host``
are added, and an upstream that cannot be reached gets ``502 Bad Gateway``. A client that
goes away cancels its handler, which closes the upstream request too.

Run an upstream, e.g. ``python -m trioweb examples.hello:app --port 9000``, then this with
``python examples/reverse_proxy.py``, and try::

    curl http://127.0.0.1:8000/
    curl --data-binary @big.iso http://127.0.0.1:8000/upper | wc -c

httpx sends the whole request body before it reads the response, so when the upstream
answers while the body still arrives (as ``/upper`` does), its answer is read once the body
is in; a trioweb upstream keeps what waits on disk meanwhile (see docs/streaming.md).
"""

from __future__ import annotations

import os

import httpx

from trioweb import App, HTTPException, Request
from trioweb.response import StreamingHTTPResponse

#: Headers about one connection, not the message (RFC 9110, section 7.6.1): never forwarded.
#: ``host`` and ``content-length`` are left to httpx and trioweb, which frame each side.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)

app = App("reverse_proxy")
# An app's own upper-case settings live in its config too, as in Sanic.
app.config.UPSTREAM = os.environ.get("UPSTREAM", "http://127.0.0.1:9000")
# The upstream's answer starts only once the whole request body has gone up (see above), so
# allow a long upload before the response head: RESPONSE_TIMEOUT ends with the head.
app.config.RESPONSE_TIMEOUT = 3600


class BadGateway(HTTPException):
    """502: the upstream could not be reached."""

    status_code = 502


@app.before_server_start
async def open_upstream(app: App) -> None:
    # One client, so connections to the upstream are kept alive and reused. No timeout for
    # reads and writes: a slow client or upstream only slows the transfer down.
    app.ctx.upstream = httpx.AsyncClient(
        base_url=app.config.UPSTREAM,
        timeout=httpx.Timeout(None, connect=10.0, pool=10.0),
        follow_redirects=False,
    )


@app.after_server_stop
async def close_upstream(app: App) -> None:
    await app.ctx.upstream.aclose()


def forwarded_headers(request: Request) -> list[tuple[str, str]]:
    """The request's end-to-end headers, with the ``X-Forwarded-*`` ones of this hop added."""
    dropped = HOP_BY_HOP | _connection_options(request.headers.getall("connection"))
    headers = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in request.headers.raw  # every header, repeats included; lower-case
        if not name.startswith(b"x-forwarded-")
    ]
    headers = [(name, value) for name, value in headers if name not in dropped]
    earlier = request.headers.get("x-forwarded-for")
    headers.append(("x-forwarded-for", f"{earlier}, {request.ip}" if earlier else request.ip))
    headers.append(("x-forwarded-proto", request.scheme))
    if host := request.headers.get("host"):
        headers.append(("x-forwarded-host", host))
    return headers


def _connection_options(values: list[str]) -> frozenset[str]:
    """Headers a ``Connection`` header names as hop-by-hop (``Connection: close, X-Trace``)."""
    return frozenset(name.strip().lower() for value in values for name in value.split(","))


METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@app.route("/", methods=METHODS, stream=True, name="proxy_root")
@app.route("/<path:path>", methods=METHODS, stream=True)
async def proxy(request: Request, path: str = "") -> StreamingHTTPResponse:
    client: httpx.AsyncClient = request.app.ctx.upstream
    has_body = "content-length" in request.headers or "transfer-encoding" in request.headers
    upstream_request = client.build_request(
        request.method,
        request.raw_path + (f"?{request.query_string}" if request.query_string else ""),
        headers=forwarded_headers(request),
        # The receive end of trioweb's body channel: httpx pulls each piece as it arrives.
        content=request.stream if has_body else None,
    )
    for name in ("accept", "accept-encoding", "user-agent"):  # httpx's defaults, not the client's
        if name not in request.headers:
            upstream_request.headers.pop(name, None)
    try:
        upstream = await client.send(upstream_request, stream=True)
    except httpx.TransportError:  # refused, unreachable, or no connection within 10 s
        raise BadGateway(f"{client.base_url} cannot be reached") from None
    try:
        dropped = HOP_BY_HOP | _connection_options(upstream.headers.get_list("connection"))
        response = await request.respond(
            status=upstream.status_code,
            headers=[
                (name, value)
                for name, value in upstream.headers.multi_items()
                if name.lower() not in dropped
            ],
        )
        # Raw bytes: a compressed answer stays compressed, its Content-Encoding forwarded.
        async for chunk in upstream.aiter_raw():
            await response.send(chunk)  # waits while the client is slow
        return response
    finally:
        await upstream.aclose()


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
