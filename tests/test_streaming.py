"""Streaming both ways through real sockets: backpressure, disconnects, full duplex.

Network rules: see ``tests/netutil.py``. "Blocked" is observed with
``trio.testing.wait_all_tasks_blocked``, never with sleeps.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator

import h11
import httpx
import pytest
import trio
import trio.testing

from trioweb import App
from trioweb.exceptions import PayloadTooLarge
from trioweb.request import Request
from trioweb.response import HTTPResponse, StreamingHTTPResponse, stream, text

from .netutil import TIMEOUT, RawClient, read_all, request, running

MiB = 1024 * 1024


async def test_a_handler_that_stops_reading_stops_the_uploader() -> None:
    app = App("backpressure")
    release = trio.Event()
    received = 0

    @app.post("/slow", stream=True)
    async def slow(req: Request) -> None:
        nonlocal received
        assert req.stream is not None
        # The head goes out at once; no write is blocked, so nothing may spill to disk.
        response = await req.respond()
        first = await req.stream.receive()
        received += len(first)
        await release.wait()
        async for chunk in req.stream:
            received += len(chunk)
        await response.send(str(received))

    total = 200 * MiB
    sent = 0

    async def upload(client: RawClient) -> None:
        nonlocal sent
        block = b"x" * (256 * 1024)
        await client.send(request("POST", "/slow", [("Content-Length", str(total))]))
        while sent < total:
            await client.send(h11.Data(data=block))
            sent += len(block)
        await client.send(h11.EndOfMessage())

    async with running(app) as server:
        with trio.fail_after(60):
            client = await RawClient.connect(server)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(upload, client)
                await trio.testing.wait_all_tasks_blocked(cushion=0.05)
                stalled_at = sent
                # Kernel buffers on both sides hold a few MiB; the rest must be refused.
                print(f"stalled after {stalled_at / MiB:.1f} MiB")
                assert stalled_at < 40 * MiB, stalled_at
                assert server.spool_budget.used == 0
                release.set()
            head, body = await client.response()
            assert (head.status_code, body) == (200, str(total).encode())
            await client.aclose()


async def test_write_waits_while_the_client_is_not_reading() -> None:
    app = App("slow-reader")
    written = 0
    finished = trio.Event()

    @app.get("/firehose")
    async def firehose(req: Request) -> StreamingHTTPResponse:
        async def produce(response: StreamingHTTPResponse) -> None:
            nonlocal written
            chunk = b"y" * MiB
            try:
                while True:
                    await response.write(chunk)
                    written += len(chunk)
            finally:
                finished.set()

        return stream(produce, content_type="application/octet-stream")

    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            await client.send(request("GET", "/firehose"), h11.EndOfMessage())
            head = await client.next_event()
            assert isinstance(head, h11.Response)
            assert head.status_code == 200
            await trio.testing.wait_all_tasks_blocked(cushion=0.05)
            assert written < 40 * MiB, written
            await client.aclose()
            await finished.wait()


async def test_a_disconnect_cancels_the_handler_within_a_second() -> None:
    app = App("disconnect")
    started = trio.Event()
    cleaned_up = trio.Event()

    @app.get("/forever")
    async def forever(req: Request) -> HTTPResponse:
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            cleaned_up.set()
        return text("unreachable")  # pragma: no cover

    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            await client.send(request("GET", "/forever"), h11.EndOfMessage())
            await started.wait()
        await client.aclose()
        with trio.fail_after(1):
            await cleaned_up.wait()


async def test_a_disconnect_mid_upload_cancels_a_streaming_handler() -> None:
    app = App("disconnect-upload")
    cleaned_up = trio.Event()
    got_first = trio.Event()

    @app.put("/up", stream=True)
    async def up(req: Request) -> HTTPResponse:
        assert req.stream is not None
        try:
            async for _ in req.stream:
                got_first.set()
        finally:
            cleaned_up.set()
        return text("done")

    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            await client.send(request("PUT", "/up", [("Content-Length", "1000")]))
            await client.send(h11.Data(data=b"z" * 10))
            await got_first.wait()
        await client.aclose()
        with trio.fail_after(1):
            await cleaned_up.wait()


@pytest.mark.parametrize(
    "framing",
    [
        ("Transfer-Encoding", "chunked"),
        ("Content-Length", str(sum(len(f"piece {i};") for i in range(50)))),
    ],
    ids=["chunked", "content-length"],
)
async def test_full_duplex_echo_answers_each_piece_before_the_next_is_sent(
    framing: tuple[str, str],
) -> None:
    app = App("echo")

    @app.post("/echo", stream=True)
    async def echo(req: Request) -> None:
        response = await req.respond(content_type="application/octet-stream")
        assert req.stream is not None
        async for chunk in req.stream:
            await response.send(chunk)

    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            await client.send(request("POST", "/echo", [framing]))
            head = await client.next_event()
            assert isinstance(head, h11.Response)
            assert head.status_code == 200
            for i in range(50):
                piece = f"piece {i};".encode()
                await client.send(h11.Data(data=piece))
                echoed = b""
                while len(echoed) < len(piece):
                    event = await client.next_event()
                    assert isinstance(event, h11.Data)
                    echoed += event.data
                assert echoed == piece
            await client.send(h11.EndOfMessage())
            assert isinstance(await client.next_event(), h11.EndOfMessage)
            await client.aclose()


async def test_chunked_upload_arrives_in_order() -> None:
    app = App("order")

    @app.post("/collect", stream=True)
    async def collect(req: Request) -> HTTPResponse:
        assert req.stream is not None
        parts = [chunk async for chunk in req.stream]
        return text(b"".join(parts).decode())

    async def numbers() -> AsyncIterator[bytes]:
        for i in range(1000):
            yield f"{i},".encode()

    async with running(app) as server, httpx.AsyncClient() as client:
        with trio.fail_after(TIMEOUT):
            response = await client.post(server.url + "/collect", content=numbers())
            assert response.text == "".join(f"{i}," for i in range(1000))


async def test_streamed_response_without_content_length_is_chunked() -> None:
    app = App("chunked")

    @app.get("/csv")
    async def csv(req: Request) -> StreamingHTTPResponse:
        async def rows(response: StreamingHTTPResponse) -> None:
            for i in range(3):
                await response.write(f"{i},row\n")

        return stream(rows, content_type="text/csv")

    async with running(app) as server, httpx.AsyncClient() as client:
        with trio.fail_after(TIMEOUT):
            async with client.stream("GET", server.url + "/csv") as response:
                assert response.headers["transfer-encoding"] == "chunked"
                assert response.headers["content-type"] == "text/csv"
                body = b"".join([part async for part in response.aiter_bytes()])
            assert body == b"0,row\n1,row\n2,row\n"


def pull_app() -> tuple[App, dict[str, object]]:
    """Streaming handlers that record what ``request.stream`` raised at them."""
    app = App("pull")
    seen: dict[str, object] = {}

    @app.post("/capped", stream=True, max_body_size=10)
    async def capped(req: Request) -> HTTPResponse:
        assert req.stream is not None
        try:
            async for _ in req.stream:
                pass
        except Exception as exc:
            seen["first"] = exc
            try:
                await req.stream.receive()
            except Exception as again:
                seen["again"] = again
            raise
        return text("unreachable")  # pragma: no cover

    @app.post("/kept", stream=True)
    async def kept(req: Request) -> HTTPResponse:
        seen["stream"] = req.stream
        return text("kept")

    @app.post("/raw-channel", stream=True, max_body_size=10)
    async def raw_channel(req: Request) -> HTTPResponse:
        assert req.stream is not None
        try:
            async for _ in req.stream.channel:
                pass
        except BaseException as exc:
            seen["raw"] = exc
            raise
        return text("unreachable")  # pragma: no cover

    return app, seen


async def test_a_chunked_body_past_the_limit_raises_413_in_the_handler_and_again_after() -> None:
    app, seen = pull_app()
    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            await client.send(request("POST", "/capped", [("Transfer-Encoding", "chunked")]))
            await client.send(h11.Data(data=b"x" * 6), h11.Data(data=b"x" * 6))
            head, _ = await client.response()
            await client.aclose()
    assert head.status_code == 413
    assert type(seen["first"]).__name__ == "PayloadTooLarge"
    assert seen["again"] is seen["first"]


async def test_a_malformed_chunked_body_raises_400_in_the_handler() -> None:
    app, seen = pull_app()
    async with app.test_client() as client:
        stream_ = await client.listener.connect()
        await stream_.send_all(
            b"POST /capped HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        )
        with trio.fail_after(TIMEOUT):
            reply = await read_all(stream_)
    assert reply.startswith(b"HTTP/1.1 400 ")
    assert type(seen["first"]).__name__ == "BadRequest"


async def test_the_stream_is_closed_once_the_exchange_is_over() -> None:
    app, seen = pull_app()
    async with app.test_client() as client:
        assert (await client.post("/kept", content=b"unread")).text == "kept"
    stream_ = seen["stream"]
    assert isinstance(stream_, trio.abc.ReceiveChannel)
    with pytest.raises(trio.ClosedResourceError):
        await stream_.receive()


async def test_a_handler_reading_the_raw_channel_is_cancelled_when_the_body_fails() -> None:
    """Never an early end of the channel: its reader is cancelled, and the 413 still answered."""
    app, seen = pull_app()
    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            await client.send(request("POST", "/raw-channel", [("Transfer-Encoding", "chunked")]))
            await client.send(h11.Data(data=b"x" * 6), h11.Data(data=b"x" * 6))
            head, body = await client.response()
            await client.aclose()
    assert head.status_code == 413
    assert b"exceeds 10 bytes" in body
    # Cancelled while it waited; or, if the body failed before the handler took the channel,
    # the failure itself: never the channel's end.
    assert isinstance(seen["raw"], trio.Cancelled | PayloadTooLarge)


async def test_clones_of_the_stream_share_the_body_each_chunk_once() -> None:
    app = App("clones")
    received: dict[str, list[bytes]] = {"a": [], "b": []}

    @app.put("/fan-out", stream=True)
    async def fan_out(req: Request) -> HTTPResponse:
        assert req.stream is not None

        async def worker(name: str, chunks: trio.MemoryReceiveChannel[bytes]) -> None:
            async with chunks:
                async for chunk in chunks:
                    received[name].append(chunk)
                    await trio.lowlevel.checkpoint()  # the other worker takes the next

        async with trio.open_nursery() as nursery:
            nursery.start_soon(worker, "a", req.stream.clone().channel)
            nursery.start_soon(worker, "b", req.stream.clone().channel)
            await req.stream.aclose()
        return text("done")

    body = os.urandom(4 * MiB)
    async with running(app) as server, httpx.AsyncClient() as client:
        with trio.fail_after(TIMEOUT):
            response = await client.put(server.url + "/fan-out", content=body)
    assert response.text == "done"
    assert received["a"]
    assert received["b"]
    # Every byte arrived exactly once: the chunks tile the body with no gap and no overlap.
    placed = sorted((body.find(chunk), chunk) for chunk in received["a"] + received["b"])
    assert b"".join(chunk for _, chunk in placed) == body


async def test_a_malformed_body_found_while_the_handler_is_busy_is_raised_at_its_next_read() -> (
    None
):
    """The reader reads ahead of a busy handler; what it finds waits for the handler's read."""
    app = App("read-ahead")
    asked = trio.Event()
    release = trio.Event()
    seen: dict[str, object] = {}

    @app.post("/one-then-wait", stream=True)
    async def one_then_wait(req: Request) -> HTTPResponse:
        assert req.stream is not None
        first = await req.stream.receive()
        asked.set()
        await release.wait()
        try:
            await req.stream.receive()
        except Exception as exc:
            seen["error"] = exc
        return text(f"got {first.decode()}")

    async with app.test_client() as client:
        stream_ = await client.listener.connect()
        head = b"POST /one-then-wait HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        await stream_.send_all(head + b"3\r\nabc\r\n")
        await asked.wait()
        await stream_.send_all(b"zz\r\n")
        await trio.testing.wait_all_tasks_blocked()
        release.set()
        with trio.fail_after(TIMEOUT):
            reply = await read_all(stream_)
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert b"connection: close" in reply.lower()  # the rest of the body is unreadable
    assert reply.endswith(b"\r\n\r\ngot abc")
    assert type(seen["error"]).__name__ == "BadRequest"


