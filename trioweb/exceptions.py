"""The exceptions trioweb raises and the statuses they answer with.

Hierarchy (Sanic's names on the right are the same classes, for code ported from Sanic):

    Exception
     +-- HTTPException            carries the status to reply with     SanicException
     |    +-- BadRequest                      400                       InvalidUsage, BadURL
     |    |    +-- HeaderNotFound             400
     |    |    +-- InvalidHeader              400
     |    +-- Unauthorized                    401  (sets ``WWW-Authenticate``)
     |    +-- Forbidden                       403
     |    +-- NotFound                        404
     |    |    +-- FileNotFound               404
     |    +-- MethodNotAllowed                405  (sets ``Allow``)     MethodNotSupported
     |    +-- RequestTimeout                  408
     |    +-- PayloadTooLarge                 413
     |    +-- RangeNotSatisfiable             416                       ContentRangeError
     |    |    +-- InvalidRangeType           416
     |    +-- ExpectationFailed               417                       HeaderExpectationFailed
     |    +-- UpgradeRequired                 426  (a websocket route asked without upgrade)
     |    +-- RequestHeaderFieldsTooLarge     431
     |    +-- ServerError                     500                       InternalServerError
     |    +-- ServiceUnavailable              503
     |    +-- HTTPVersionNotSupported         505
     +-- ClientDisconnected       the peer went away; never answered, only logged at debug
     +-- RouteExists (ValueError) a (path, method) pair registered twice
     +-- URLBuildError (ValueError)  ``url_for`` could not build a URL

An exception class may declare its defaults as class attributes, as in Sanic: ``status_code``,
``message``, ``quiet`` and ``headers`` (the constructor's arguments override them):

    class TeapotError(HTTPException):
        status_code = 418
        message = "I only make tea"
        quiet = True

Protocol errors raised by h11 are translated into this tree once, in ``trioweb.server``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

__all__ = [
    "BadRequest",
    "BadURL",
    "ClientDisconnected",
    "ContentRangeError",
    "ExpectationFailed",
    "FileNotFound",
    "Forbidden",
    "HTTPException",
    "HTTPVersionNotSupported",
    "HeaderExpectationFailed",
    "HeaderNotFound",
    "InternalServerError",
    "InvalidHeader",
    "InvalidRangeType",
    "InvalidUsage",
    "MethodNotAllowed",
    "MethodNotSupported",
    "NotFound",
    "PayloadTooLarge",
    "RangeNotSatisfiable",
    "RequestHeaderFieldsTooLarge",
    "RequestTimeout",
    "RouteExists",
    "SanicException",
    "ServerError",
    "ServiceUnavailable",
    "URLBuildError",
    "Unauthorized",
    "UpgradeRequired",
]


class HTTPException(Exception):
    """An error that becomes an HTTP response with ``status_code``.

    Every argument falls back to the class attribute of the same name, so a subclass can
    fix its status, message, quietness and headers once (see the module docstring).

    Args:
        message: Text shown to the client (``bytes`` are decoded as UTF-8). Defaults to the
            class's ``message``, else the status phrase.
        status_code: Overrides the class's status.
        quiet: When true, the error is not logged. Defaults to the class's ``quiet``; when
            that is ``None`` too, client errors (4xx) are quiet and others are logged.
        context: Extra data shown to the client (in JSON error pages).
        extra: Extra data shown only in debug mode.
        headers: Extra response headers (e.g. ``Retry-After``); default: the class's.
    """

    status_code: int = 500
    #: ``None``: decide from the status (4xx quiet, 5xx logged).
    quiet: bool | None = None
    headers: Mapping[str, str] = {}
    message: str = ""
    context: dict[str, Any]
    extra: dict[str, Any]

    def __init__(
        self,
        message: str | bytes | None = None,
        status_code: int | None = None,
        *,
        quiet: bool | None = None,
        context: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        cls = type(self)
        status = status_code if status_code is not None else _class_default(cls, "status_code")
        if not isinstance(status, int) or isinstance(status, bool):
            raise TypeError(f"status_code must be an int, not {status!r}")
        if message is None:
            message = _class_default(cls, "message") or _phrase(status)
        elif isinstance(message, bytes):
            message = message.decode("utf-8", "replace")
        super().__init__(message)
        if quiet is None:
            quiet = _class_default(cls, "quiet")
        if quiet is None:
            quiet = status < 500
        # A subclass may turn any of these into a read-only property (Sanic allows it for
        # ``message``); it then answers for itself and the value given here is not stored.
        for name, value in (
            ("status_code", status),
            ("message", message),
            ("quiet", bool(quiet)),
            ("headers", dict(headers if headers is not None else _class_default(cls, "headers"))),
            ("context", dict(context or {})),
            ("extra", dict(extra or {})),
        ):
            # (try/except rather than contextlib.suppress: this runs for every 404, and a
            # context manager per attribute doubled the cost of raising one.)
            try:  # noqa: SIM105 (see above)
                setattr(self, name, value)
            except AttributeError:
                pass


def _class_default(cls: type, name: str) -> Any:
    """A class attribute's plain value; a property (read per instance) does not count."""
    for klass in cls.__mro__:
        if name in vars(klass):
            value = vars(klass)[name]
            return None if isinstance(value, property) else value
    return None


def _headers_or_default(cls: type, headers: Mapping[str, str] | None) -> dict[str, str]:
    """The headers given, else the class's; subclasses that add their own start from these."""
    return dict(headers if headers is not None else _class_default(cls, "headers") or {})


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:  # a status outside the registry, such as nginx's 499
        return "Error"


