"""The `App` end to end: route declaration, routing outcomes, middleware, error handling,
listeners and background tasks, all seen through ``app.test_client()``.

Waits on the app's own tasks sit under ``trio.fail_after`` so a bug fails instead of hanging.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from trioweb import App, Blueprint, Request
from trioweb.exceptions import BadRequest, HTTPException, NotFound, URLBuildError
from trioweb.response import BaseHTTPResponse, HTTPResponse, html, json, text

TIMEOUT = 5


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


# --- declaring routes -------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "head", "options", "delete"])
def test_bodiless_method_decorators_reject_stream(method: str) -> None:
    app = App()
    with pytest.raises(TypeError, match="unexpected keyword argument 'stream'"):
        getattr(app, method)("/", stream=True)


@pytest.mark.parametrize("method", ["post", "put", "patch"])
async def test_body_method_decorators_accept_stream(method: str) -> None:
    app = App()

    @getattr(app, method)("/up", stream=True)
    async def upload(request: Request) -> HTTPResponse:
        assert request.stream is not None
        body = b"".join([chunk async for chunk in request.stream])
        return text(f"{request.method} {body.decode()}")

    async with app.test_client() as client:
        response = await client.request(method.upper(), "/up", content=chunks(b"a", b"b"))
    assert response.text == f"{method.upper()} ab"


@pytest.mark.parametrize("method", ["post", "put", "patch"])
async def test_body_method_decorators_buffer_without_stream(method: str) -> None:
    app = App()

    @getattr(app, method)("/up")
    async def upload(request: Request) -> HTTPResponse:
        return text(f"{request.stream} {request.body.decode()}")

    async with app.test_client() as client:
        response = await client.request(method.upper(), "/up", content=b"whole")
    assert response.text == "None whole"


async def test_each_method_decorator_serves_its_method() -> None:
    app = App()

    @app.head("/h")
    async def head(request: Request) -> HTTPResponse:
        return text("", headers={"X-Head": "1"})

    @app.options("/o")
    async def options(request: Request) -> HTTPResponse:
        return empty_with_allow()

    @app.delete("/d")
    async def delete(request: Request) -> HTTPResponse:
        return text("deleted")

    async with app.test_client() as client:
        h = await client.head("/h")
        o = await client.options("/o")
        d = await client.delete("/d")
    assert h.headers["x-head"] == "1"
    assert o.headers["allow"] == "GET, OPTIONS"
    assert d.text == "deleted"


def empty_with_allow() -> HTTPResponse:
    return HTTPResponse(None, 204, {"Allow": "GET, OPTIONS"})


async def test_route_with_several_methods() -> None:
    app = App()

    @app.route("/thing", methods=["GET", "post"])
    async def thing(request: Request) -> HTTPResponse:
        return text(request.method)

    async with app.test_client() as client:
        got = await client.get("/thing")
        posted = await client.post("/thing", content=b"")
        put = await client.put("/thing", content=b"")
    assert got.text == "GET"
    assert posted.text == "POST"
    assert put.status_code == 405
    assert put.headers["allow"] == "GET, HEAD, POST"


async def test_route_without_methods_serves_get() -> None:
    app = App()

    @app.route("/")
    async def index(request: Request) -> HTTPResponse:
        return text("index")

    async with app.test_client() as client:
        got = await client.get("/")
        posted = await client.post("/", content=b"")
    assert got.text == "index"
    assert posted.status_code == 405


def test_route_methods_as_a_string_raise() -> None:
    app = App()
    with pytest.raises(TypeError, match="methods must be a list of names, not the string 'GET'"):
        app.route("/", methods="GET")(text)


async def test_add_route_registers_a_plain_function() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return text("added")

    app = App()
    app.add_route(handler, "/added", methods=["PUT"], name="custom")
    assert app.url_for("custom") == "/added"
    async with app.test_client() as client:
        response = await client.put("/added", content=b"")
    assert response.text == "added"


async def test_the_same_function_stacked_under_two_paths() -> None:
    app = App()

    @app.get("/first")
    @app.get("/second")
    async def both(request: Request) -> HTTPResponse:
        return text(f"served {request.path}")

    async with app.test_client() as client:
        first = await client.get("/first")
        second = await client.get("/second")
    assert first.text == "served /first"
    assert second.text == "served /second"
    # The path registered first (the inner decorator) keeps the function's name.
    assert app.url_for("both") == "/second"
    assert app.url_for("both_2") == "/first"


# --- path parameters --------------------------------------------------------------------------

UID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.mark.parametrize(
    ("pattern", "path", "value", "type_"),
    [
        ("/p/<v>", "/p/plain", "plain", str),
        ("/p/<v:int>", "/p/-42", -42, int),
        ("/p/<v:float>", "/p/2.5", 2.5, float),
        ("/p/<v:uuid>", f"/p/{UID}", uuid.UUID(UID), uuid.UUID),
        ("/p/<v:path>", "/p/a/b/c.txt", "a/b/c.txt", str),
        ("/p/<v:slug>", "/p/my-first-post", "my-first-post", str),
        ("/p/<v:alpha>", "/p/Trio", "Trio", str),
    ],
)
async def test_path_params_reach_the_handler_with_their_types(
    pattern: str, path: str, value: object, type_: type
) -> None:
    seen: dict[str, Any] = {}
    app = App()

    @app.get(pattern)
    async def handler(request: Request, v: Any) -> HTTPResponse:
        seen["v"] = v
        return text("ok")

    async with app.test_client() as client:
        response = await client.get(path)
    assert response.status_code == 200
    assert type(seen["v"]) is type_
    assert seen["v"] == value


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("/p/<v:int>", "/p/4.5"),
        ("/p/<v:float>", "/p/abc"),
        ("/p/<v:uuid>", "/p/not-a-uuid"),
        ("/p/<v:slug>", "/p/Not_A_Slug"),
        ("/p/<v:alpha>", "/p/abc1"),
        ("/p/<v>", "/p/a/b"),
    ],
)
async def test_path_that_does_not_fit_the_param_type_is_404(pattern: str, path: str) -> None:
    app = App()

    @app.get(pattern)
    async def handler(request: Request, v: Any) -> HTTPResponse:
        return text("matched")

    async with app.test_client() as client:
        response = await client.get(path)
    assert response.status_code == 404


async def test_several_params_arrive_as_keyword_arguments() -> None:
    app = App()

    @app.get("/users/<user_id:int>/files/<rest:path>")
    async def handler(request: Request, rest: str, user_id: int) -> HTTPResponse:
        return json({"user_id": user_id, "rest": rest})

    async with app.test_client() as client:
        response = await client.get("/users/7/files/docs/a%20b.txt")
    assert response.json() == {"user_id": 7, "rest": "docs/a b.txt"}


# --- routing outcomes -------------------------------------------------------------------------


async def test_unknown_path_is_404() -> None:
    app = App()

    @app.get("/")
    async def index(request: Request) -> HTTPResponse:
        return text("index")

    async with app.test_client() as client:
        response = await client.get("/nowhere")
    assert response.status_code == 404
    assert response.text == "404 Not Found\n"


async def test_known_path_with_another_method_is_405_with_allow() -> None:
    app = App()

    @app.get("/res")
    async def read(request: Request) -> HTTPResponse:
        return text("read")

    @app.delete("/res")
    async def remove(request: Request) -> HTTPResponse:
        return text("removed")

    async with app.test_client() as client:
        response = await client.post("/res", content=b"")
        removed = await client.delete("/res")
    assert response.status_code == 405
    assert response.headers["allow"] == "DELETE, GET, HEAD"
    assert response.text == "405 Method Not Allowed\n"
    assert removed.text == "removed"


async def test_http_exception_in_a_handler_answers_with_its_status_and_message() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        raise BadRequest("the 'name' field is required")

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 400
    assert response.text == "400 the 'name' field is required\n"


def test_url_for_builds_the_path_and_puts_the_rest_in_the_query() -> None:
    app = App()

    @app.get("/users/<user_id:int>")
    async def user(request: Request, user_id: int) -> HTTPResponse:
        return text("")

    assert app.url_for("user", user_id=3) == "/users/3"
    assert app.url_for("user", user_id=3, tab="posts", q="a b") == "/users/3?tab=posts&q=a+b"
    assert app.url_for("user", user_id=3, _anchor="top") == "/users/3#top"


def test_url_for_unknown_name_raises() -> None:
    app = App()
    with pytest.raises(URLBuildError, match="no route named 'missing'"):
        app.url_for("missing")


def test_url_for_missing_param_raises() -> None:
    app = App()

    @app.get("/users/<user_id:int>")
    async def user(request: Request, user_id: int) -> HTTPResponse:
        return text("")

    with pytest.raises(URLBuildError, match="missing parameter 'user_id'"):
        app.url_for("user")


async def test_url_for_result_routes_back_to_the_handler() -> None:
    app = App()

    @app.get("/files/<name:path>")
    async def show(request: Request, name: str) -> HTTPResponse:
        return text(name)

    url = app.url_for("show", name="dir/a b.txt", v="2")
    async with app.test_client() as client:
        response = await client.get(url)
    assert response.text == "dir/a b.txt"


# --- middleware -------------------------------------------------------------------------------


async def test_middleware_order_request_in_order_response_in_reverse() -> None:
    app = App()
    calls: list[str] = []

    @app.middleware("request")
    async def req_a(request: Request) -> None:
        calls.append("req a")

    @app.on_request
    def req_b(request: Request) -> None:  # sync middleware works too
        calls.append("req b")

    @app.middleware("response")
    async def resp_a(request: Request, response: BaseHTTPResponse) -> None:
        calls.append("resp a")

    @app.on_response
    def resp_b(request: Request, response: BaseHTTPResponse) -> None:
        calls.append("resp b")

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        calls.append("handler")
        return text("ok")

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == "ok"
    assert calls == ["req a", "req b", "handler", "resp b", "resp a"]


async def test_request_middleware_response_skips_the_rest_and_the_handler() -> None:
    app = App()
    calls: list[str] = []

    @app.on_request
    async def gate(request: Request) -> HTTPResponse | None:
        calls.append("gate")
        if "key" not in request.args:
            return text("forbidden", 403)
        return None

    @app.on_request
    async def later(request: Request) -> None:
        calls.append("later")

    @app.on_response
    async def stamp(request: Request, response: BaseHTTPResponse) -> None:
        calls.append("stamp")
        response.headers["X-Stamped"] = "1"

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        calls.append("handler")
        return text("secret")

    async with app.test_client() as client:
        denied = await client.get("/")
        denied_calls = list(calls)
        calls.clear()
        allowed = await client.get("/?key=1")
    assert (denied.status_code, denied.text) == (403, "forbidden")
    assert denied.headers["x-stamped"] == "1"
    assert denied_calls == ["gate", "stamp"]
    assert (allowed.status_code, allowed.text) == (200, "secret")
    assert calls == ["gate", "later", "handler", "stamp"]


async def test_response_middleware_may_replace_the_response() -> None:
    app = App()

    @app.on_response
    async def wrap(request: Request, response: BaseHTTPResponse) -> HTTPResponse:
        return json({"wrapped_status": response.status})

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        return text("original", 201)

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.json() == {"wrapped_status": 201}


async def test_middleware_sees_unrouted_requests() -> None:
    app = App()

    @app.on_request
    async def everything(request: Request) -> HTTPResponse | None:
        return text(f"caught {request.path}") if request.path.startswith("/legacy") else None

    async with app.test_client() as client:
        legacy = await client.get("/legacy/page")
        other = await client.get("/other")
    assert legacy.text == "caught /legacy/page"
    assert other.status_code == 404


def test_unknown_middleware_kind_raises() -> None:
    app = App()
    with pytest.raises(ValueError, match="middleware kind must be 'request' or 'response'"):
        app.middleware("sometimes")  # type: ignore[arg-type]


# --- error handling ---------------------------------------------------------------------------


async def test_exception_handler_renders_a_custom_not_found_page() -> None:
    app = App()

    @app.exception(NotFound)
    async def not_found(request: Request, exc: BaseException) -> HTTPResponse:
        return html(f"<h1>No page at {request.path}</h1>", 404)

    async with app.test_client() as client:
        response = await client.get("/missing")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<h1>No page at /missing</h1>"


async def test_exception_handler_for_a_base_class_catches_subclasses() -> None:
    app = App()

    @app.exception(HTTPException)
    async def any_http_error(request: Request, exc: BaseException) -> HTTPResponse:
        assert isinstance(exc, HTTPException)
        return json({"status": exc.status_code, "message": exc.message}, exc.status_code)

    @app.get("/bad")
    async def bad(request: Request) -> HTTPResponse:
        raise BadRequest("nope")

    async with app.test_client() as client:
        bad_response = await client.get("/bad")
        missing = await client.get("/missing")
    assert bad_response.json() == {"status": 400, "message": "nope"}
    assert missing.json() == {"status": 404, "message": "Not Found"}


async def test_exception_handler_for_ordinary_errors() -> None:
    app = App()

    @app.exception(KeyError, ValueError)
    async def lookup_failed(request: Request, exc: BaseException) -> HTTPResponse:
        return text(f"lookup failed: {type(exc).__name__}", 422)

    @app.get("/key")
    async def key(request: Request) -> HTTPResponse:
        return text({}["missing"])

    @app.get("/value")
    async def value(request: Request) -> HTTPResponse:
        return text(str(int("x")))

    async with app.test_client() as client:
        key_response = await client.get("/key")
        value_response = await client.get("/value")
    assert (key_response.status_code, key_response.text) == (422, "lookup failed: KeyError")
    assert value_response.text == "lookup failed: ValueError"


def test_exception_without_types_raises() -> None:
    app = App()
    with pytest.raises(TypeError, match="exception\\(\\) needs at least one exception type"):
        app.exception()


async def test_handler_error_gives_500_without_the_error_text() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        raise RuntimeError("database password is hunter2")

    async with app.test_client() as client:
        response = await client.get("/")
        after = await client.get("/")  # the connection and the server carry on
    assert response.status_code == 500
    assert response.text == "500 Internal Server Error\n"
    assert "hunter2" not in response.text
    assert after.status_code == 500


async def test_handler_error_shows_the_traceback_in_debug_mode() -> None:
    app = App()
    app.config.DEBUG = True

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        raise RuntimeError("database password is hunter2")

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 500
    assert response.text.startswith("500 Internal Server Error\nTraceback (most recent call last):")
    assert "RuntimeError: database password is hunter2" in response.text


# --- listeners and tasks ----------------------------------------------------------------------


async def test_listeners_run_in_order_around_a_client_session() -> None:
    app = App()
    events: list[str] = []

    @app.before_server_start
    async def before_start(app_: App) -> None:
        assert app_ is app
        events.append("before_server_start")

    @app.after_server_start
    async def after_start(app_: App) -> None:
        events.append("after_server_start")

    @app.before_server_stop
    async def before_stop(app_: App) -> None:
        events.append("before_server_stop")

    @app.after_server_stop
    async def after_stop(app_: App) -> None:
        events.append("after_server_stop")

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        events.append("request")
        return text("ok")

    async with app.test_client() as client:
        assert events == ["before_server_start", "after_server_start"]
        await client.get("/")
    assert events == [
        "before_server_start",
        "after_server_start",
        "request",
        "before_server_stop",
        "after_server_stop",
    ]


async def test_listener_state_is_visible_to_handlers() -> None:
    app = App()

    @app.before_server_start
    async def setup(app_: App) -> None:
        app_.ctx.greeting = "hello from setup"

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        return text(request.app.ctx.greeting)

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == "hello from setup"


async def test_add_task_runs_while_serving_and_is_cancelled_at_shutdown() -> None:
    app = App()
    started = trio.Event()
    received: list[str] = []
    cancelled: list[bool] = []

    async def worker(label: str) -> None:
        received.append(label)
        started.set()
        try:
            await trio.sleep_forever()
        finally:
            cancelled.append(True)

    app.add_task(worker, "job")
    with trio.fail_after(TIMEOUT):
        async with app.test_client():
            await started.wait()
            assert cancelled == []
    assert received == ["job"]
    assert cancelled == [True]


async def test_add_task_while_serving_starts_at_once() -> None:
    app = App()
    ran = trio.Event()

    async def worker() -> None:
        ran.set()

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        request.app.add_task(worker)
        return text("scheduled")

    with trio.fail_after(TIMEOUT):
        async with app.test_client() as client:
            response = await client.get("/")
            await ran.wait()
    assert response.text == "scheduled"


async def test_an_error_handler_returning_a_non_response_gives_a_plain_500() -> None:
    app = App("bad-error-handler")

    @app.exception(NotFound)
    async def not_a_response(request: Request, exc: BaseException) -> object:
        return "oops"

    async with app.test_client() as client:
        response = await client.get("/missing")
    assert response.status_code == 500
    assert response.text == "500 Internal Server Error\n"


def test_a_group_with_a_clashing_name_registers_nothing() -> None:
    app = App("clash")
    taken = Blueprint("taken")
    app.blueprint(taken)
    fresh = Blueprint("fresh")

    @fresh.get("/fresh")
    async def fresh_route(request: Request) -> HTTPResponse:
        return text("fresh")

    with pytest.raises(ValueError, match="a blueprint named 'taken' is already registered"):
        app.blueprint(Blueprint.group(fresh, Blueprint("taken")))
    assert "fresh" not in app.blueprints
    assert [route.name for route in app.router.routes] == []


def test_add_task_rejects_a_coroutine_object() -> None:
    app = App("tasks")

    async def work() -> None:
        pass

    coroutine = work()
    with pytest.raises(TypeError, match="add_task takes an async function"):
        app.add_task(coroutine)  # type: ignore[arg-type]
    coroutine.close()


def test_url_for_external_and_anchor() -> None:
    app = App("urls")

    @app.get("/page/<id:int>")
    async def page(request: Request, id: int) -> HTTPResponse:
        return text("page")

    assert app.url_for("page", id=1, _anchor="a b") == "/page/1#a%20b"
    with pytest.raises(URLBuildError, match=r"needs _server= or config\.SERVER_NAME"):
        app.url_for("page", id=1, _external=True)
    app.config.SERVER_NAME = "example.com"
    assert app.url_for("page", id=1, _external=True, _scheme="https") == (
        "https://example.com/page/1"
    )


async def test_a_failing_start_listener_surfaces_its_own_error() -> None:
    app = App("bad-start")

    @app.before_server_start
    async def explode(a: App) -> None:
        raise RuntimeError("cannot connect to the database")

    with pytest.raises(RuntimeError, match="cannot connect"):
        async with app.test_client():
            pass  # pragma: no cover
