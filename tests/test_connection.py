"""The HTTP/1.1 connection through real sockets: keep-alive, pipelining, HTTP/1.0,
``Expect: 100-continue``, bad input, and the head-size and timeout limits.

Network rules: see ``tests/netutil.py`` (port 0, ``fail_after`` on every wait, the test closes
its clients first).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from email.utils import parsedate_to_datetime
from types import SimpleNamespace
from typing import Any

import h11
import httpx
import pytest
import trio

from trioweb import App
from trioweb.exceptions import BadRequest, HTTPException
from trioweb.request import Request
from trioweb.response import HTTPResponse, StreamingHTTPResponse, stream, text
from trioweb.server.http11 import writer

from .netutil import TIMEOUT, RawClient, read_all, request, running


def make_app() -> App:
    app = App("conn")

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        return text("hello")

    @app.get("/echo-path/<rest:path>")
    async def echo_path(req: Request, rest: str) -> HTTPResponse:
        return text(rest)

    @app.post("/upload")
    async def upload(req: Request) -> HTTPResponse:
        return text(str(len(req.body)))

    @app.post("/reject", stream=True)
    async def reject(req: Request) -> HTTPResponse:
        return text("no thanks", status=403)

    @app.post("/consume", stream=True)
    async def consume(req: Request) -> HTTPResponse:
        return text(str(len(await req.receive_body())))

    return app


async def test_keep_alive_serves_many_requests_on_one_connection() -> None:
    async with running(make_app()) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            for i in range(5):
                await client.send(request("GET", f"/echo-path/{i}"), h11.EndOfMessage())
                head, body = await client.response()
                assert (head.status_code, body) == (200, str(i).encode())
                client.h11.start_next_cycle()
            await client.aclose()


async def test_pipelined_requests_are_answered_in_order() -> None:
    async with running(make_app()) as server:
        with trio.fail_after(TIMEOUT):
            stream = await trio.open_tcp_stream(server.host, server.port)
            pipelined = b"".join(
                f"GET /echo-path/{i} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for i in range(10)
            )
            await stream.send_all(pipelined)
            client = RawClient(stream)
            for i in range(10):
                # The bytes already went out; tell the client-side h11 what it "sent".
                client.h11.send(request("GET", f"/echo-path/{i}"))
                client.h11.send(h11.EndOfMessage())
                head, body = await client.response()
                assert (head.status_code, body) == (200, str(i).encode())
                client.h11.start_next_cycle()
            await client.aclose()


async def test_http_10_request_gets_a_response_and_the_connection_closes() -> None:
    async with running(make_app()) as server:
        with trio.fail_after(TIMEOUT):
            stream = await trio.open_tcp_stream(server.host, server.port)
            await stream.send_all(b"GET / HTTP/1.0\r\n\r\n")
            reply = await RawClient(stream).read_until_closed()
            assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
            assert reply.endswith(b"\r\n\r\nhello")
            assert b"connection: close" in reply.lower()


def closing_app() -> App:
    app = make_app()

    @app.get("/last")
    async def last(req: Request) -> HTTPResponse:
        return text("bye", headers={"Connection": "close"})

    @app.get("/chunked-text")
    async def chunked_text(req: Request) -> HTTPResponse:
        return text("framed by chunks", headers={"Transfer-Encoding": "chunked"})

    @app.get("/big")
    async def big(req: Request) -> HTTPResponse:
        return HTTPResponse(bytes(range(256)) * 2400)  # 614,400 bytes: several writes

    @app.get("/created")
    async def created(req: Request) -> HTTPResponse:
        return text("hello", status=201)  # the same headers as GET /'s

    @app.get("/mid")
    async def mid(req: Request) -> HTTPResponse:
        return HTTPResponse(bytes(range(256)) * 400)  # 102,400 bytes: one write, not joined

    return app


@pytest.mark.parametrize(
    ("head", "why"),
    [
        (b"GET / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive, Close\r\n\r\n", "request"),
        (b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.0"),
        (b"GET /last HTTP/1.1\r\nHost: t\r\n\r\n", "handler"),
    ],
    ids=["client-says-close", "http-1.0-keep-alive", "handler-says-close"],
)
async def test_the_connection_closes_after_an_answer_either_side_called_the_last(
    head: bytes, why: str
) -> None:
    # A request pipelined behind it is not answered: the head said Connection: close.
    async with running(closing_app()) as server:
        with trio.fail_after(TIMEOUT):
            stream = await trio.open_tcp_stream(server.host, server.port)
            await stream.send_all(head + b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            reply = await RawClient(stream).read_until_closed()
    assert reply.count(b"HTTP/1.1 200 OK\r\n") == 1, why
    assert b"\r\nconnection: close\r\n" in reply.lower()
    assert reply.endswith(b"hello") or reply.endswith(b"bye")


async def test_answers_of_every_framing_keep_the_connection_in_step() -> None:
    # A short body, one of several writes, a chunked one a handler asked for, a HEAD answer
    # and a 304: each must end exactly where the head says, or the next answer is misread.
    async with running(closing_app()) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            expected = [
                ("GET", "/", b"hello"),
                ("GET", "/big", bytes(range(256)) * 2400),
                ("GET", "/mid", bytes(range(256)) * 400),
                ("GET", "/chunked-text", b"framed by chunks"),
                ("HEAD", "/big", b""),
                ("GET", "/", b"hello"),
            ]
            for method, target, body in expected:
                await client.send(request(method, target), h11.EndOfMessage())
                head, received = await client.response()
                assert (head.status_code, received) == (200, body), target
                assert (b"connection", b"close") not in head.headers
                if target == "/chunked-text":
                    assert (b"transfer-encoding", b"chunked") in head.headers
                client.h11.start_next_cycle()
            await client.aclose()


GET = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
LAST_GET = b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"


async def raw_replies(server: Any, *heads: bytes) -> list[bytes]:
    """Send the request heads on one connection (the last says Connection: close) and
    return the raw replies, split where each next one begins."""
    stream_ = await trio.open_tcp_stream(server.host, server.port)
    await stream_.send_all(b"".join(heads))
    reply = await RawClient(stream_).read_until_closed()
    return [b"HTTP/1.1 " + part for part in reply.split(b"HTTP/1.1 ")[1:]]


def without_date(reply: bytes) -> bytes:
    return re.sub(rb"\r\ndate: [^\r]*", b"", reply)


def date_of(reply: bytes) -> float:
    found = re.search(rb"\r\ndate: ([^\r]*)", reply)
    assert found is not None, reply
    return parsedate_to_datetime(found[1].decode()).timestamp()


async def test_a_head_written_again_is_the_head_h11_wrote() -> None:
    # The head of a small whole response is kept (for the second) and written again without
    # h11: it must be the very bytes h11 wrote, for each status and method, and never for
    # an answer that closes the connection.
    head = b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"
    missing = b"GET /nowhere HTTP/1.1\r\nHost: t\r\n\r\n"
    created = b"GET /created HTTP/1.1\r\nHost: t\r\n\r\n"
    heads = [GET, head, missing, created]
    async with running(closing_app()) as server:
        with trio.fail_after(TIMEOUT):
            replies = await raw_replies(server, *heads, *heads, LAST_GET)
    first, first_head, first_404, first_201, again, again_head, again_404, again_201, closing = (
        replies
    )
    assert without_date(again) == without_date(first)
    assert without_date(again_head) == without_date(first_head)
    assert without_date(again_404) == without_date(first_404)
    assert without_date(again_201) == without_date(first_201)
    assert first_201.startswith(b"HTTP/1.1 201 Created\r\n")
    assert first.endswith(b"\r\n\r\nhello")
    assert first_head.endswith(b"\r\n\r\n")
    assert first_404.startswith(b"HTTP/1.1 404 ")
    assert b"\r\nconnection: close\r\n" in closing.lower()
    assert b"connection" not in first.lower()


async def test_a_head_written_again_carries_the_current_date(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1_800_000_000.0]
    monkeypatch.setattr(writer, "time", SimpleNamespace(time=lambda: now[0]))
    async with running(closing_app()) as server:
        with trio.fail_after(TIMEOUT):
            before = await raw_replies(server, GET, GET, LAST_GET)
            now[0] += 5
            after = await raw_replies(server, GET, LAST_GET)
    assert [date_of(reply) for reply in before] == [1_800_000_000] * 3
    assert [date_of(reply) for reply in after] == [1_800_000_005] * 2


def miscounting_app() -> App:
    app = make_app()

    async def longer(response: StreamingHTTPResponse) -> None:
        await response.write(b"12345")
        await response.write(b"678901")  # 11 bytes for 10

    async def shorter(response: StreamingHTTPResponse) -> None:
        await response.write(b"12345")

    @app.get("/longer")
    async def too_long(req: Request) -> StreamingHTTPResponse:
        return stream(longer, headers={"Content-Length": "10"})

    @app.get("/shorter")
    async def too_short(req: Request) -> StreamingHTTPResponse:
        return stream(shorter, headers={"Content-Length": "10"})

    return app


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/longer", "the response body is longer than its Content-Length (10 bytes)"),
        ("/shorter", "the response body ended 5 bytes short of its Content-Length (10 bytes)"),
    ],
)
async def test_a_stream_that_miscounts_its_content_length_is_cut_off_and_logged(
    path: str, problem: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The client sees a body cut short by the connection closing (never more bytes than the
    # head announced, never a hang), and the log says what went wrong.
    async with running(miscounting_app()) as server:
        with trio.fail_after(TIMEOUT):
            stream_ = await trio.open_tcp_stream(server.host, server.port)
            await stream_.send_all(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            reply = await RawClient(stream_).read_until_closed()
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 10" in head.lower()
    assert body == b"12345"
    assert f"error after the response to GET {path} started; closing" in caplog.text
    assert problem in caplog.text


async def test_expect_100_continue_is_sent_before_a_buffered_body() -> None:
    async with running(make_app()) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            await client.send(
                request("POST", "/upload", [("Content-Length", "5"), ("Expect", "100-continue")])
            )
            informational = await client.next_event()
            assert isinstance(informational, h11.InformationalResponse)
            assert informational.status_code == 100
            await client.send(h11.Data(data=b"12345"), h11.EndOfMessage())
            head, body = await client.response()
            assert (head.status_code, body) == (200, b"5")
            await client.aclose()


async def test_expect_100_continue_is_sent_when_a_streaming_handler_reads() -> None:
    async with running(make_app()) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            await client.send(
                request("POST", "/consume", [("Content-Length", "3"), ("Expect", "100-continue")])
            )
            informational = await client.next_event()
            assert isinstance(informational, h11.InformationalResponse)
            await client.send(h11.Data(data=b"abc"), h11.EndOfMessage())
            head, body = await client.response()
            assert (head.status_code, body) == (200, b"3")
            await client.aclose()


async def test_no_100_continue_for_a_handler_that_never_reads_or_an_unknown_path() -> None:
    async with running(make_app()) as server:
        with trio.fail_after(TIMEOUT):
            for target, status in (("/reject", 403), ("/missing", 404)):
                client = await RawClient.connect(server)
                await client.send(
                    request("POST", target, [("Content-Length", "9"), ("Expect", "100-continue")])
                )
                first = await client.next_event()
                assert isinstance(first, h11.Response), first
                assert first.status_code == status
                await client.aclose()


async def test_malformed_request_line_gets_400_and_the_server_keeps_serving() -> None:
    async with running(make_app()) as server:
        with trio.fail_after(TIMEOUT):
            stream = await trio.open_tcp_stream(server.host, server.port)
            await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
            reply = await RawClient(stream).read_until_closed()
            assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
            async with httpx.AsyncClient() as client:
                assert (await client.get(server.url + "/")).text == "hello"


async def test_oversized_head_in_one_read_gets_431() -> None:
    app = make_app()
    app.config.REQUEST_MAX_HEADER_SIZE = 1024
    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            stream = await trio.open_tcp_stream(server.host, server.port)
            head = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 1500 + b"\r\n\r\n"
            await stream.send_all(head)
            reply = await RawClient(stream).read_until_closed()
            assert reply.startswith(b"HTTP/1.1 431 ")


async def test_body_over_the_limit_from_content_length_gets_413() -> None:
    app = make_app()
    app.config.REQUEST_MAX_SIZE = 10
    async with running(app) as server, httpx.AsyncClient() as client:
        with trio.fail_after(TIMEOUT):
            response = await client.post(server.url + "/upload", content=b"x" * 11)
            assert response.status_code == 413
            ok = await client.post(server.url + "/upload", content=b"x" * 10)
            assert ok.text == "10"


async def test_chunked_body_over_the_limit_gets_413() -> None:
    app = make_app()
    app.config.REQUEST_MAX_SIZE = 10

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(4):
            yield b"abcd"

    async with running(app) as server, httpx.AsyncClient() as client:
        with trio.fail_after(TIMEOUT):
            response = await client.post(server.url + "/upload", content=chunks())
            assert response.status_code == 413


async def test_trickled_head_gets_408_at_the_request_timeout(
    autojump_clock: trio.abc.Clock,
) -> None:
    app = make_app()
    app.config.REQUEST_TIMEOUT = 5
    async with app.test_client() as client:
        stream = await client.listener.connect()
        await stream.send_all(b"GET / HTTP/1.1\r\n")
        start = trio.current_time()
        reply = await read_all(stream)
        assert reply.startswith(b"HTTP/1.1 408 ")
        assert 5 <= trio.current_time() - start < 6


async def test_idle_keep_alive_connection_is_closed_quietly(
    autojump_clock: trio.abc.Clock,
) -> None:
    app = make_app()
    app.config.KEEP_ALIVE_TIMEOUT = 2
    async with app.test_client() as client:
        stream = await client.listener.connect()
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        reply = b""
        while not reply.endswith(b"hello"):
            reply += await stream.receive_some(1024)
        start = trio.current_time()
        assert await stream.receive_some(1024) == b""
        assert 2 <= trio.current_time() - start < 3


async def test_a_slow_handler_gets_503_and_is_cancelled(autojump_clock: trio.abc.Clock) -> None:
    app = App("slow")
    app.config.RESPONSE_TIMEOUT = 3
    cancelled = trio.Event()

    @app.get("/slow")
    async def slow(req: Request) -> HTTPResponse:
        try:
            await trio.sleep(10)
        finally:
            cancelled.set()
        return text("too late")

    async with app.test_client() as client:
        start = trio.current_time()
        response = await client.get("/slow")
        assert response.status_code == 503
        assert 3 <= trio.current_time() - start < 4
        assert cancelled.is_set()


async def test_the_response_timeout_starts_when_a_streamed_upload_ends(
    autojump_clock: trio.abc.Clock,
) -> None:
    app = App("long-upload")
    app.config.RESPONSE_TIMEOUT = 3

    @app.put("/up", stream=True)
    async def up(req: Request) -> HTTPResponse:
        return text(str(len(await req.receive_body())))

    async def slow_body():  # type: ignore[no-untyped-def]
        for _ in range(10):
            await trio.sleep(1)
            yield b"x" * 100

    async with app.test_client() as client:
        response = await client.put("/up", content=slow_body())
        assert (response.status_code, response.text) == (200, "1000")


async def exchange(app: App, raw: bytes) -> bytes:
    """Send raw bytes on a fresh in-memory connection; everything the server answers."""
    async with app.test_client() as client:
        stream = await client.listener.connect()
        await stream.send_all(raw)
        with trio.fail_after(TIMEOUT):
            return await read_all(stream)


async def test_content_length_with_transfer_encoding_is_refused_once() -> None:
    reply = await exchange(
        make_app(),
        b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert reply.count(b"HTTP/1.1 ") == 1  # the smuggled request is never answered
    assert b"both Content-Length and Transfer-Encoding" in reply


async def test_conflicting_content_lengths_are_refused() -> None:
    reply = await exchange(
        make_app(),
        b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    )
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert reply.count(b"HTTP/1.1 ") == 1


async def test_unsupported_http_version_gets_505() -> None:
    for version in (b"2.0", b"1.2", b"0.9"):
        reply = await exchange(make_app(), b"GET / HTTP/" + version + b"\r\nHost: t\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 505 HTTP Version Not Supported\r\n"), version


async def test_invalid_chunk_size_gets_400() -> None:
    reply = await exchange(
        make_app(),
        b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n",
    )
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_non_ascii_target_gets_400() -> None:
    reply = await exchange(make_app(), "GET /é HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_unknown_expectation_gets_417() -> None:
    reply = await exchange(
        make_app(),
        b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nExpect: teapot\r\n\r\nx",
    )
    assert reply.startswith(b"HTTP/1.1 417 Expectation Failed\r\n")


async def test_error_handlers_shape_answers_to_unparseable_requests() -> None:
    app = make_app()

    @app.exception(HTTPException)
    async def branded(req: Request, exc: BaseException) -> HTTPResponse:
        assert isinstance(exc, HTTPException)
        return text(f"branded {exc.status_code}", status=exc.status_code)

    reply = await exchange(app, b"NOT HTTP AT ALL\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert reply.endswith(b"branded 400")


async def test_a_partial_pipelined_head_still_times_out(autojump_clock: trio.abc.Clock) -> None:
    app = make_app()
    app.config.REQUEST_TIMEOUT = 4
    async with app.test_client() as client:
        stream = await client.listener.connect()
        await stream.send_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\nGET / HT")
        start = trio.current_time()
        reply = await read_all(stream)
        assert reply.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"HTTP/1.1 408 " in reply
        assert 4 <= trio.current_time() - start < 5


async def test_malformed_requests_are_bad_requests_to_error_handlers() -> None:
    app = make_app()

    @app.exception(BadRequest)
    async def bad(req: Request, exc: BaseException) -> HTTPResponse:
        return text(f"bad: {type(exc).__name__}", status=400)

    reply = await exchange(app, b"GET / HTTP/1.1\r\nno colon here\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert reply.endswith(b"bad: BadRequest")


async def test_a_request_sent_while_a_slow_handler_runs_is_served_after_it(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The watcher a slow handler gets reads the next request; it must not be lost."""
    app = App("watched")
    finished: list[str] = []

    @app.get("/slow")
    async def slow(req: Request) -> HTTPResponse:
        await trio.sleep(2)  # several timekeeper sweeps: a watcher is reading by now
        finished.append("slow")
        return text("slow")

    @app.get("/fast")
    async def fast(req: Request) -> HTTPResponse:
        finished.append("fast")
        return text("fast")

    async with app.test_client() as client:
        stream = await client.listener.connect()
        await stream.send_all(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        await trio.sleep(1)
        await stream.send_all(b"GET /fast HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        with trio.fail_after(TIMEOUT):
            reply = await read_all(stream)
    assert finished == ["slow", "fast"]
    assert reply.count(b"HTTP/1.1 200 OK") == 2
    assert reply.endswith(b"fast")


async def test_a_client_leaving_a_slow_handler_cancels_it(autojump_clock: trio.abc.Clock) -> None:
    app = App("left")
    cancelled = trio.Event()

    @app.get("/slow")
    async def slow(req: Request) -> HTTPResponse:
        try:
            await trio.sleep(3600)
        finally:
            cancelled.set()
        return text("unreachable")  # pragma: no cover

    async with app.test_client() as client:
        stream = await client.listener.connect()
        await stream.send_all(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        await trio.sleep(1)
        start = trio.current_time()
        await stream.aclose()
        await cancelled.wait()
        assert trio.current_time() - start <= 0.5  # within one timekeeper sweep or two


# -- found from outside (issue 10): each of these once failed --------------------------------


async def test_a_head_request_with_an_oversized_head_in_one_read_gets_a_bodiless_431(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="trioweb")
    async with running(make_app()) as server:
        with trio.fail_after(TIMEOUT):
            stream = await trio.open_tcp_stream(server.host, server.port)
            await stream.send_all(b"HEAD / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 9000 + b"\r\n\r\n")
            reply = await RawClient(stream).read_until_closed()
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert body == b""  # HEAD: the headers only
    assert not caplog.records


async def test_every_response_has_a_date_header() -> None:
    async with make_app().test_client() as client:
        for response in (await client.get("/"), await client.get("/missing")):
            date = parsedate_to_datetime(response.headers["date"])
            assert abs(date.timestamp() - time.time()) < 5


async def test_a_date_header_set_by_the_handler_is_kept() -> None:
    app = App("dated")

    @app.get("/")
    async def dated(req: Request) -> HTTPResponse:
        return text("old", headers={"Date": "Sun, 06 Nov 1994 08:49:37 GMT", "X-A": "1"})

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.headers.get_list("date") == ["Sun, 06 Nov 1994 08:49:37 GMT"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"5;" + b"x" * (1024 * 1024) + b"\r\nhello\r\n0\r\n\r\n", 400),  # huge chunk extension
        (b"zz\r\n" + b"x" * (1024 * 1024), 400),  # a bad chunk size, the body still coming
    ],
    ids=["chunk-extension", "chunk-size"],
)
async def test_a_framing_error_mid_body_is_answered_then_closed_without_a_reset(
    body: bytes, status: int
) -> None:
    """The server lingers: it reads what the client still sends, so no reset destroys the
    answer (a reset makes the client's next read fail with ECONNRESET)."""
    async with running(make_app()) as server:
        with trio.fail_after(TIMEOUT):
            stream = await trio.open_tcp_stream(server.host, server.port)
            head = b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"

            async def send() -> None:
                with contextlib.suppress(trio.BrokenResourceError):
                    await stream.send_all(head + body)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(send)
                reply = bytearray()
                while chunk := await stream.receive_some(65536):  # ECONNRESET would raise
                    reply += chunk
            await stream.aclose()
    assert reply.startswith(b"HTTP/1.1 %d " % status)
    assert reply.endswith(b"\n")  # the whole error page arrived


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (b"GARBAGE\r\n\r\n", 400, "malformed request line"),
        (b"GET / HTTP/1.1\r\nno colon here\r\n\r\n", 400, "malformed header line"),
        (b"GET / HTTP/1.1\r\n\r\n", 400, "an HTTP/1.1 request needs a Host header"),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "only one Host header"),
        (b"GET /\xff HTTP/1.1\r\nHost: t\r\n\r\n", 400, "malformed request line"),
        (
            b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
            "conflicting Content-Length headers",
        ),
        (
            b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: x\r\n\r\n",
            400,
            "malformed Content-Length header",
        ),
        (
            b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
            "only Transfer-Encoding: chunked is supported",
        ),
        (
            b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            400,
            "malformed chunked body: bad chunk size line",
        ),
        (
            b"POST /upload HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n",
            400,
            "malformed chunked body: a chunk is longer than its size",
        ),
        (b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431, "exceeds 8192"),
        (b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505, "HTTP/2.0 is not supported"),
        (
            b"POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nExpect: teapot\r\n\r\nx",
            417,
            "cannot meet the expectation 'teapot'",
        ),
    ],
)
async def test_connection_level_errors_have_pinned_messages(
    raw: bytes, status: int, message: str
) -> None:
    reply = await exchange(make_app(), raw)
    assert reply.startswith(b"HTTP/1.1 %d " % status), reply[:100]
    text_body = reply.partition(b"\r\n\r\n")[2].decode()
    assert message in text_body
    assert "bytearray" not in text_body
    assert "h11" not in text_body


