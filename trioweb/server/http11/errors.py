"""h11's parse errors in trioweb's terms: the status to answer, and a message of our own."""

from __future__ import annotations

import h11

from ...config import Config
from ...exceptions import (
    BadRequest,
    HTTPException,
    RequestHeaderFieldsTooLarge,
)

__all__ = ["protocol_error"]

# h11's messages, in trioweb's words: they must not echo the client's bytes (h11 shows them as
# a Python repr of a bytearray) or name h11's internals.
_MESSAGES = (
    ("illegal request line", "malformed request line"),
    ("no request line", "malformed request line"),
    ("illegal header line", "malformed header line"),
    ("continuation line", "malformed header line"),
    ("Illegal header name", "malformed header name"),
    ("Illegal header value", "malformed header value"),
    ("Illegal method", "malformed request method"),
    ("Illegal target", "malformed request target"),
    ("Missing mandatory Host", "an HTTP/1.1 request needs a Host header"),
    ("Found multiple Host", "a request may have only one Host header"),
    ("conflicting Content-Length", "conflicting Content-Length headers"),
    ("bad Content-Length", "malformed Content-Length header"),
    ("multiple Transfer-Encoding", "only one Transfer-Encoding header is supported"),
    ("Only Transfer-Encoding: chunked", "only Transfer-Encoding: chunked is supported"),
    ("illegal chunk header", "malformed chunked body: bad chunk size line"),
    ("malformed chunk footer", "malformed chunked body: a chunk is longer than its size"),
    ("peer unexpectedly closed", "the request ended early"),
)
_ERROR_CLASSES: dict[int, type[HTTPException]] = {
    400: BadRequest,
    431: RequestHeaderFieldsTooLarge,
}


def protocol_error(exc: h11.RemoteProtocolError, config: Config, in_body: bool) -> HTTPException:
    """Translate an h11 parse error into the trioweb exception for its status.

    Always quiet: any client can send garbage, and it must not be able to flood the logs.
    ``in_body``: the error came while reading a body (h11's 431 there is a chunk line that
    never ends, a malformed body rather than a large head).
    """
    status = exc.error_status_hint
    text = str(exc)
    if status == 431:
        if in_body:
            status, message = 400, "malformed chunked body: a chunk size line is too long"
        else:
            message = f"the request head exceeds {config.REQUEST_MAX_HEADER_SIZE} bytes"
    else:
        message = next(
            (ours for theirs, ours in _MESSAGES if text.startswith(theirs)),
            "malformed request",
        )
    error_class = _ERROR_CLASSES.get(status)
    if error_class is None:
        return HTTPException(message, status_code=status, quiet=True)
    return error_class(message, quiet=True)
