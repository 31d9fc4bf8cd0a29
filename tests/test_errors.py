"""Errors: the exception tree, handlers (app and blueprint), error page formats, debug."""

from __future__ import annotations

import asyncio
import logging

import h11
import httpx
import pytest
import trio

from trioweb import App, Blueprint, Request
from trioweb.exceptions import (
    BadRequest,
    Forbidden,
    HTTPException,
    NotFound,
    ServiceUnavailable,
    Unauthorized,
)
from trioweb.response import (
    BaseHTTPResponse,
    HTTPResponse,
    StreamingHTTPResponse,
    json,
    stream,
    text,
)

from .netutil import TIMEOUT, RawClient, request, running


def failing_app() -> App:
    app = App("errors")

    @app.get("/boom")
    async def boom(req: Request) -> HTTPResponse:
        raise RuntimeError("db password is hunter2")

    @app.get("/forbidden")
    async def forbidden(req: Request) -> HTTPResponse:
        raise Forbidden("members only", context={"plan": "free"})

    @app.get("/login")
    async def login(req: Request) -> HTTPResponse:
        raise Unauthorized("sign in first", scheme="Bearer", realm="api")

    @app.get("/json-route", error_format="json")
    async def json_route(req: Request) -> HTTPResponse:
        raise BadRequest("bad thing")

    return app


async def test_an_http_exception_gives_its_status_and_message_as_text() -> None:
    async with failing_app().test_client() as client:
        r = await client.get("/forbidden")
    assert r.status_code == 403
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text == "403 members only\n"


async def test_unauthorized_builds_www_authenticate() -> None:
    async with failing_app().test_client() as client:
        r = await client.get("/login")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="api"'


async def test_accept_json_gives_a_json_error_page() -> None:
    async with failing_app().test_client() as client:
        r = await client.get("/forbidden", headers={"Accept": "application/json"})
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "description": "Forbidden",
        "status": 403,
        "message": "members only",
        "context": {"plan": "free"},
    }


async def test_accept_html_gives_an_escaped_html_page() -> None:
    app = App("html-errors")

    @app.get("/x")
    async def x(req: Request) -> HTTPResponse:
        raise BadRequest("<script>alert(1)</script>")

    async with app.test_client() as client:
        r = await client.get("/x", headers={"Accept": "text/html,application/xhtml+xml"})
    assert r.status_code == 400
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "&lt;script&gt;" in r.text
    assert "<script>" not in r.text


async def test_accept_quality_values_decide_between_formats() -> None:
    async with failing_app().test_client() as client:
        r = await client.get(
            "/forbidden", headers={"Accept": "text/html;q=0.5, application/json;q=0.9"}
        )
    assert r.headers["content-type"] == "application/json"


async def test_a_route_error_format_wins_over_accept() -> None:
    async with failing_app().test_client() as client:
        r = await client.get("/json-route", headers={"Accept": "text/html"})
    assert r.json()["message"] == "bad thing"


async def test_production_never_shows_the_text_of_an_unexpected_error() -> None:
    async with failing_app().test_client() as client:
        for accept in ("text/plain", "application/json", "text/html"):
            r = await client.get("/boom", headers={"Accept": accept})
            assert r.status_code == 500
            assert "hunter2" not in r.text
            assert "RuntimeError" not in r.text


async def test_debug_shows_the_traceback() -> None:
    app = failing_app()
    app.config.DEBUG = True
    async with app.test_client() as client:
        r = await client.get("/boom", headers={"Accept": "application/json"})
    assert r.status_code == 500
    assert "RuntimeError: db password is hunter2" in r.json()["traceback"]


async def test_handlers_are_found_along_the_mro() -> None:
    app = failing_app()

    @app.exception(HTTPException)
    async def any_http(req: Request, exc: BaseException) -> HTTPResponse:
        assert isinstance(exc, HTTPException)
        return text(f"handled {exc.status_code}", status=exc.status_code)

    async with app.test_client() as client:
        assert (await client.get("/forbidden")).text == "handled 403"
        assert (await client.get("/nowhere")).text == "handled 404"