def direct_app() -> tuple[App, list[str]]:
    """A streaming route that hashes its body, and a plain route to follow it."""
    app = App("direct")
    log: list[str] = []

    @app.put("/hash", stream=True)
    async def hash_body(req: Request) -> HTTPResponse:
        assert req.stream is not None
        digest = hashlib.sha256()
        async for chunk in req.stream:
            assert type(chunk) is bytes
            digest.update(chunk)
        await trio.sleep(float(req.args.get("sleep", "0")))
        log.append("hash")
        return text(digest.hexdigest())

    @app.get("/next")
    async def next_(req: Request) -> HTTPResponse:
        log.append("next")
        return text("next")

    return app, log


async def test_a_body_with_a_length_arrives_whole_and_in_order() -> None:
    app, _ = direct_app()
    body = os.urandom(3 * MiB + 12345)
    async with running(app) as server, httpx.AsyncClient() as client:
        with trio.fail_after(TIMEOUT):
            response = await client.put(server.url + "/hash", content=body)
    assert response.text == hashlib.sha256(body).hexdigest()


async def test_a_request_right_behind_a_body_with_a_length_is_served() -> None:
    """The bytes after a body read past h11 go to the next request's parser."""
    app, log = direct_app()
    body = b"x" * 100_000
    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            stream_ = await trio.open_tcp_stream(server.host, server.port)
            head = f"PUT /hash HTTP/1.1\r\nHost: t\r\nContent-Length: {len(body)}\r\n\r\n"
            then = b"GET /next HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            await stream_.send_all(head.encode() + body + then)
            reply = await read_all(stream_)
            await stream_.aclose()
    assert reply.count(b"HTTP/1.1 200 OK") == 2
    assert hashlib.sha256(body).hexdigest().encode() in reply
    assert reply.endswith(b"\r\n\r\nnext")
    assert log == ["hash", "next"]


