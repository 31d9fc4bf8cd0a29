"""Blueprints and blueprint groups end to end: prefixes, names, `url_for` and registration errors.

Every test goes through ``app.test_client()``, so requests travel the real h11 connection code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from trioweb import App, Blueprint, Request
from trioweb.blueprints import BlueprintGroup
from trioweb.response import HTTPResponse, text


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def echo_path_blueprint(name: str, url_prefix: str | None = None) -> Blueprint:
    """A blueprint whose one GET route at ``/`` answers with the blueprint's name."""
    bp = Blueprint(name, url_prefix=url_prefix)

    @bp.get("/")
    async def index(request: Request) -> HTTPResponse:
        return text(f"{name} {request.path}")

    return bp


# --- routes on a blueprint --------------------------------------------------------------------


async def test_blueprint_routes_serve_under_its_prefix() -> None:
    bp = Blueprint("items", url_prefix="/items")

    @bp.get("/<item_id:int>")
    async def show(request: Request, item_id: int) -> HTTPResponse:
        return text(f"item {item_id * 2}")

    @bp.put("/<item_id:int>")
    async def replace(request: Request, item_id: int) -> HTTPResponse:
        return text(f"replaced {item_id} with {request.body.decode()}")

    app = App()
    app.blueprint(bp)
    async with app.test_client() as client:
        shown = await client.get("/items/21")
        replaced = await client.put("/items/7", content=b"new")
        unprefixed = await client.get("/21")
    assert (shown.status_code, shown.text) == (200, "item 42")
    assert (replaced.status_code, replaced.text) == (200, "replaced 7 with new")
    assert unprefixed.status_code == 404


async def test_blueprint_streaming_post_reads_request_stream() -> None:
    bp = Blueprint("uploads", url_prefix="/uploads")

    @bp.post("/", stream=True)
    async def upload(request: Request) -> HTTPResponse:
        assert request.stream is not None
        received = [chunk async for chunk in request.stream]
        return text(f"{len(received)} chunks: {b''.join(received).decode()}")

    app = App()
    app.blueprint(bp)
    async with app.test_client() as client:
        response = await client.post("/uploads", content=chunks(b"a", b"b", b"c"))
    assert response.status_code == 200
    assert response.text.endswith(": abc")


async def test_blueprint_non_streaming_post_gets_the_body() -> None:
    bp = Blueprint("forms", url_prefix="/forms")

    @bp.post("/")
    async def submit(request: Request) -> HTTPResponse:
        return text(f"stream={request.stream} body={request.body.decode()}")

    app = App()
    app.blueprint(bp)
    async with app.test_client() as client:
        response = await client.post("/forms", content=b"x=1")
    assert response.text == "stream=None body=x=1"


async def test_blueprint_add_route_with_methods() -> None:
    bp = Blueprint("things", url_prefix="/things")

    async def things(request: Request) -> HTTPResponse:
        return text(f"{request.method} things")

    bp.add_route(things, "/", methods=["GET", "DELETE"])
    app = App()
    app.blueprint(bp)
    async with app.test_client() as client:
        got = await client.get("/things")
        deleted = await client.delete("/things")
        posted = await client.post("/things", content=b"")
    assert got.text == "GET things"
    assert deleted.text == "DELETE things"
    assert posted.status_code == 405
    assert posted.headers["allow"] == "DELETE, GET, HEAD"


async def test_blueprint_without_prefix_serves_its_paths_as_written() -> None:
    bp = Blueprint("plain")

    @bp.get("/about")
    async def about(request: Request) -> HTTPResponse:
        return text("about")

    app = App()
    app.blueprint(bp)
    async with app.test_client() as client:
        response = await client.get("/about")
    assert response.text == "about"


async def test_app_blueprint_url_prefix_replaces_the_blueprints_own_as_in_sanic() -> None:
    app = App()
    app.blueprint(echo_path_blueprint("docs", "/docs"), url_prefix="/v2")
    async with app.test_client() as client:
        moved = await client.get("/v2/")
        old = await client.get("/docs/")
    assert moved.text == "docs /v2/"
    assert old.status_code == 404


