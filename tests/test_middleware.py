"""Middleware: order, priority, short-circuits, replacement, sync and async, blueprint scope."""

from __future__ import annotations

import pytest

from trioweb import App, Blueprint, Request
from trioweb.response import BaseHTTPResponse, HTTPResponse, text


def traced_app() -> tuple[App, list[str]]:
    app = App("mw")
    trace: list[str] = []

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        trace.append("handler")
        return text("ok")

    return app, trace


async def test_request_middleware_runs_in_order_and_response_middleware_in_reverse() -> None:
    app, trace = traced_app()

    @app.on_request
    async def first(req: Request) -> None:
        trace.append("req1")

    @app.middleware("request")
    def second(req: Request) -> None:  # sync middleware works too
        trace.append("req2")

    @app.on_response
    async def third(req: Request, resp: BaseHTTPResponse) -> None:
        trace.append("resp1")

    @app.middleware("response")
    def fourth(req: Request, resp: BaseHTTPResponse) -> None:
        trace.append("resp2")

    async with app.test_client() as client:
        assert (await client.get("/")).text == "ok"
    assert trace == ["req1", "req2", "handler", "resp2", "resp1"]


async def test_priority_runs_first_in_both_directions() -> None:
    app, trace = traced_app()

    @app.on_request
    async def low(req: Request) -> None:
        trace.append("req-low")

    @app.on_request(priority=10)
    async def high(req: Request) -> None:
        trace.append("req-high")

    @app.middleware("response", priority=5)
    async def resp_high(req: Request, resp: BaseHTTPResponse) -> None:
        trace.append("resp-high")

    @app.on_response
    async def resp_low(req: Request, resp: BaseHTTPResponse) -> None:
        trace.append("resp-low")

    async with app.test_client() as client:
        await client.get("/")
    assert trace == ["req-high", "req-low", "handler", "resp-high", "resp-low"]


async def test_a_request_middleware_response_skips_the_handler_not_response_middleware() -> None:
    app, trace = traced_app()

    @app.on_request
    async def gate(req: Request) -> HTTPResponse:
        return text("stopped", status=401)

    @app.on_response
    async def stamp(req: Request, resp: BaseHTTPResponse) -> None:
        resp.headers["X-Stamped"] = "yes"

    async with app.test_client() as client:
        r = await client.get("/")
    assert (r.status_code, r.text, r.headers["x-stamped"]) == (401, "stopped", "yes")
    assert trace == []


async def test_a_response_middleware_can_replace_the_response() -> None:
    app, _ = traced_app()

    @app.on_response
    async def replace(req: Request, resp: BaseHTTPResponse) -> HTTPResponse:
        return text("replaced", status=202)

    async with app.test_client() as client:
        r = await client.get("/")
    assert (r.status_code, r.text) == (202, "replaced")


async def test_request_middleware_runs_for_404_and_405() -> None:
    app, _ = traced_app()
    seen: list[str] = []

    @app.on_request
    async def log(req: Request) -> None:
        seen.append(f"{req.method} {req.path}")

    async with app.test_client() as client:
        assert (await client.get("/missing")).status_code == 404
        assert (await client.post("/")).status_code == 405
    assert seen == ["GET /missing", "POST /"]


async def test_blueprint_middleware_applies_only_to_its_routes() -> None:
    app, _ = traced_app()
    bp = Blueprint("api", url_prefix="/api")

    @bp.get("/thing")
    async def thing(req: Request) -> HTTPResponse:
        return text("thing")

    @bp.on_response
    async def mark(req: Request, resp: BaseHTTPResponse) -> None:
        resp.headers["X-Api"] = "1"

    app.blueprint(bp)
    async with app.test_client() as client:
        assert (await client.get("/api/thing")).headers["x-api"] == "1"
        assert "x-api" not in (await client.get("/")).headers
        assert "x-api" not in (await client.get("/api/missing")).headers


async def test_an_error_in_response_middleware_becomes_a_500() -> None:
    app, _ = traced_app()

    @app.on_response
    async def broken(req: Request, resp: BaseHTTPResponse) -> None:
        raise RuntimeError("secret detail")

    async with app.test_client() as client:
        r = await client.get("/")
    assert r.status_code == 500
    assert "secret detail" not in r.text


def test_an_unknown_middleware_kind_is_rejected() -> None:
    app = App("bad")
    with pytest.raises(ValueError, match="must be 'request' or 'response', not 'sideways'"):
        app.middleware("sideways")  # type: ignore[arg-type]
