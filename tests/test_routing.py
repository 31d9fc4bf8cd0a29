"""Routing end to end: typed and regex params, slashes, hosts, versions, names, url_for."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from trioweb import App, Blueprint, Request
from trioweb.exceptions import RouteExists
from trioweb.response import HTTPResponse, json, text


def echo(name: str) -> Any:
    async def handler(req: Request, **params: Any) -> HTTPResponse:
        return json({k: [type(v).__name__, str(v)] for k, v in params.items()})

    handler.__name__ = name
    return handler


async def test_ymd_and_regex_params_convert_or_404() -> None:
    app = App("params")
    app.add_route(echo("day"), "/day/<when:ymd>")
    app.add_route(echo("lang"), "/lang/<code:[a-z]{2,4}>")
    async with app.test_client() as client:
        assert (await client.get("/day/2024-02-29")).json() == {"when": ["date", "2024-02-29"]}
        assert (await client.get("/day/2023-02-29")).status_code == 404
        assert (await client.get("/day/tomorrow")).status_code == 404
        assert (await client.get("/lang/en")).json() == {"code": ["str", "en"]}
        assert (await client.get("/lang/english")).status_code == 404
        assert (await client.get("/lang/EN")).status_code == 404


async def test_ymd_reaches_the_handler_as_a_date() -> None:
    app = App("ymd")
    seen: list[datetime.date] = []

    @app.get("/on/<day:ymd>")
    async def on(req: Request, day: datetime.date) -> HTTPResponse:
        seen.append(day)
        return text("ok")

    async with app.test_client() as client:
        await client.get("/on/2025-12-31")
    assert seen == [datetime.date(2025, 12, 31)]


async def test_slashes_are_lenient_unless_strict() -> None:
    app = App("slashes")
    app.add_route(echo("lenient"), "/lenient")
    app.add_route(echo("strict"), "/strict", strict_slashes=True)
    async with app.test_client() as client:
        assert (await client.get("/lenient")).status_code == 200
        assert (await client.get("/lenient/")).status_code == 200
        assert (await client.get("/strict")).status_code == 200
        assert (await client.get("/strict/")).status_code == 404


async def test_strict_slashes_on_the_app_and_on_a_blueprint() -> None:
    app = App("strict-app", strict_slashes=True)
    app.add_route(echo("a"), "/a")
    app.add_route(echo("b"), "/b", strict_slashes=False)
    bp = Blueprint("bp", url_prefix="/bp", strict_slashes=False)
    bp.add_route(echo("c"), "/c")
    app.blueprint(bp)
    async with app.test_client() as client:
        assert (await client.get("/a/")).status_code == 404
        assert (await client.get("/b/")).status_code == 200
        assert (await client.get("/bp/c/")).status_code == 200


async def test_host_matching_uses_the_host_header() -> None:
    app = App("hosts")
    app.add_route(echo("api"), "/", host="api.example.com")
    app.add_route(echo("www"), "/", host="www.example.com")
    async with app.test_client() as client:
        r = await client.get("/", headers={"Host": "api.example.com:8080"})
        assert r.status_code == 200
        # A host-bound route's URL names its host, as in Sanic.
        assert app.url_for("api") == "http://api.example.com/"
        assert (await client.get("/", headers={"Host": "other.example.com"})).status_code == 404


async def test_versions_prefix_the_path() -> None:
    app = App("versions")
    app.add_route(echo("v1"), "/items", version=1)
    bp = Blueprint("users", url_prefix="/users", version=2)
    bp.add_route(echo("list"), "/")
    app.blueprint(bp)
    async with app.test_client() as client:
        assert (await client.get("/v1/items")).status_code == 200
        assert (await client.get("/items")).status_code == 404
        assert (await client.get("/v2/users")).status_code == 200
    assert app.url_for("v1") == "/v1/items"
    assert app.url_for("users.list") == "/v2/users/"


def test_a_duplicate_path_and_method_raises_at_registration() -> None:
    app = App("dupes")
    app.add_route(echo("one"), "/x")
    with pytest.raises(RouteExists, match="route GET /x is already registered"):
        app.add_route(echo("two"), "/x")


async def test_url_for_covers_groups_and_query_strings() -> None:
    app = App("urls")
    inner = Blueprint("inner", url_prefix="/inner")
    inner.add_route(echo("leaf"), "/leaf/<id:int>")
    app.blueprint(Blueprint.group(Blueprint.group(inner, url_prefix="/g2"), url_prefix="/g1"))
    assert app.url_for("inner.leaf", id=3, q="a b") == "/g1/g2/inner/leaf/3?q=a+b"
    async with app.test_client() as client:
        assert (await client.get("/g1/g2/inner/leaf/3")).json() == {"id": ["int", "3"]}


async def test_request_knows_its_route_and_match_info() -> None:
    app = App("route-info")

    @app.get("/user/<id:int>/<tab>", name="user_tab")
    async def user(req: Request, id: int, tab: str) -> HTTPResponse:
        assert req.route is not None
        return json({"route": req.route.name, "uri": req.route.uri, "match": req.match_info})

    async with app.test_client() as client:
        r = await client.get("/user/7/posts")
    assert r.json() == {
        "route": "user_tab",
        "uri": "/user/<id:int>/<tab>",
        "match": {"id": 7, "tab": "posts"},
    }


# --- as Sanic documents them (issue 11) --------------------------------------------------------


async def test_a_regex_with_one_capturing_group_passes_the_group() -> None:
    app = App("regex-group")
    app.add_route(echo("ext"), r"/file/<ext:file\.(txt|md)>")
    app.add_route(echo("whole"), r"/whole/<name:[a-z]+\.txt>")
    async with app.test_client() as client:
        assert (await client.get("/file/file.txt")).json() == {"ext": ["str", "txt"]}
        assert (await client.get("/file/file.md")).json() == {"ext": ["str", "md"]}
        assert (await client.get("/file/file.pdf")).status_code == 404
        assert (await client.get("/whole/a.txt")).json() == {"name": ["str", "a.txt"]}


def test_a_regex_with_two_capturing_groups_is_refused() -> None:
    app = App("regex-groups")
    with pytest.raises(ValueError, match=r"has 2 capturing groups.*\(\?:\.\.\.\)"):
        app.add_route(echo("two"), r"/x/<v:(a)(b)>")


async def test_a_route_may_serve_a_list_of_hosts() -> None:
    app = App("hosts")

    @app.get("/", host=["example.com", "www.example.com"])
    async def home(request: Request) -> HTTPResponse:
        return text("home")

    async with app.test_client() as client:
        for host in ("example.com", "www.example.com:8000"):
            response = await client.get("/", headers={"Host": host})
            assert (response.status_code, response.text) == (200, "home")
        assert (await client.get("/", headers={"Host": "other.com"})).status_code == 404
    assert app.url_for("home", _host="www.example.com") == "http://www.example.com/"
    with pytest.raises(ValueError, match="serves several hosts"):
        app.url_for("home")
    with pytest.raises(ValueError, match=r"does not serve host 'evil\.com'"):
        app.url_for("home", _host="evil.com")


@pytest.mark.parametrize(
    ("version", "prefix", "path"),
    [
        (1, "/v", "/v1/x"),
        ("v1.0.1", "/v", "/v1.0.1/x"),
        (1.1, "/v", "/v1.1/x"),
        ("2", "/api/v", "/api/v2/x"),
    ],
)
async def test_versions_drop_a_leading_v_and_take_a_prefix(
    version: Any, prefix: str, path: str
) -> None:
    app = App("versions")

    @app.get("/x", version=version, version_prefix=prefix)
    async def x(request: Request) -> HTTPResponse:
        return text(request.path)

    async with app.test_client() as client:
        response = await client.get(path)
    assert (response.status_code, response.text) == (200, path)
    assert app.url_for("x") == path


def test_url_for_external_urls_as_sanic_documents() -> None:
    app = App("external")

    @app.get("/posts/<post_id:int>")
    async def post(request: Request, post_id: int) -> HTTPResponse:
        return text("")

    url = app.url_for("post", post_id=5, arg_one="one", _external=True, _server="srv:8888")
    assert url == "http://srv:8888/posts/5?arg_one=one"
    assert app.url_for("post", post_id=5, _external=True, _server="http://srv:1234") == (
        "http://srv:1234/posts/5"
    )
    assert app.url_for("post", post_id=5, _external=True, _server="https://srv") == (
        "https://srv/posts/5"
    )
    assert app.url_for("post", post_id=5, _external=True, _scheme="https", _server="srv") == (
        "https://srv/posts/5"
    )
    assert app.url_for("post", post_id=1, arg=["a", "b"]) == "/posts/1?arg=a&arg=b"
    with pytest.raises(ValueError, match="needs _external=True"):
        app.url_for("post", post_id=5, _scheme="https")
    with pytest.raises(ValueError, match=r"needs _server= or config\.SERVER_NAME"):
        app.url_for("post", post_id=5, _external=True)
    app.config.SERVER_NAME = "https://example.com"
    assert app.url_for("post", post_id=5, _external=True) == "https://example.com/posts/5"


async def test_route_ctx_keywords_reach_request_route_ctx() -> None:
    app = App("route-ctx")

    @app.on_request
    async def guard(request: Request) -> HTTPResponse | None:
        assert request.route is not None
        if getattr(request.route.ctx, "admin_only", False):
            return text("admins only", 403)
        return None

    @app.get("/admin", ctx_admin_only=True, ctx_label="admin")
    async def admin(request: Request) -> HTTPResponse:
        return text("welcome")

    @app.post("/open", stream=False, ctx_label="open")
    async def open_route(request: Request) -> HTTPResponse:
        assert request.route is not None
        return text(request.route.ctx.label)

    async with app.test_client() as client:
        assert (await client.get("/admin")).status_code == 403
        assert (await client.post("/open")).text == "open"
    assert app.router.by_name("admin").ctx.label == "admin"


def test_a_decorator_used_without_parentheses_is_a_type_error_at_once() -> None:
    app = App("bare")
    with pytest.raises(TypeError, match=r'with parentheses: write @app.get\("/path"\)'):

        @app.get  # type: ignore[arg-type]
        async def index(request: Request) -> HTTPResponse:
            return text("never routed")

    with pytest.raises(TypeError, match=r"write @app.route"):

        @app.route  # type: ignore[arg-type]
        async def other(request: Request) -> HTTPResponse:
            return text("never routed")


def test_unknown_route_keywords_are_type_errors() -> None:
    app = App("keywords")
    with pytest.raises(TypeError, match="get\\(\\) got an unexpected keyword argument 'stream'"):
        app.get("/", stream=True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        app.post("/", colour="red")


def test_a_generator_handler_is_refused_at_registration() -> None:
    app = App("generators")

    async def agen(request: Request) -> Any:
        yield b"x"

    with pytest.raises(TypeError, match="is a generator function"):
        app.add_route(agen, "/agen")
    with pytest.raises(TypeError, match="must be a function"):
        app.add_route("not callable", "/str")  # type: ignore[arg-type]


def test_url_for_static_routes_takes_sanics_filename_and_name(tmp_path: Any) -> None:
    (tmp_path / "a.css").write_text("body{}")
    app = App("static-names")
    app.static("/static", tmp_path)
    app.static("/uploads", tmp_path, name="uploads")
    assert app.url_for("static", filename="a.css") == "/static/a.css"
    assert app.url_for("static", name="uploads", filename="x/b.png") == "/uploads/x/b.png"
    assert app.url_for("static", __file_uri__="a.css") == "/static/a.css"
