"""Regressions found in review: each test names the behaviour that once broke."""

from __future__ import annotations

import logging

import pytest
import trio

from trioweb import App, Blueprint, Request
from trioweb.exceptions import HTTPException, NotFound, RouteExists
from trioweb.response import HTTPResponse, text

from .netutil import TIMEOUT, read_all


def plain_app() -> App:
    app = App("regressions")

    @app.get("/")
    async def index(request: Request) -> HTTPResponse:
        return text("ok")

    return app


async def test_keep_alive_timeout_none_keeps_connections_open() -> None:
    app = plain_app()
    app.config.KEEP_ALIVE_TIMEOUT = None
    async with app.test_client() as client:
        assert (await client.get("/")).text == "ok"
        assert (await client.get("/")).text == "ok"


async def test_an_http_exception_from_a_handler_nursery_keeps_its_status() -> None:
    app = plain_app()

    @app.get("/missing")
    async def missing(request: Request) -> HTTPResponse:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep, 0)
            raise NotFound("not in the nursery either")
        return text("unreachable")  # pragma: no cover

    async with app.test_client() as client:
        response = await client.get("/missing")
    assert (response.status_code, response.text) == (404, "404 not in the nursery either\n")


async def test_a_content_length_that_does_not_match_the_body_is_a_500() -> None:
    app = plain_app()

    @app.get("/lying")
    async def lying(request: Request) -> HTTPResponse:
        return text("four", headers={"Content-Length": "10"})

    async with app.test_client() as client:
        assert (await client.get("/lying")).status_code == 500
        assert (await client.get("/")).text == "ok"


async def test_tasks_added_by_a_start_listener_run_once_per_start() -> None:
    app = plain_app()
    runs: list[int] = []

    async def worker() -> None:
        runs.append(1)

    @app.before_server_start
    async def schedule(a: App) -> None:
        a.add_task(worker)

    for _ in range(3):
        async with app.test_client() as client:
            await client.get("/")
    assert len(runs) == 3
    assert app.tasks == []


def test_a_blueprint_whose_path_clashes_registers_nothing() -> None:
    app = plain_app()
    bp = Blueprint("bp")

    @bp.get("/fine")
    async def fine(request: Request) -> HTTPResponse:
        return text("fine")

    @bp.get("/")
    async def clash(request: Request) -> HTTPResponse:
        return text("clash")

    with pytest.raises(RouteExists):
        app.blueprint(bp)
    assert [route.uri for route in app.router.routes] == ["/"]
    assert app.blueprints == {}


def test_a_status_outside_the_registry_still_makes_an_exception() -> None:
    assert HTTPException(status_code=499).message == "Error"


async def test_a_malformed_websocket_upgrade_body_is_a_quiet_400(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = plain_app()

    @app.websocket("/ws")
    async def ws_handler(request: Request, ws: object) -> None:
        pass  # pragma: no cover

    caplog.set_level(logging.ERROR, logger="trioweb")
    async with app.test_client() as client:
        stream = await client.listener.connect()
        await stream.send_all(
            b"GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"
        )
        with trio.fail_after(TIMEOUT):
            reply = await read_all(stream)
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
