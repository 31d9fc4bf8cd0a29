"""One request and its response under HTTP's rules, whatever protocol carries them.

`Exchange` knows what HTTP says about one exchange and nothing about how its bytes travel:
the checks on a request head (505, 400 for Content-Length with Transfer-Encoding, 417, 413
from Content-Length), the ``Expect: 100-continue`` rule (`Exchange.continue_now`), running the
app with its errors shaped (a 500 before the response head, an aborted message after it), and
the 503 for a handler that ran out of ``RESPONSE_TIMEOUT``. It also writes the access line
(`Exchange.log_access`) and echoes the request id (``config.REQUEST_ID_HEADER``). It talks to
the app through the server protocol (`trioweb.app`), to the body through the request
(``request.body`` or ``request.stream``) and to the client through an `ExchangeWriter`. The
HTTP/1.1 connection (`trioweb.server.http11`) drives it; an ASGI adapter or an HTTP/2 stream
would drive the same code.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import trio

from ..exceptions import (
    BadRequest,
    ClientDisconnected,
    ExpectationFailed,
    HTTPException,
    HTTPVersionNotSupported,
    PayloadTooLarge,
    ServiceUnavailable,
)
from ..logs import access_log_format, log_safe, valid_request_id
from ..response import HeaderList, ResponseWriter
from .lifecycle import CancelReason, Lifecycle

if TYPE_CHECKING:
    from ..app import App, RequestPlan
    from ..request import Request

__all__ = ["Exchange", "ExchangeWriter", "Framing", "must_propagate", "says_close"]

logger = logging.getLogger("trioweb.server")
access_logger = logging.getLogger("trioweb.access")

# config.REQUEST_ID_HEADER as h11 spells header names, per distinct value.
_ID_KEYS: dict[str, bytes] = {}


def _id_key(header: str) -> bytes:
    key = _ID_KEYS.get(header)
    if key is None:
        if len(_ID_KEYS) >= 16:
            _ID_KEYS.clear()
        key = _ID_KEYS[header] = header.lower().encode("latin-1")
    return key


class Framing(enum.Enum):
    """How a request body is delimited, read once from its head."""

    NONE = "no body"
    LENGTH = "Content-Length"
    CHUNKED = "chunked"


def says_close(value: bytes) -> bool:
    """Whether a ``Connection`` header value lists ``close`` (in any case, at any place)."""
    return b"close" in [token.strip() for token in value.lower().split(b",")]


class ExchangeWriter(ResponseWriter, Protocol):
    """What an exchange needs of the writer beyond `ResponseWriter`."""

    #: The status of the response head sent (0 before), and the body bytes sent.
    status: int
    sent: int
    #: Called with the response head's headers as the head goes out; returns those to send.
    #: ``None`` after `begin`; an exchange sets it to echo the request id.
    head_hook: Callable[[HeaderList], HeaderList] | None

    async def send_continue(self) -> None:
        """Send ``100 Continue`` (if the client still waits for it)."""
        ...

    def abort(self) -> None:
        """The response cannot be completed: mark it broken, so the connection closes."""
        ...


def must_propagate(exc: BaseException) -> bool:
    """Whether ``exc`` must never become a response: cancellation, or the process ending.

    Inside an exception group, one such exception is enough. Anything else, even a
    BaseException that is not trio's (asyncio's ``CancelledError`` from a library), is an
    error in the app: a 500, not the end of the server.
    """
    if isinstance(exc, BaseExceptionGroup):
        return any(must_propagate(inner) for inner in exc.exceptions)
    return isinstance(exc, trio.Cancelled | KeyboardInterrupt | SystemExit | GeneratorExit)


class Exchange:
    """One request and its response, from the parsed head to the end of the response.

    Creating it routes the request (`trioweb.App.plan`); `check_head` then decides whether
    the head can be served, `respond` runs the app and sends its answer.

    Args:
        app: The app serving the request.
        request: The request, with its head; its body is attached by the server.
        writer: How the response reaches the client.
        lifecycle: The connection's lifecycle, for the cancel reason and closing.
        plan: The request's plan when the server made one itself (a stand-in request for
            an unreadable head); by default the app plans it.
    """

    __slots__ = (
        "app",
        "client_id",
        "content_length",
        "expects_continue",
        "framing",
        "id_key",
        "lifecycle",
        "plan",
        "request",
        "started_at",
        "writer",
    )

    def __init__(
        self,
        app: App,
        request: Request,
        writer: ExchangeWriter,
        lifecycle: Lifecycle,
        plan: RequestPlan | None = None,
    ) -> None:
        # The access line's duration counts from here: the head has been parsed.
        self.started_at = trio.current_time()
        self.app = app
        self.request = request
        self.writer = writer
        self.lifecycle = lifecycle
        self.plan = app.plan(request) if plan is None else plan
        self.framing = Framing.NONE
        self.content_length = 0
        self.expects_continue = False
        # The request id header, as h11 spells names (None: no echo), and the first value
        # the client sent (seen by check_head, which goes through the headers anyway).
        header = app.config.REQUEST_ID_HEADER
        self.id_key = _id_key(header) if header else None
        self.client_id: bytes | None = None
        if header:
            writer.head_hook = self._echo_request_id

    def check_head(self, pairs: list[tuple[bytes, bytes]]) -> HTTPException | None:
        """What is wrong with the request head, before any of its body is read, if anything.

        Also records the body's framing and length, whether the client expects
        ``100 Continue``, and whether the connection ends after this exchange. ``pairs`` are
        the raw header pairs: one pass over them costs less than looking names up, which
        would index every header of every request.
        """
        request = self.request
        if request.http_version not in ("1.0", "1.1"):
            return HTTPVersionNotSupported(
                f"HTTP/{request.http_version} is not supported", quiet=True
            )
        length = expect = None
        chunked = False
        # An HTTP/1.0 client gets one answer (as h11 has it: no 1.0 keep-alive), and so does
        # one that says Connection: close.
        closes = request.http_version == "1.0"
        id_key = self.id_key
        for name, value in pairs:
            lname = name.lower()
            if lname == b"content-length":
                length = value
            elif lname == b"transfer-encoding":
                chunked = True
            elif lname == b"expect" and expect is None:
                expect = value.decode("latin-1")
            elif lname == id_key and self.client_id is None:
                self.client_id = value
            elif lname == b"connection" and says_close(value):
                closes = True
        if closes:
            self.lifecycle.closing = True
        if length is not None and chunked:
            # h11 lets chunked win (RFC 9112), but a proxy in front may have used the length:
            # the classic request-smuggling disagreement. Refuse and close instead.
            return BadRequest("a request may not carry both Content-Length and Transfer-Encoding")
        if expect is not None:
            if expect.lower() != "100-continue":
                return ExpectationFailed(f"cannot meet the expectation {expect!r}")
            self.expects_continue = True
        plan = self.plan
        if chunked:
            self.framing = Framing.CHUNKED
        elif length is not None:
            self.content_length = size = int(length)  # h11 has checked it is digits
            if size:
                self.framing = Framing.LENGTH
            limit = plan.body_limit
            if limit is not None and size > limit:
                return PayloadTooLarge(f"the request body exceeds {limit} bytes")
        if plan.error is not None and self.expects_continue:
            # Answer the routing error without inviting a body nobody wants.
            return plan.error
        return None

    def continue_now(self, asked: bool) -> bool:
        """Whether to send ``100 Continue`` now: the ``Expect: 100-continue`` rule.

        A client that expects it sends the body only after it. It goes out when the body is
        first asked for: by a streaming handler's first read (``asked``), or, on a buffered
        route, by the server as soon as the request is routed and within its limits. A
        request answered before that (a routing error, 413 from Content-Length, refused by
        middleware, a handler that never reads) never gets one, so the client never sends a
        body nobody wants.
        """
        return (
            self.expects_continue
            and self.plan.error is None
            and (asked or not self.plan.streaming)
            and not self.writer.started
        )

    async def respond(self) -> None:
        """Run middleware and the handler, and send the response.

        An error before the response head went out becomes an error response (500 unless
        it says otherwise); after it, the message is aborted and the connection closes.
        Cancellation with `CancelReason.RESPONSE_TIMEOUT` recorded sends a 503 first, if
        nothing went out. A client that went away ends it quietly.
        """
        request, writer = self.request, self.writer
        request._writer = writer
        try:
            response = await self.app.dispatch(request)
            if response is not None and not writer.started:
                # A handler that ignored a cancel (a plain def in its thread) would otherwise
                # meet it inside the first write, after the head counts as started: no 503.
                await trio.lowlevel.checkpoint_if_cancelled()
                await response.write_to(writer)
        except ClientDisconnected:
            return
        except BaseException as exc:
            if must_propagate(exc):
                # Cancelled (perhaps inside a group from the handler's own nursery).
                await self._answer_timeout()
                raise
            await self._fail(exc)
        finally:
            request._close_form()
            if writer.started:
                self.log_access()

    async def answer(self, exc: BaseException) -> None:
        """Send the response for an error the server met itself (or one the app raised).

        The app's error handlers shape it (`trioweb.App.handle_error`). A client that went
        away meanwhile is ignored.
        """
        # An error handler may answer through request.respond(), which needs the writer.
        self.request._writer = self.writer
        response = await self.app.handle_error(self.request, exc)
        if self.writer.started:
            return  # the handler answered through request.respond()
        with contextlib.suppress(ClientDisconnected):
            await response.write_to(self.writer)

    async def _fail(self, exc: BaseException) -> None:
        """An error escaped the app: a 500 if nothing went out yet, else abort the message."""
        if not self.writer.started:
            await self.answer(exc)
            return
        logger.error(
            "error after the response to %s %s started; closing",
            self.request.method,
            self.request.path,
            exc_info=exc,
        )
        self.lifecycle.closing = True
        self.writer.abort()

    async def _answer_timeout(self) -> None:
        """Cancelled past RESPONSE_TIMEOUT with nothing sent: the client still gets a 503."""
        if self.lifecycle.reason is not CancelReason.RESPONSE_TIMEOUT or self.writer.started:
            return
        self.lifecycle.take_reason()
        request = self.request
        logger.warning(
            "%s %s: no response within RESPONSE_TIMEOUT; handler cancelled",
            request.method,
            request.path,
        )
        timeout = self.app.config.WRITE_IDLE_TIMEOUT
        with trio.CancelScope(shield=True) as shield:
            shield.deadline = trio.current_time() + (math.inf if timeout is None else timeout)
            await self.answer(ServiceUnavailable("the handler did not respond in time", quiet=True))

    def _logs_access(self) -> bool:
        config = self.app.config
        return bool(config.ACCESS_LOG) and access_logger.isEnabledFor(logging.INFO)

    def _echo_request_id(self, headers: HeaderList) -> HeaderList:
        """The response head's headers, with the request id added when there is one.

        There is one when the client sent one, when the app asked for ``request.id``, or
        when an access line will be written (it carries the id): otherwise no UUID is made
        for a request nobody identifies. A header the response sets itself wins.
        """
        request = self.request
        key = self.id_key
        sent = self.client_id
        # request.id caches itself in the request's __dict__: whether something asked.
        known: str | None = request.__dict__.get("id")
        if key is None:
            return headers
        if known is not None:
            value = known.encode("ascii")
        elif sent is not None and valid_request_id(sent):
            value = sent  # what request.id gives, without indexing every header for it
        elif sent is not None or self._logs_access():
            value = request.id.encode("ascii")  # a fresh one, in place of an invalid one
        else:
            return headers
        for name, _ in headers:
            if name == key:
                return headers
        return [*headers, (key, value)]

    def log_access(self) -> None:
        """One line on the ``trioweb.access`` logger, in ``config.ACCESS_LOG_FORMAT``.

        Only when ``config.ACCESS_LOG`` is on and the logger is enabled for INFO: otherwise
        nothing is computed. Every field of `trioweb.logs.ACCESS_FIELDS` (and Sanic's
        ``host``, ``request``, ``byte``) is also an attribute of the log record. Strings a
        client controls are escaped (`trioweb.logs.log_safe`).
        """
        if not self._logs_access():
            return
        request, writer = self.request, self.writer
        duration = (trio.current_time() - self.started_at) * 1000.0
        client = log_safe(request.client_ip) or "-"
        target = request.raw_path
        query = request.query_string
        if query:
            target = f"{target}?{query}"
        headers = request.headers
        values = {
            "client": client,
            "method": request.method,
            "path": log_safe(target),
            "protocol": "HTTP/" + request.http_version,
            "status": writer.status,
            "bytes": writer.sent,
            "duration_ms": duration,
            "request_id": request.id,
            "referer": log_safe(headers.get("referer", "-")),
            "user_agent": log_safe(headers.get("user-agent", "-")),
            # The names Sanic's access records carry, for a log config brought from Sanic.
            "host": f"{client}:{request.port}",
            "request": f"{request.method} {log_safe(request.url)}",
            "byte": writer.sent,
        }
        line = access_log_format(self.app.config.ACCESS_LOG_FORMAT).render(values)
        access_logger.info(line, extra=values)