async def test_a_request_sent_while_a_slow_streaming_handler_runs_is_not_lost(
    autojump_clock: trio.abc.Clock,
) -> None:
    app, log = direct_app()
    async with app.test_client() as client:
        stream_ = await client.listener.connect()
        await stream_.send_all(
            b"PUT /hash?sleep=2 HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc"
        )
        await trio.sleep(1)  # the handler sleeps; a watcher reads by now
        await stream_.send_all(b"GET /next HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        with trio.fail_after(TIMEOUT):
            reply = await read_all(stream_)
    assert log == ["hash", "next"]
    assert reply.count(b"HTTP/1.1 200 OK") == 2
    assert hashlib.sha256(b"abc").hexdigest().encode() in reply


async def test_a_streamed_response_that_reads_the_whole_body_keeps_the_connection() -> None:
    """The seed's echo: the head goes out before the body is read; keep-alive survives."""
    app = App("keep")

    @app.post("/stream", stream=True)
    async def echo(req: Request) -> StreamingHTTPResponse:
        async def streaming(response: StreamingHTTPResponse) -> None:
            assert req.stream is not None
            while (body := await req.stream.get()) is not None:
                await response.write(body.decode().replace("1", "A"))

        return stream(streaming)

    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            for _ in range(3):
                await client.send(request("POST", "/stream", [("Content-Length", "6")]))
                await client.send(h11.Data(data=b"1a1b1c"), h11.EndOfMessage())
                head, body = await client.response()
                assert (head.status_code, body) == (200, b"AaAbAc")
                assert (b"connection", b"close") not in head.headers
                client.h11.start_next_cycle()
            await client.aclose()


async def test_head_of_an_endless_stream_is_answered_and_the_connection_goes_on() -> None:
    app = App()
    ran: list[str] = []

    @app.get("/feed")
    async def feed(request: Request) -> StreamingHTTPResponse:
        async def forever(response: StreamingHTTPResponse) -> None:
            ran.append("body")
            while True:
                await response.write("tick\n")

        return stream(forever, content_type="text/plain")

    async with app.test_client() as client:
        with trio.fail_after(TIMEOUT):
            head = await client.head("/feed")
            after = await client.get("/missing")
    assert (head.status_code, head.content, ran) == (200, b"", [])
    assert after.status_code == 404