async def test_the_response_timeout_ends_when_the_head_goes_out(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A streamed response may write for as long as it takes (WRITE_IDLE_TIMEOUT per write)."""
    app = App("long-stream")
    app.config.RESPONSE_TIMEOUT = 3

    @app.get("/ticks")
    async def ticks(req: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            for i in range(5):
                await trio.sleep(2)
                await response.write(f"{i}\n")

        return stream(body)

    async with app.test_client() as client:
        start = trio.current_time()
        response = await client.get("/ticks")
        assert (response.status_code, response.text) == (200, "0\n1\n2\n3\n4\n")
        assert trio.current_time() - start >= 10


async def test_a_trickled_head_request_gets_a_bodiless_408(
    autojump_clock: trio.abc.Clock,
) -> None:
    app = make_app()
    app.config.REQUEST_TIMEOUT = 5
    async with app.test_client() as client:
        stream = await client.listener.connect()
        await stream.send_all(b"HEAD / HTTP/1.1\r\n")
        reply = await read_all(stream)
    assert reply.startswith(b"HTTP/1.1 408 ")
    assert reply.endswith(b"\r\n\r\n")  # the head only: the request said HEAD


async def test_a_handler_timed_out_inside_its_own_nursery_still_gets_503(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The cancellation reaches the exchange wrapped in the nursery's exception group."""
    app = App("nursery-timeout")
    app.config.RESPONSE_TIMEOUT = 2

    @app.get("/fan")
    async def fan(req: Request) -> HTTPResponse:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep_forever)
            nursery.start_soon(trio.sleep_forever)
        return text("unreachable")  # pragma: no cover

    async with app.test_client() as client:
        response = await client.get("/fan")
    assert response.status_code == 503