# --- prefix joining ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url_prefix", "route", "path"),
    [
        ("/api", "/", "/api/"),
        ("/api/", "/", "/api/"),
        ("/api", "", "/api"),
        ("api", "/users", "/api/users"),
        ("/api/", "/users", "/api/users"),
        ("/api/", "users", "/api/users"),
        ("/", "/users", "/users"),
        ("/api", "/users/", "/api/users/"),
    ],
)
async def test_prefix_and_route_join_with_one_slash(url_prefix: str, route: str, path: str) -> None:
    bp = Blueprint("api", url_prefix=url_prefix)

    @bp.get(route, strict_slashes=True)
    async def handler(request: Request) -> HTTPResponse:
        return text(request.path)

    app = App()
    app.blueprint(bp)
    async with app.test_client() as client:
        response = await client.get(path)
    assert (response.status_code, response.text) == (200, path)
    assert app.url_for("api.handler") == path


async def test_root_route_under_a_prefix_also_answers_with_a_trailing_slash() -> None:
    app = App()
    app.blueprint(echo_path_blueprint("shop", "/shop"))
    async with app.test_client() as client:
        bare = await client.get("/shop")
        slashed = await client.get("/shop/")
    assert (bare.status_code, bare.text) == (200, "shop /shop")
    assert (slashed.status_code, slashed.text) == (200, "shop /shop/")


async def test_blueprint_strict_slashes_keeps_trailing_slash_paths_apart() -> None:
    bp = Blueprint("strict", url_prefix="/strict", strict_slashes=True)

    @bp.get("/page")
    async def page(request: Request) -> HTTPResponse:
        return text("page")

    app = App()
    app.blueprint(bp)
    async with app.test_client() as client:
        exact = await client.get("/strict/page")
        slashed = await client.get("/strict/page/")
    assert exact.status_code == 200
    assert slashed.status_code == 404


# --- groups -----------------------------------------------------------------------------------


async def test_group_puts_its_prefix_in_front_of_each_blueprint() -> None:
    group = Blueprint.group(
        echo_path_blueprint("users", "/users"),
        echo_path_blueprint("posts", "/posts"),
        url_prefix="/api",
    )
    app = App()
    app.blueprint(group)
    async with app.test_client() as client:
        users = await client.get("/api/users")
        posts = await client.get("/api/posts")
        bare = await client.get("/users")
    assert users.text == "users /api/users"
    assert posts.text == "posts /api/posts"
    assert bare.status_code == 404


async def test_nested_groups_join_every_prefix() -> None:
    inner = Blueprint.group(echo_path_blueprint("v1users", "/users"), url_prefix="/v1")
    outer = Blueprint.group(inner, echo_path_blueprint("health", "/health"), url_prefix="/api")
    app = App()
    app.blueprint(outer)
    async with app.test_client() as client:
        nested = await client.get("/api/v1/users")
        shallow = await client.get("/api/health")
    assert nested.text == "v1users /api/v1/users"
    assert shallow.text == "health /api/health"
    assert app.url_for("v1users.index") == "/api/v1/users/"


async def test_group_without_prefix_keeps_blueprint_prefixes() -> None:
    group = Blueprint.group(echo_path_blueprint("a", "/a"), echo_path_blueprint("b", "/b"))
    app = App()
    app.blueprint(group)
    async with app.test_client() as client:
        a = await client.get("/a")
        b = await client.get("/b")
    assert (a.text, b.text) == ("a /a", "b /b")


async def test_group_iterates_its_blueprints_through_nesting() -> None:
    a, b, c = (echo_path_blueprint(name) for name in "abc")
    group = Blueprint.group(a, Blueprint.group(b, c, url_prefix="/inner"), url_prefix="/outer")
    assert isinstance(group, BlueprintGroup)
    assert list(group) == [a, b, c]
    assert len(group) == 3


async def test_blueprint_with_no_prefix_in_a_group_gets_the_groups_prefix() -> None:
    group = Blueprint.group(echo_path_blueprint("root"), url_prefix="/g")
    app = App()
    app.blueprint(group)
    async with app.test_client() as client:
        response = await client.get("/g")
    assert response.text == "root /g"


# --- names and url_for ------------------------------------------------------------------------


