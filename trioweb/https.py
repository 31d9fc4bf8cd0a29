"""HTTPS for the whole app: send plain-HTTP visitors to https, and tell browsers to stay there.

    from trioweb.https import hsts, redirect_to_https

    redirect_to_https(app)   # http://example.com/a?b -> 308 https://example.com/a?b
    hsts(app)                # Strict-Transport-Security on every https response

Both are middleware, registered on an app (or a blueprint, for its routes only). They read
`Request.scheme`, so behind a TLS-terminating proxy they work once its headers are trusted
(``PROXIES_COUNT``, ``FORWARDED_SECRET``, ``REAL_IP_HEADER``: see docs/security.md): without
that trust every request looks like plain HTTP, and `redirect_to_https` would loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .response import BaseHTTPResponse, HTTPResponse, redirect

if TYPE_CHECKING:
    from .registrar import RouteRegistrar
    from .request import Request

__all__ = ["hsts", "redirect_to_https"]

#: Middleware priority: before the app's own middleware (default 0), so that a request
#: over plain HTTP is redirected before authentication or anything else looks at it.
PRIORITY = 1000

_REDIRECT_STATUSES = (301, 302, 303, 307, 308)


def redirect_to_https(
    app: RouteRegistrar, *, status: int = 308, host: str | None = None, port: int = 443
) -> None:
    """Answer every plain-HTTP request with a redirect to the same URL over https.

    The path and query string are kept as the client sent them. Requests that already came
    over https (directly, or through a trusted proxy that says so) pass untouched.

    Args:
        app: The `App` (or a `Blueprint`: only its routes) to protect.
        status: The redirect status. 308 (the default) makes clients repeat the same method
            and body; 301 is the one very old clients know.
        host: The https host name, when it is not the one the client asked for (by default
            the request's `server_name`, without its port).
        port: The https port; 443 is left out of the URL.

    Raises:
        ValueError: ``status`` is not a redirect status, or ``port`` is out of range.
    """
    if status not in _REDIRECT_STATUSES:
        raise ValueError(f"status must be one of {_REDIRECT_STATUSES}, got {status!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 < port <= 65535:
        raise ValueError(f"port must be 1-65535, got {port!r}")
    suffix = "" if port == 443 else f":{port}"

    async def to_https(request: Request) -> HTTPResponse | None:
        if request.scheme not in ("http", "ws"):
            return None
        target = request.raw_path
        if request.query_string:
            target += "?" + request.query_string
        return redirect(f"https://{host or request.server_name}{suffix}{target}", status=status)

    app.on_request(to_https, priority=PRIORITY)


def hsts(
    app: RouteRegistrar,
    max_age: int = 31536000,
    *,
    include_subdomains: bool = True,
    preload: bool = False,
) -> None:
    """Add ``Strict-Transport-Security`` to every response sent over https.

    A browser that has seen it uses https for the host (and its subdomains, with
    ``include_subdomains``) until ``max_age`` seconds pass, without trying plain HTTP first.
    Responses over plain HTTP never carry it (browsers ignore it there), and a response
    that already has the header keeps its own.

    Args:
        app: The `App` (or a `Blueprint`: only its routes).
        max_age: Seconds browsers remember it; one year by default, as ``hstspreload.org``
            asks. 0 tells browsers to forget it.
        include_subdomains: Cover every subdomain too.
        preload: Add ``preload``, consenting to browsers' built-in lists (it needs
            ``include_subdomains`` and a ``max_age`` of at least a year: hard to undo).

    Raises:
        ValueError: ``max_age`` is negative, or ``preload`` without what it needs.
    """
    if isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0:
        raise ValueError(f"max_age must be an int of at least 0, got {max_age!r}")
    if preload and not (include_subdomains and max_age >= 31536000):
        raise ValueError("preload needs include_subdomains=True and max_age of a year or more")
    value = f"max-age={max_age}"
    if include_subdomains:
        value += "; includeSubDomains"
    if preload:
        value += "; preload"

    async def add_hsts(request: Request, response: BaseHTTPResponse) -> None:
        if request.scheme in ("https", "wss"):
            response.headers.setdefault("Strict-Transport-Security", value)

    app.on_response(add_hsts, priority=PRIORITY)