#: Sanic's name for the base class.
SanicException = HTTPException


class BadRequest(HTTPException):
    """400: the request is malformed."""

    status_code = 400


#: Sanic's names for `BadRequest`: the same class, so a handler for either catches both.
InvalidUsage = BadRequest
BadURL = BadRequest


class HeaderNotFound(BadRequest):
    """400: a header the handler needs is missing."""


class InvalidHeader(BadRequest):
    """400: a header's value is malformed."""


class Unauthorized(HTTPException):
    """401: authentication is required.

    Args:
        message: Text shown to the client.
        scheme: Auth scheme for ``WWW-Authenticate`` (e.g. ``"Bearer"``); none means no header.
        quiet: As for `HTTPException`.
        context: As for `HTTPException`.
        extra: As for `HTTPException`.
        headers: As for `HTTPException`.
        **challenge: Parameters of the challenge, such as ``realm="api"``.

    Raises:
        TypeError: challenge parameters were given without a ``scheme``.
    """

    status_code = 401

    def __init__(
        self,
        message: str | bytes | None = None,
        scheme: str | None = None,
        *,
        quiet: bool | None = None,
        context: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        **challenge: str,
    ) -> None:
        all_headers = _headers_or_default(type(self), headers)
        if scheme is not None:
            params = ", ".join(f'{key}="{value}"' for key, value in challenge.items())
            all_headers["WWW-Authenticate"] = f"{scheme} {params}".strip()
        elif challenge:
            raise TypeError("Unauthorized challenge parameters need a scheme")
        super().__init__(
            message, quiet=quiet, context=context, extra=extra, headers=all_headers or None
        )


class Forbidden(HTTPException):
    """403: the client may not do this."""

    status_code = 403


class NotFound(HTTPException):
    """404: nothing is routed at this path."""

    status_code = 404


class FileNotFound(NotFound):
    """404 for a file looked up on disk; ``path`` and ``relative_url`` say which.

    Args:
        message: Text shown to the client.
        path: The file system path that was looked up.
        relative_url: The URL path that led there.
        quiet: As for `HTTPException`.
        context: As for `HTTPException`.
        extra: As for `HTTPException`.
        headers: As for `HTTPException`.
    """

    def __init__(
        self,
        message: str | bytes | None = None,
        path: str | os.PathLike[str] | None = None,
        relative_url: str | None = None,
        *,
        quiet: bool | None = None,
        context: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message, quiet=quiet, context=context, extra=extra, headers=headers)
        self.path = path
        self.relative_url = relative_url


class MethodNotAllowed(HTTPException):
    """405: the path exists but not for this method; ``Allow`` lists the methods that are.

    Args:
        message: Text shown to the client.
        method: The method the request used.
        allowed_methods: The methods the path accepts (Sanic's name).
        allowed: The same, under trioweb's older keyword.
        quiet: As for `HTTPException`.
        context: As for `HTTPException`.
        extra: As for `HTTPException`.
        headers: As for `HTTPException`.
    """

    status_code = 405

    def __init__(
        self,
        message: str | bytes | None = None,
        method: str = "",
        allowed_methods: Iterable[str] | None = None,
        *,
        allowed: Iterable[str] = (),
        quiet: bool | None = None,
        context: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.method = method
        self.allowed = tuple(sorted({*allowed, *(allowed_methods or ())}))
        self.allowed_methods = self.allowed
        super().__init__(
            message,
            quiet=quiet,
            context=context,
            extra=extra,
            headers={**_headers_or_default(type(self), headers), "Allow": ", ".join(self.allowed)},
        )


MethodNotSupported = MethodNotAllowed


class RequestTimeout(HTTPException):
    """408: the request did not arrive in time."""

    status_code = 408


class PayloadTooLarge(HTTPException):
    """413: the request body is larger than the configured limit."""

    status_code = 413


class RangeNotSatisfiable(HTTPException):
    """416: the requested byte range lies outside the resource.

    Args:
        message: Text shown to the client.
        content_range: Anything with a ``total`` (the resource's size): adds
            ``Content-Range: bytes */<total>``.
        quiet: As for `HTTPException`.
        context: As for `HTTPException`.
        extra: As for `HTTPException`.
        headers: As for `HTTPException`.
    """

    status_code = 416

    def __init__(
        self,
        message: str | bytes | None = None,
        content_range: Any = None,
        *,
        quiet: bool | None = None,
        context: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        all_headers = _headers_or_default(type(self), headers)
        if content_range is not None:
            all_headers["Content-Range"] = f"bytes */{content_range.total}"
        super().__init__(
            message, quiet=quiet, context=context, extra=extra, headers=all_headers or None
        )


ContentRangeError = RangeNotSatisfiable


class InvalidRangeType(RangeNotSatisfiable):
    """416: the ``Range`` header uses a unit other than bytes."""


class ExpectationFailed(HTTPException):
    """417: the ``Expect`` header asks for something the server does not do."""

    status_code = 417


HeaderExpectationFailed = ExpectationFailed


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
            message,
            headers={
                "Upgrade": protocol,
                "Connection": "Upgrade",
                **_headers_or_default(type(self), headers),
            },
        )


class RequestHeaderFieldsTooLarge(HTTPException):
    """431: the request head is larger than the configured limit."""

    status_code = 431


class ServerError(HTTPException):
    """500: the server failed to produce a response."""

    status_code = 500


InternalServerError = ServerError


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
