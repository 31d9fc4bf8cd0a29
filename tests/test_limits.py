"""Limits and failure isolation: connection caps, keep-alive request caps, idle bodies and
readers, handler errors of every shape, and resources returned after abrupt disconnects.

Network rules: see ``tests/netutil.py``. Time-based limits run on an autojumping clock.
"""

from __future__ import annotations

import gc
import os

import h11
import httpx
import pytest
import trio
import trio.testing

from trioweb import App, Server
from trioweb.request import Request
from trioweb.response import HTTPResponse, StreamingHTTPResponse, stream, text
from trioweb.server.http11 import HTTP11Connection as Connection

from .netutil import TIMEOUT, RawClient, read_all, request, running

MiB = 1024 * 1024


def limits_app() -> App:
    app = App("limits")
    app.ctx.downloads_ended = 0

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        return text("ok")

    @app.post("/upload", stream=True)
    async def upload(req: Request) -> HTTPResponse:
        return text(str(len(await req.receive_body())))

    @app.get("/download")
    async def download(req: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            try:
                for _ in range(64):
                    await response.write(b"d" * MiB)
            finally:
                app.ctx.downloads_ended += 1

        return stream(body)

    @app.get("/group")
    async def group(req: Request) -> HTTPResponse:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep, 0)
            raise ValueError("inside a nursery")
        return text("unreachable")  # pragma: no cover

    return app


async def test_keep_alive_max_requests_closes_after_the_last_one() -> None:
    app = limits_app()
    app.config.KEEP_ALIVE_MAX_REQUESTS = 2
    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            await client.send(request("GET", "/"), h11.EndOfMessage())
            first, _ = await client.response()
            assert (b"connection", b"close") not in first.headers
            client.h11.start_next_cycle()
            await client.send(request("GET", "/"), h11.EndOfMessage())
            second, _ = await client.response()
            assert (b"connection", b"close") in second.headers
            assert await client.stream.receive_some(10) == b""
            await client.aclose()


async def test_max_connections_holds_further_clients_in_the_backlog() -> None:
    app = limits_app()
    app.config.MAX_CONNECTIONS = 1
    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            first = await RawClient.connect(server)
            await first.send(request("GET", "/"), h11.EndOfMessage())
            await first.response()
            second = await RawClient.connect(server)  # the kernel accepts it into the backlog
            await second.send(request("GET", "/"), h11.EndOfMessage())
            await trio.testing.wait_all_tasks_blocked(cushion=0.05)
            assert len(server.connections) == 1  # the second waits, unaccepted
            await first.aclose()  # frees the slot: the waiting client is served
            head, body = await second.response()
            assert (head.status_code, body) == (200, b"ok")
            await second.aclose()


@pytest.mark.parametrize("target", ["/upload", "/buffered"])
async def test_a_stalled_body_gets_408(autojump_clock: trio.abc.Clock, target: str) -> None:
    app = limits_app()
    app.config.REQUEST_BODY_IDLE_TIMEOUT = 7

    @app.post("/buffered")
    async def buffered(req: Request) -> HTTPResponse:
        return text("never: the body never completes")  # pragma: no cover

    async with app.test_client() as client:
        stream_ = await client.listener.connect()
        head = f"POST {target} HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n"
        await stream_.send_all(head.encode() + b"abc")
        start = trio.current_time()
        reply = await read_all(stream_)
        assert reply.startswith(b"HTTP/1.1 408 ")
        assert 7 <= trio.current_time() - start < 8


async def test_a_client_that_stops_reading_is_dropped_after_the_write_timeout(
    autojump_clock: trio.abc.Clock,
) -> None:
    app = limits_app()
    app.config.WRITE_IDLE_TIMEOUT = 9
    async with running(app) as server:
        client = await RawClient.connect(server)
        await client.send(request("GET", "/download"), h11.EndOfMessage())
        start = trio.current_time()
        with trio.fail_after(60):
            # Virtual time: the clock jumps while the server waits on the stalled socket.
            await trio.sleep(8)
            assert app.ctx.downloads_ended == 0
            await trio.sleep(2)
            assert app.ctx.downloads_ended == 1
            assert not server.connections
        assert trio.current_time() - start == 10
        await client.aclose()