async def test_blueprint_handlers_apply_to_its_routes_before_the_apps() -> None:
    app = failing_app()
    bp = Blueprint("shop", url_prefix="/shop")

    @bp.get("/item")
    async def item(req: Request) -> HTTPResponse:
        raise NotFound("no such item")

    @bp.exception(NotFound)
    async def shop_missing(req: Request, exc: BaseException) -> BaseHTTPResponse:
        return json({"shop": "missing"}, status=404)

    @app.exception(NotFound)
    async def app_missing(req: Request, exc: BaseException) -> BaseHTTPResponse:
        return text("app missing", status=404)

    app.blueprint(bp)
    async with app.test_client() as client:
        assert (await client.get("/shop/item")).json() == {"shop": "missing"}
        assert (await client.get("/elsewhere")).text == "app missing"


async def test_an_error_inside_an_error_handler_gives_a_plain_500() -> None:
    app = failing_app()

    @app.exception(Forbidden)
    async def broken(req: Request, exc: BaseException) -> HTTPResponse:
        raise ValueError("handler bug")

    async with app.test_client() as client:
        r = await client.get("/forbidden")
    assert (r.status_code, r.text) == (500, "500 Internal Server Error\n")


async def test_the_fallback_format_applies_without_accept() -> None:
    app = failing_app()
    app.config.FALLBACK_ERROR_FORMAT = "json"
    async with app.test_client() as client:
        r = await client.get("/forbidden", headers={"Accept": "*/*"})
    assert r.json()["status"] == 403


def test_exception_rejects_non_exception_classes() -> None:
    app = App("bad")
    with pytest.raises(TypeError, match="exception\\(\\) takes exception classes"):
        app.exception(int)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs at least one exception type"):
        app.exception()


def test_a_route_with_an_unknown_error_format_is_rejected() -> None:
    app = App("bad")
    with pytest.raises(ValueError, match="error_format must be one of auto, text, json, html"):
        app.get("/", error_format="yaml")


def test_http_exceptions_default_their_message_to_the_status_phrase() -> None:
    assert ServiceUnavailable().message == "Service Unavailable"
    assert NotFound().quiet is True
    assert ServiceUnavailable().quiet is False
    assert HTTPException("teapot", status_code=418).status_code == 418