async def test_blueprint_route_names_are_prefixed_with_the_blueprint_name() -> None:
    bp = Blueprint("users", url_prefix="/users")

    @bp.get("/<user_id:int>")
    async def profile(request: Request, user_id: int) -> HTTPResponse:
        return text(request.app.url_for("users.profile", user_id=user_id))

    @bp.get("/me", name="self")
    async def me(request: Request) -> HTTPResponse:
        return text("me")

    app = App()
    app.blueprint(bp)
    assert app.url_for("users.profile", user_id=5) == "/users/5"
    assert app.url_for("users.self") == "/users/me"
    async with app.test_client() as client:
        response = await client.get("/users/9")
    assert response.text == "/users/9"


async def test_url_for_puts_extra_params_in_the_query_string() -> None:
    bp = Blueprint("search", url_prefix="/search")

    @bp.get("/<kind:alpha>")
    async def find(request: Request, kind: str) -> HTTPResponse:
        return text(kind)

    app = App()
    app.blueprint(bp)
    assert app.url_for("search.find", kind="books", q="trio web", page=2) == (
        "/search/books?q=trio+web&page=2"
    )
    assert app.url_for("search.find", kind="books", tag=["a", "b"]) == "/search/books?tag=a&tag=b"


async def test_two_blueprints_may_use_the_same_handler_name() -> None:
    app = App()
    app.blueprint(echo_path_blueprint("first", "/first"))
    app.blueprint(echo_path_blueprint("second", "/second"))
    assert app.url_for("first.index") == "/first/"
    assert app.url_for("second.index") == "/second/"


# --- registration errors ----------------------------------------------------------------------


async def test_registering_two_blueprints_with_one_name_raises() -> None:
    app = App()
    app.blueprint(echo_path_blueprint("dup", "/one"))
    with pytest.raises(ValueError, match="a blueprint named 'dup' is already registered"):
        app.blueprint(echo_path_blueprint("dup", "/two"))


async def test_a_group_holding_a_registered_name_raises() -> None:
    app = App()
    app.blueprint(echo_path_blueprint("dup", "/one"))
    group = Blueprint.group(echo_path_blueprint("dup", "/two"), url_prefix="/g")
    with pytest.raises(ValueError, match="a blueprint named 'dup' is already registered"):
        app.blueprint(group)


@pytest.mark.parametrize("name", ["", "a.b", "with space", "a/b", "name!"])
def test_bad_blueprint_names_raise(name: str) -> None:
    with pytest.raises(ValueError, match="blueprint name must be letters, digits, '_' or '-'"):
        Blueprint(name)


@pytest.mark.parametrize("name", ["users", "user_api", "v2-admin", "Admin2"])
def test_good_blueprint_names_are_accepted(name: str) -> None:
    assert Blueprint(name).name == name


async def test_what_a_blueprint_declares_after_registration_reaches_the_app() -> None:
    app = App("late")
    late = Blueprint("late_bp", url_prefix="/late")
    app.blueprint(late)
    seen: list[str] = []

    @late.get("/")
    async def index(request: Request) -> HTTPResponse:
        raise KeyError("missing")

    @late.on_request
    async def note(request: Request) -> None:
        seen.append(request.path)

    @late.exception(KeyError)
    async def missing(request: Request, exc: KeyError) -> HTTPResponse:
        return text("handled by the blueprint", 404)

    async with app.test_client() as client:
        response = await client.get("/late/")
    assert (response.status_code, response.text) == (404, "handled by the blueprint")
    assert seen == ["/late/"]
    assert app.url_for("late_bp.index") == "/late/"


# --- as Sanic documents them (issue 11) --------------------------------------------------------


async def test_group_takes_a_list_and_app_blueprint_takes_a_list() -> None:
    grouped = Blueprint.group([echo_path_blueprint("a", "/a"), echo_path_blueprint("b", "/b")])
    app = App()
    app.blueprint(grouped)
    other = App()
    other.blueprint([echo_path_blueprint("c", "/c"), echo_path_blueprint("d", "/d")])
    async with app.test_client() as client:
        a = await client.get("/a/")
        b = await client.get("/b/")
    async with other.test_client() as client:
        c = await client.get("/c/")
    assert (a.text, b.text, c.text) == ("a /a/", "b /b/", "c /c/")