async def test_an_exception_group_from_a_handler_nursery_is_a_500() -> None:
    async with limits_app().test_client() as client:
        r = await client.get("/group")
        assert r.status_code == 500
        assert "inside a nursery" not in r.text
        assert (await client.get("/")).text == "ok"


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def settle(server: Server) -> None:
    """Wait until the server has closed every connection, then collect garbage."""
    while server.connections:
        await trio.testing.wait_all_tasks_blocked(cushion=0.01)
    gc.collect()


async def test_resources_return_to_baseline_after_abrupt_disconnects() -> None:
    app = limits_app()
    async with running(app) as server:
        with trio.fail_after(TIMEOUT * 3):
            async with httpx.AsyncClient() as warm:
                await warm.get(server.url + "/")
            await settle(server)
            baseline = open_fds()
            for _ in range(20):
                # mid-request: the head only
                c = await RawClient.connect(server)
                await c.stream.send_all(b"GET / HTTP/1.1\r\nHo")
                await c.aclose()
                # mid-upload
                c = await RawClient.connect(server)
                await c.send(request("POST", "/upload", [("Content-Length", str(MiB))]))
                await c.send(h11.Data(data=b"u" * 1000))
                await c.aclose()
                # mid-download
                c = await RawClient.connect(server)
                await c.send(request("GET", "/download"), h11.EndOfMessage())
                await c.stream.receive_some(1000)
                await c.aclose()
            await settle(server)
            assert open_fds() == baseline
            # Nothing of the dropped connections stays reachable (their buffers went with them).
            assert not [o for o in gc.get_objects() if isinstance(o, Connection)]
            async with httpx.AsyncClient() as after:
                assert (await after.get(server.url + "/")).text == "ok"


def sized_app() -> App:
    app = App("sized")
    app.config.REQUEST_MAX_SIZE = 10

    @app.post("/stream-capped", stream=True, max_body_size=100)
    async def capped(req: Request) -> HTTPResponse:
        assert req.stream is not None
        return text(str(sum([len(chunk) async for chunk in req.stream])))

    @app.post("/stream-open", stream=True)
    async def open_ended(req: Request) -> HTTPResponse:
        assert req.stream is not None
        return text(str(sum([len(chunk) async for chunk in req.stream])))

    @app.post("/buffered-large", max_body_size=1000)
    async def buffered(req: Request) -> HTTPResponse:
        return text(str(len(req.body)))

    return app


async def test_a_route_body_limit_applies_to_streamed_bodies() -> None:
    async def chunks(total: int):  # type: ignore[no-untyped-def]
        for _ in range(total // 50):
            yield b"x" * 50

    async with sized_app().test_client() as client:
        assert (await client.post("/stream-capped", content=chunks(100))).text == "100"
        assert (await client.post("/stream-capped", content=chunks(200))).status_code == 413
        assert (await client.post("/stream-capped", content=b"x" * 200)).status_code == 413


async def test_streamed_bodies_are_unlimited_unless_the_route_says_so() -> None:
    async with sized_app().test_client() as client:
        assert (await client.post("/stream-open", content=b"x" * 5000)).text == "5000"


async def test_a_route_limit_overrides_request_max_size_for_buffered_bodies() -> None:
    async with sized_app().test_client() as client:
        assert (await client.post("/buffered-large", content=b"x" * 1000)).text == "1000"
        assert (await client.post("/buffered-large", content=b"x" * 1001)).status_code == 413


def test_a_negative_body_limit_is_rejected() -> None:
    with pytest.raises(ValueError, match="max_body_size must be a byte count"):
        App("bad").post("/", max_body_size=-1)


async def test_no_closed_connection_stays_referenced_by_the_timekeeper(
    autojump_clock: trio.abc.Clock,
) -> None:
    """The sweep's loop variable once kept the last connection swept alive until the next
    sweep that found any connection (so, on a quiet server, forever)."""
    app = limits_app()
    async with app.test_client() as client:
        assert client.server is not None
        assert (await client.get("/")).text == "ok"
        await trio.sleep(1)  # several sweeps see the open connection
        await client.aclose()  # httpx closes its pooled connection
        await settle(client.server)
        await trio.sleep(1)  # sweeps of an empty server
        gc.collect()
        assert not [o for o in gc.get_objects() if isinstance(o, Connection)]
