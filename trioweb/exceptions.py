"""The exceptions trioweb raises and the statuses they answer with.

Hierarchy::

    Exception
     +-- HTTPException            carries the status to reply with; one `except` at the edge
     |    +-- BadRequest                      400
     |    |    +-- InvalidUsage               400 (Sanic's name, kept for porting)
     |    +-- Unauthorized                    401
     |    +-- Forbidden                       403
     |    +-- NotFound                        404
     |    +-- MethodNotAllowed                405  (sets ``Allow``)
     |    +-- RequestTimeout                  408
     |    +-- PayloadTooLarge                 413
     |    +-- RangeNotSatisfiable             416
     |    +-- ExpectationFailed               417
     |    +-- UpgradeRequired                 426  (a websocket route asked without upgrade)
     |    +-- RequestHeaderFieldsTooLarge     431
     |    +-- ServerError                     500
     |    +-- ServiceUnavailable              503
     |    +-- HTTPVersionNotSupported         505
     +-- ClientDisconnected       the peer went away; never answered, only logged at debug
     +-- RouteExists (ValueError) a (path, method) pair registered twice
     +-- URLBuildError (ValueError)  ``url_for`` could not build a URL

Protocol errors raised by h11 are translated into this tree once, in ``trioweb.server``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any, ClassVar

__all__ = [
    "BadRequest",
    "ClientDisconnected",
    "ExpectationFailed",
    "Forbidden",
    "HTTPException",
    "HTTPVersionNotSupported",
    "InvalidUsage",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "RangeNotSatisfiable",
    "RequestHeaderFieldsTooLarge",
    "RequestTimeout",
    "RouteExists",
    "ServerError",
    "ServiceUnavailable",
    "URLBuildError",
    "Unauthorized",
    "UpgradeRequired",
]


class HTTPException(Exception):
    """An error that becomes an HTTP response with ``status_code``.

    Args:
        message: Text shown to the client. Defaults to the status phrase.
        status_code: Overrides the class's status.
        headers: Extra response headers (e.g. ``Allow``, ``WWW-Authenticate``).
        context: Extra data rendered into JSON error pages.
        extra: Data shown only in debug mode.
        quiet: When true, the error is not logged. Client errors (4xx) are quiet by default.
    """

    status_code: ClassVar[int] = 500
    quiet: bool = False

    def __init__(
        self,
        message: str | None = None,
        *,
        status_code: int | None = None,
        headers: Mapping[str, str] | None = None,
        context: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        quiet: bool | None = None,
    ) -> None:
        if status_code is not None:
            self.status_code = status_code  # type: ignore[misc]
        if message is None:
            try:
                message = HTTPStatus(self.status_code).phrase
            except ValueError:  # a status outside the registry, such as nginx's 499
                message = "Error"
        super().__init__(message)
        self.message = message
        self.headers: dict[str, str] = dict(headers or {})
        self.context: dict[str, Any] = dict(context or {})
        self.extra: dict[str, Any] = dict(extra or {})
        self.quiet = self.status_code < 500 if quiet is None else quiet


class BadRequest(HTTPException):
    """400: the request is malformed."""

    status_code = 400


class InvalidUsage(BadRequest):
    """400 under Sanic's old name."""


class Unauthorized(HTTPException):
    """401: authentication is required.

    Args:
        message: Text shown to the client.
        scheme: Auth scheme for ``WWW-Authenticate`` (e.g. ``"Bearer"``); none means no header.
        headers, context, extra, quiet: As for `HTTPException`.
        **challenge: Parameters of the challenge, such as ``realm="api"``.

    Raises:
        TypeError: challenge parameters were given without a ``scheme``.
    """

    status_code = 401

    def __init__(
        self,
        message: str | None = None,
        scheme: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        context: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        quiet: bool | None = None,
        **challenge: str,
    ) -> None:
        all_headers = dict(headers or {})
        if scheme is not None:
            params = ", ".join(f'{key}="{value}"' for key, value in challenge.items())
            all_headers["WWW-Authenticate"] = f"{scheme} {params}".strip()
        elif challenge:
            raise TypeError("Unauthorized challenge parameters need a scheme")
        super().__init__(message, headers=all_headers, context=context, extra=extra, quiet=quiet)


class Forbidden(HTTPException):
    """403: the client may not do this."""

    status_code = 403


class NotFound(HTTPException):
    """404: nothing is routed at this path."""

    status_code = 404


class MethodNotAllowed(HTTPException):
    """405: the path exists but not for this method; ``Allow`` lists the methods that are.

    Args:
        message: Text shown to the client.
        allowed: The methods the path accepts.
    """

    status_code = 405

    def __init__(self, message: str | None = None, *, allowed: Iterable[str] = ()) -> None:
        self.allowed = tuple(sorted(set(allowed)))
        super().__init__(message, headers={"Allow": ", ".join(self.allowed)})


class RequestTimeout(HTTPException):
    """408: the request head did not arrive in time."""

    status_code = 408


class PayloadTooLarge(HTTPException):
    """413: the request body is larger than the configured limit."""

    status_code = 413


class RangeNotSatisfiable(HTTPException):
    """416: the requested byte range lies outside the resource."""

    status_code = 416


class ExpectationFailed(HTTPException):
    """417: the ``Expect`` header asks for something the server does not do."""

    status_code = 417


class UpgradeRequired(HTTPException):
    """426: this path speaks WebSocket; the request did not ask to upgrade."""

    status_code = 426

    def __init__(
        self,
        message: str | None = None,
        *,
        protocol: str = "websocket",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            message, headers={"Upgrade": protocol, "Connection": "Upgrade", **(headers or {})}
        )


class RequestHeaderFieldsTooLarge(HTTPException):
    """431: the request head is larger than the configured limit."""

    status_code = 431


class ServerError(HTTPException):
    """500: the server failed to produce a response."""

    status_code = 500


class ServiceUnavailable(HTTPException):
    """503: the server cannot answer now (e.g. the handler ran out of time)."""

    status_code = 503


class HTTPVersionNotSupported(HTTPException):
    """505: the request uses an HTTP version other than 1.0 or 1.1."""

    status_code = 505


class ClientDisconnected(Exception):
    """The client closed the connection; the running handler is cancelled."""


class RouteExists(ValueError):
    """A route for the same path and method is already registered."""


class URLBuildError(ValueError):
    """``url_for`` was given an unknown route name or parameters that do not fit."""
