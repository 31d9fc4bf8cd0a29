"""Streaming both ways through real sockets: backpressure, disconnects, full duplex.

Network rules: see ``tests/netutil.py``. "Blocked" is observed with
``trio.testing.wait_all_tasks_blocked``, never with sleeps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import h11
import httpx
import trio
import trio.testing

from trioweb import App
from trioweb.request import Request
from trioweb.response import HTTPResponse, StreamingHTTPResponse, stream, text

from .netutil import TIMEOUT, RawClient, request, running

MiB = 1024 * 1024


async def test_a_handler_that_stops_reading_stops_the_uploader() -> None:
    app = App("backpressure")
    release = trio.Event()
    received = 0

    @app.post("/slow", stream=True)
    async def slow(req: Request) -> HTTPResponse:
        nonlocal received
        assert req.stream is not None
        first = await req.stream.receive()
        received += len(first)
        await release.wait()
        async for chunk in req.stream:
            received += len(chunk)
        return text(str(received))

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


async def test_full_duplex_echo_answers_each_piece_before_the_next_is_sent() -> None:
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
            await client.send(request("POST", "/echo", [("Transfer-Encoding", "chunked")]))
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
