"""Property tests: arbitrary and mutated request bytes through the real connection code.

Each example opens a fresh in-memory connection to a served app, sends the bytes (whole, or
split at random points) and reads until the server closes. Properties: the server answers
only with a status from the documented list (or closes without answering), never logs an
unhandled error, never hangs (``trio.fail_after``; an incomplete request ends at the request
or keep-alive timeout, which an autojumping clock reaches at once), and serves the next
well-formed request on a fresh connection.

The client does not half-close: like most servers, trioweb reads EOF as "the client left" and
cancels the request, so a half-closed request would be dropped, not answered.
"""

from __future__ import annotations

import logging
import os
import re

import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioweb import App
from trioweb.request import Request
from trioweb.response import HTTPResponse, text

from .netutil import read_all

# 501: a Transfer-Encoding other than chunked (RFC 9112 asks for 501 there).
ALLOWED_STATUSES = {200, 400, 404, 405, 408, 413, 417, 431, 501, 503, 505}
STATUS_LINE = re.compile(rb"HTTP/1\.1 (\d{3}) ")

VALID_REQUESTS = [
    b"GET / HTTP/1.1\r\nHost: t\r\n\r\n",
    b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /stream HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nhello\r\n0\r\n\r\n",
    b"POST /stream HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world",
    b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n",
    b"GET /missing?x=1 HTTP/1.0\r\n\r\n",
]


def fuzz_app() -> App:
    app = App("fuzz")
    app.config.REQUEST_MAX_SIZE = 1024
    app.config.REQUEST_MAX_HEADER_SIZE = 512

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        return text("ok")

    @app.post("/echo")
    async def echo(req: Request) -> HTTPResponse:
        return text(str(len(req.body)))

    @app.post("/stream", stream=True)
    async def streamed(req: Request) -> HTTPResponse:
        return text(str(len(await req.receive_body())))

    return app


def mutate(data: bytes, draw: st.DrawFn) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["flip", "insert", "delete", "dup"]))
        pos = draw(st.integers(0, max(len(out) - 1, 0)))
        if op == "flip" and out:
            out[pos] = draw(st.integers(0, 255))
        elif op == "insert":
            out[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete" and out:
            del out[pos : pos + draw(st.integers(1, 8))]
        else:
            out[pos:pos] = out[pos : pos + draw(st.integers(1, 16))]
    return bytes(out)


@st.composite
def request_bytes(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["random", "mutated", "pipelined"]))
    if kind == "random":
        return draw(st.binary(max_size=300))
    base = draw(st.sampled_from(VALID_REQUESTS))
    if kind == "pipelined":
        base += draw(st.sampled_from(VALID_REQUESTS))
    return mutate(base, draw)


async def _exchange(data: bytes, cuts: list[int]) -> bytes:
    async with fuzz_app().test_client() as client:
        stream = await client.listener.connect()
        pieces = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        with trio.fail_after(600):  # virtual seconds: past every server timeout
            for piece in pieces:
                if piece:
                    await stream.send_all(piece)
            reply = await read_all(stream)
            # The server still serves a well-formed request on a fresh connection.
            assert (await client.get("/")).text == "ok"
        return reply


def exchange(data: bytes, cuts: list[int]) -> bytes:
    """Run one exchange in its own trio run, on a clock that skips idle waits."""
    clock = trio.testing.MockClock(autojump_threshold=0)
    return trio.run(_exchange, data, cuts, clock=clock)


@settings(
    # FUZZ_EXAMPLES=5000 for a long run; the default keeps the suite fast.
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=request_bytes(), cut_seeds=st.lists(st.integers(0, 10_000), max_size=4))
def test_any_bytes_get_a_listed_status_or_a_clean_close(
    data: bytes, cut_seeds: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    cuts = sorted({seed % (len(data) + 1) for seed in cut_seeds})
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="trioweb"):
        reply = exchange(data, cuts)
    statuses = {int(code) for code in STATUS_LINE.findall(reply)}
    assert statuses <= ALLOWED_STATUSES, (data, reply[:300])
    crashes = [r for r in caplog.records if r.name == "trioweb.server"]
    assert not crashes, [r.getMessage() for r in crashes]


DATE = re.compile(rb"\r\ndate: [^\r]*")


def test_the_byte_at_a_time_request_is_served_like_the_whole_one() -> None:
    """Streaming bodies included, with Content-Length (read past h11) and chunked."""
    for raw in VALID_REQUESTS:
        whole = exchange(raw, [])
        trickled = exchange(raw, list(range(1, len(raw))))
        assert DATE.sub(b"", whole) == DATE.sub(b"", trickled)
        assert STATUS_LINE.match(whole)


@settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "150")) // 3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    size=st.integers(0, 1500),
    method=st.sampled_from([b"HEAD", b"GET"]),
    cut_seeds=st.lists(st.integers(0, 10_000), max_size=3),
)
def test_heads_around_the_size_limit_get_200_or_431_and_head_gets_no_body(
    size: int, method: bytes, cut_seeds: list[int], caplog: pytest.LogCaptureFixture
) -> None:
    """REQUEST_MAX_HEADER_SIZE is 512 here: whole or in pieces, a head at any size is
    answered 200 or 431, a HEAD answer has no body, and nothing is logged as an error."""
    data = method + b" / HTTP/1.1\r\nHost: t\r\nX: " + b"a" * size + b"\r\n\r\n"
    cuts = sorted({seed % (len(data) + 1) for seed in cut_seeds})
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="trioweb"):
        reply = exchange(data, cuts)
    statuses = [int(code) for code in STATUS_LINE.findall(reply)]
    assert len(statuses) == 1, reply[:300]
    assert statuses[0] == (431 if len(data) > 512 else 200)
    if method == b"HEAD":
        assert reply.endswith(b"\r\n\r\n")  # the head only
    assert not caplog.records, [r.getMessage() for r in caplog.records]
