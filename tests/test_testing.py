"""``app.test_client()``: the real connection code over in-memory streams, streaming included."""

from __future__ import annotations

import pytest
import trio

from trioweb import App
from trioweb.request import Request
from trioweb.response import HTTPResponse, StreamingHTTPResponse, stream, text
from trioweb.testing import TestClient


async def test_streamed_response_arrives_piece_by_piece() -> None:
    app = App("pieces")
    first_seen = trio.Event()

    @app.get("/pieces")
    async def pieces(req: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            await response.write("first;")
            await first_seen.wait()  # only a client that got "first;" already can set this
            await response.write("second")

        return stream(body)

    with trio.fail_after(5):
        async with app.test_client() as client, client.stream("GET", "/pieces") as response:
            chunks = response.aiter_text()
            assert await chunks.__anext__() == "first;"
            first_seen.set()
            assert [rest async for rest in chunks] == ["second"]


async def test_closing_a_response_early_cancels_the_handler() -> None:
    app = App("early-close")
    cleaned_up = trio.Event()

    @app.get("/endless")
    async def endless(req: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            try:
                while True:
                    await response.write("tick\n")
                    await trio.lowlevel.checkpoint()
            finally:
                cleaned_up.set()

        return stream(body)

    with trio.fail_after(5):
        async with app.test_client() as client:
            async with client.stream("GET", "/endless") as response:
                async for line in response.aiter_lines():
                    assert line == "tick"
                    break
            await cleaned_up.wait()


async def test_listeners_run_around_the_client_session() -> None:
    app = App("listeners")
    seen: list[str] = []

    @app.before_server_start
    async def before_start(a: App) -> None:
        seen.append("before_start")

    @app.after_server_stop
    async def after_stop(a: App) -> None:
        seen.append("after_stop")

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        seen.append("request")
        return text("ok")

    async with app.test_client() as client:
        assert (await client.get("/")).text == "ok"
    assert seen == ["before_start", "request", "after_stop"]


async def test_the_client_reuses_one_keep_alive_connection() -> None:
    app = App("reuse")

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        return text(str(id(req.conn_info)))

    async with app.test_client() as client:
        first = (await client.get("/")).text
        second = (await client.get("/")).text
    assert first == second


@pytest.fixture
def app() -> App:
    app = App("fixture")

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        return text("from the fixture")

    return app


async def test_the_plugin_fixture_serves_the_app_fixture(trioweb_client: TestClient) -> None:
    assert (await trioweb_client.get("/")).text == "from the fixture"
