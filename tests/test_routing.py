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
        assert app.url_for("api") == "/"
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
    assert app.url_for("users.list") == "/v2/users"


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