async def test_blueprint_root_routes_under_a_prefix_follow_strict_slashes() -> None:
    bp = Blueprint("bp", url_prefix="/bp", strict_slashes=True)

    @bp.get("")
    async def bare(request: Request) -> HTTPResponse:
        return text("bare")

    @bp.get("/")
    async def slash(request: Request) -> HTTPResponse:
        return text("slash")

    app = App()
    app.blueprint(bp)
    async with app.test_client() as client:
        assert (await client.get("/bp")).text == "bare"
        assert (await client.get("/bp/")).text == "slash"


async def test_group_options_are_defaults_under_the_blueprints_own() -> None:
    plain = echo_path_blueprint("plain", "/plain")
    pinned = Blueprint("pinned", url_prefix="/pinned", version=3)

    @pinned.get("/x")
    async def x(request: Request) -> HTTPResponse:
        return text(request.path)

    group = Blueprint.group(plain, pinned, url_prefix="/api", version=1, strict_slashes=True)
    app = App()
    app.blueprint(group)
    async with app.test_client() as client:
        assert (await client.get("/v1/api/plain/")).text == "plain /v1/api/plain/"
        assert (await client.get("/v1/api/plain")).status_code == 404  # strict
        assert (await client.get("/v3/api/pinned/x")).text == "/v3/api/pinned/x"


async def test_name_prefix_registers_one_blueprint_twice() -> None:
    bp = echo_path_blueprint("items", "/items")
    app = App()
    app.blueprint(bp, url_prefix="/v1", name_prefix="one")
    app.blueprint(bp, url_prefix="/v2", name_prefix="two")
    async with app.test_client() as client:
        assert (await client.get("/v1/")).text == "items /v1/"
        assert (await client.get("/v2/")).text == "items /v2/"
    assert app.url_for("one_items.index") == "/v1/"
    assert app.url_for("two_items.index") == "/v2/"


async def test_group_middleware_and_exception_handlers_reach_every_blueprint() -> None:
    first, second = Blueprint("first"), Blueprint("second", url_prefix="/second")
    outside = Blueprint("outside", url_prefix="/outside")
    for bp in (first, second, outside):

        @bp.get("/fail")
        async def fail(request: Request) -> HTTPResponse:
            raise KeyError("nope")

    group = Blueprint.group(first, second)
    seen: list[str] = []

    @group.middleware("request")
    async def mark(request: Request) -> None:
        seen.append(request.path)

    @group.exception(KeyError)
    async def missing(request: Request, exc: KeyError) -> HTTPResponse:
        return text("group handled", 404)

    app = App()
    app.blueprint(group)
    app.blueprint(outside)
    async with app.test_client() as client:
        handled = [await client.get(path) for path in ("/fail", "/second/fail")]
        unhandled = await client.get("/outside/fail")
    assert [r.text for r in handled] == ["group handled", "group handled"]
    assert unhandled.status_code == 500
    assert seen == ["/fail", "/second/fail"]


async def test_blueprint_listeners_run_with_the_apps() -> None:
    bp = Blueprint("lifecycle")
    events: list[str] = []

    @bp.before_server_start
    async def opening(app: App) -> None:
        events.append("async start")

    @bp.listener("after_server_stop")
    def closing(app: App, loop: object) -> None:  # Sanic's (app, loop) signature
        events.append(f"sync stop, loop={loop}")

    app = App()
    app.blueprint(bp)
    async with app.test_client():
        assert events == ["async start"]
    assert events == ["async start", "sync stop, loop=None"]


def test_listener_names_are_checked() -> None:
    with pytest.raises(ValueError, match="listener event must be one of before_server_start"):
        App().listener("before_start")


async def test_version_prefix_comes_from_the_route_then_blueprint_then_group() -> None:
    own = Blueprint("own", url_prefix="/own", version=1, version_prefix="/bp/v")
    plain = Blueprint("plain", url_prefix="/plain", version=1)
    for bp in (own, plain):

        @bp.get("/x")
        async def x(request: Request) -> HTTPResponse:
            return text(request.path)

    app = App()
    app.blueprint(Blueprint.group(own, plain, version_prefix="/group/v"))
    assert app.url_for("own.x") == "/bp/v1/own/x"
    assert app.url_for("plain.x") == "/group/v1/plain/x"