async def test_an_error_after_the_response_started_aborts_the_message() -> None:
    app = App("abort")

    @app.get("/half")
    async def half(req: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            await response.write("first half;")
            raise RuntimeError("midway failure")

        return stream(body)

    async with running(app) as server:
        with trio.fail_after(TIMEOUT):
            client = await RawClient.connect(server)
            await client.send(request("GET", "/half"), h11.EndOfMessage())
            raw = await client.read_until_closed()
            await client.aclose()
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"first half;" in raw
    assert not raw.endswith(b"0\r\n\r\n")  # no chunked terminator: the client sees a cut body
    assert raw.count(b"HTTP/1.1") == 1  # and never a second response


def test_unauthorized_keeps_the_usual_arguments_apart_from_the_challenge() -> None:
    exc = Unauthorized("who?", "Basic", context={"a": 1}, realm="site")
    assert exc.headers == {"WWW-Authenticate": 'Basic realm="site"'}
    assert exc.context == {"a": 1}
    with pytest.raises(TypeError, match="need a scheme"):
        Unauthorized("who?", realm="site")


class ForeignError(BaseException):
    """A BaseException that is not trio's, like asyncio.CancelledError from a library."""


def foreign_app() -> App:
    app = App("foreign")

    @app.get("/handler")
    async def handler(req: Request) -> HTTPResponse:
        raise asyncio.CancelledError("from an asyncio library")

    @app.get("/middleware")
    async def middleware_route(req: Request) -> HTTPResponse:
        return text("unreachable")  # pragma: no cover

    @app.on_request
    async def explode(req: Request) -> None:
        if req.path == "/middleware":
            raise ForeignError("middleware")

    @app.get("/after-head")
    async def after_head(req: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            await response.write("partial")
            raise ForeignError("mid-body")

        return stream(body)

    @app.get("/")
    async def index(req: Request) -> HTTPResponse:
        return text("alive")

    return app


async def test_a_foreign_base_exception_is_one_500_and_the_server_lives_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running(foreign_app()) as server, httpx.AsyncClient() as client:
        with trio.fail_after(TIMEOUT):
            for path in ("/handler", "/middleware"):
                response = await client.get(server.url + path)
                assert response.status_code == 500
                assert "Internal Server Error" in response.text
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(server.url + "/after-head")  # aborted: no final chunk
            assert (await client.get(server.url + "/")).text == "alive"
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(logged) == 3  # one line with its traceback per failure, nothing more


# --- Sanic's exception attributes and names (issue 11) -----------------------------------------


class TeapotError(HTTPException):
    status_code = 418
    message = "I only make tea"
    quiet = True
    headers = {"X-Pot": "teapot"}


class LoudClientError(BadRequest):
    quiet = False


class MessageProperty(HTTPException):
    status_code = 409

    @property
    def message(self) -> str:  # type: ignore[override]
        return "computed for you"


def exception_app() -> App:
    app = App("exc-attributes")

    @app.get("/teapot")
    async def teapot(request: Request) -> HTTPResponse:
        raise TeapotError()

    @app.get("/teapot-override")
    async def teapot_override(request: Request) -> HTTPResponse:
        raise TeapotError("tea is off", headers={"X-Pot": "empty"})

    @app.get("/loud")
    async def loud(request: Request) -> HTTPResponse:
        raise LoudClientError("shouted")

    @app.get("/property")
    async def prop(request: Request) -> HTTPResponse:
        raise MessageProperty()

    @app.get("/positional")
    async def positional(request: Request) -> HTTPResponse:
        raise HTTPException("gone fishing", 503, context={"retry": "later"})

    return app


async def test_class_attributes_give_status_message_and_headers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with exception_app().test_client() as client:
        with caplog.at_level(logging.ERROR, logger="trioweb.error"):
            response = await client.get("/teapot")
            overridden = await client.get("/teapot-override")
    assert (response.status_code, response.text) == (418, "418 I only make tea\n")
    assert response.headers["x-pot"] == "teapot"
    assert (overridden.text, overridden.headers["x-pot"]) == ("418 tea is off\n", "empty")
    assert not caplog.records  # quiet = True on the class


async def test_quiet_false_on_a_client_error_class_logs_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with exception_app().test_client() as client:
        with caplog.at_level(logging.ERROR, logger="trioweb.error"):
            response = await client.get("/loud")
    assert response.status_code == 400
    assert [r.getMessage() for r in caplog.records] == ["shouted"]


async def test_a_message_property_answers_instead_of_crashing() -> None:
    async with exception_app().test_client() as client:
        response = await client.get("/property")
    assert (response.status_code, response.text) == (409, "409 computed for you\n")


async def test_status_code_is_the_second_positional_argument_as_in_sanic() -> None:
    async with exception_app().test_client() as client:
        response = await client.get("/positional", headers={"Accept": "application/json"})
    assert response.status_code == 503
    assert response.json()["message"] == "gone fishing"
    assert response.json()["context"] == {"retry": "later"}


def test_bytes_messages_are_decoded() -> None:
    assert HTTPException(b"caf\xc3\xa9").message == "café"


def test_sanics_names_are_the_same_classes() -> None:
    from trioweb import exceptions as exc

    assert exc.InvalidUsage is exc.BadRequest
    assert exc.BadURL is exc.BadRequest
    assert exc.SanicException is exc.HTTPException
    assert exc.MethodNotSupported is exc.MethodNotAllowed
    assert exc.ContentRangeError is exc.RangeNotSatisfiable
    assert exc.HeaderExpectationFailed is exc.ExpectationFailed
    assert exc.InternalServerError is exc.ServerError
    assert issubclass(exc.FileNotFound, exc.NotFound)
    assert issubclass(exc.HeaderNotFound, exc.BadRequest)
    assert issubclass(exc.InvalidRangeType, exc.RangeNotSatisfiable)


def test_sanics_constructor_arguments_for_405_and_416() -> None:
    from trioweb.exceptions import MethodNotAllowed, RangeNotSatisfiable

    class Size:
        total = 100

    not_allowed = MethodNotAllowed("no", "PUT", ["GET", "POST"])
    assert not_allowed.headers["Allow"] == "GET, POST"
    assert not_allowed.method == "PUT"
    assert RangeNotSatisfiable("no", Size()).headers["Content-Range"] == "bytes */100"


async def test_a_handler_for_invalid_usage_catches_the_400s_trioweb_raises() -> None:
    from trioweb.exceptions import InvalidUsage

    app = App("invalid-usage")

    @app.post("/json")
    async def take_json(request: Request) -> HTTPResponse:
        return json(request.json)

    @app.exception(InvalidUsage)
    async def bad(request: Request, exc: Exception) -> HTTPResponse:
        return json({"error": str(exc)}, 400)

    async with app.test_client() as client:
        response = await client.post("/json", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["error"].startswith("the request body is not valid JSON")


async def test_exception_takes_a_list_of_types() -> None:
    app = App("exception-list")

    @app.get("/<kind>")
    async def fail(request: Request, kind: str) -> HTTPResponse:
        raise (KeyError if kind == "key" else IndexError)(kind)

    @app.exception([KeyError, IndexError])
    async def lookup_failed(request: Request, exc: Exception) -> HTTPResponse:
        return text(type(exc).__name__, 404)

    async with app.test_client() as client:
        key = await client.get("/key")
        index = await client.get("/index")
    assert (key.status_code, key.text, index.text) == (404, "KeyError", "IndexError")


async def test_an_exception_handler_may_answer_through_request_respond() -> None:
    app = App("respond-from-handler")

    @app.get("/")
    async def fail(request: Request) -> HTTPResponse:
        raise NotFound("nothing here")

    @app.exception(NotFound)
    async def streamed(request: Request, exc: NotFound) -> None:
        response = await request.respond(404, content_type="text/plain")
        await response.send("streamed ")
        await response.send(exc.message)

    async with app.test_client() as client:
        response = await client.get("/")
        again = await client.get("/")  # the connection is still usable
    assert (response.status_code, response.text) == (404, "streamed nothing here")
    assert again.text == "streamed nothing here"


async def test_an_error_handler_for_a_server_met_error_may_respond_too() -> None:
    from trioweb.exceptions import PayloadTooLarge

    app = App("respond-413")
    app.config.REQUEST_MAX_SIZE = 10

    @app.post("/")
    async def take(request: Request) -> HTTPResponse:
        return text("unreachable")

    @app.exception(PayloadTooLarge)
    async def too_big(request: Request, exc: PayloadTooLarge) -> None:
        response = await request.respond(413, content_type="text/plain")
        await response.send("too big, sorry")

    async with app.test_client() as client:
        response = await client.post("/", content=b"x" * 100)
    assert (response.status_code, response.text) == (413, "too big, sorry")


async def test_a_plain_def_exception_handler_works() -> None:
    app = App("sync-error-handler")

    @app.get("/")
    async def fail(request: Request) -> HTTPResponse:
        raise Forbidden("no")

    @app.exception(Forbidden)
    def forbidden(request: Request, exc: Forbidden) -> HTTPResponse:
        return text(f"sync says {exc.message}", 403)

    async with app.test_client() as client:
        response = await client.get("/")
    assert (response.status_code, response.text) == (403, "sync says no")


async def test_a_500_page_never_names_the_handler_unless_debug() -> None:
    app = App("secret-names")

    @app.get("/")
    async def internal_billing_handler(request: Request) -> object:
        return object()

    async with app.test_client() as client:
        hidden = await client.get("/")
    app.config.DEBUG = True
    async with app.test_client() as client:
        shown = await client.get("/")
    assert hidden.status_code == 500
    assert "internal_billing_handler" not in hidden.text
    assert "object" not in hidden.text
    assert "internal_billing_handler" in shown.text


def test_subclasses_that_add_headers_keep_the_class_headers() -> None:
    from trioweb.exceptions import MethodNotAllowed

    class ApiUnauthorized(Unauthorized):
        headers = {"X-Api": "v1"}

    class ApiNotAllowed(MethodNotAllowed):
        headers = {"X-Api": "v1"}

    unauthorized = ApiUnauthorized("log in", "Bearer", realm="api")
    assert unauthorized.headers == {"X-Api": "v1", "WWW-Authenticate": 'Bearer realm="api"'}
    assert ApiNotAllowed(allowed_methods=["GET"]).headers == {"X-Api": "v1", "Allow": "GET"}


async def test_a_405_handler_sees_the_method_and_the_allowed_ones() -> None:
    from trioweb.exceptions import MethodNotAllowed

    app = App("405")

    @app.get("/only-get")
    async def only_get(request: Request) -> HTTPResponse:
        return text("")

    @app.exception(MethodNotAllowed)
    async def not_allowed(request: Request, exc: MethodNotAllowed) -> HTTPResponse:
        return json({"method": exc.method, "allowed": list(exc.allowed_methods)}, 405)

    async with app.test_client() as client:
        response = await client.delete("/only-get")
    assert response.json() == {"method": "DELETE", "allowed": ["GET", "HEAD"]}
