"""`trioweb.cors`: preflights and CORS headers, end to end through the test client and a socket.

Apps are built per test; the documented example (examples/cors.py) is exercised as it is.
Network rules for the socket test: see ``tests/netutil.py``.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import trio

from examples import cors as example
from trioweb import App, Blueprint, Request
from trioweb.cors import cors
from trioweb.exceptions import NotFound
from trioweb.response import HTTPResponse, empty, json, stream, text

from .netutil import TIMEOUT, running

FRONT = "https://app.example.com"
EVIL = "https://evil.example"


def preflight(origin: str, method: str, headers: str | None = None) -> dict[str, str]:
    """The headers a browser sends before a cross-origin request that is not simple."""
    sent = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        sent["Access-Control-Request-Headers"] = headers
    return sent


def answer(r: httpx.Response) -> dict[str, str]:
    """Every response header but ``Date``, for exact comparisons."""
    return {name: value for name, value in r.headers.items() if name != "date"}


def cors_part(r: httpx.Response) -> dict[str, str]:
    """The CORS headers and ``Vary`` of a response."""
    return {
        name: value
        for name, value in r.headers.items()
        if name.startswith("access-control-") or name == "vary"
    }


def notes_app(**options: Any) -> App:
    app = App("notes")
    cors(app, options.pop("origins", [FRONT]), **options)

    @app.route("/notes", methods=["GET", "POST"])
    async def notes(request: Request) -> HTTPResponse:
        return json(["buy milk"], headers={"X-Request-Id": "r1"})

    return app


# -- preflights ---------------------------------------------------------------------------------


async def test_preflight_from_allowed_origin_gets_204_and_exactly_the_cors_headers() -> None:
    async with example.app.test_client() as client:
        r = await client.options("/notes", headers=preflight(FRONT, "POST", "Content-Type"))
    assert (r.status_code, r.content) == (204, b"")
    assert answer(r) == {
        "access-control-allow-origin": FRONT,
        "access-control-allow-credentials": "true",
        "vary": "Origin",
        "access-control-allow-methods": "POST",
        "access-control-allow-headers": "content-type",
        "access-control-max-age": "3600",
    }


async def test_preflight_from_disallowed_origin_gets_403_saying_so() -> None:
    async with example.app.test_client() as client:
        r = await client.options("/notes", headers=preflight(EVIL, "POST", "content-type"))
    assert (r.status_code, r.text) == (403, "CORS: origin not allowed\n")
    assert answer(r) == {
        "vary": "Origin",
        "content-type": "text/plain; charset=utf-8",
        "content-length": "25",
    }


async def test_preflight_for_a_method_the_path_does_not_serve_gets_403() -> None:
    async with example.app.test_client() as client:
        r = await client.options("/notes", headers=preflight(FRONT, "DELETE"))
    assert (r.status_code, r.text) == (403, "CORS: method DELETE not allowed here\n")
    assert cors_part(r) == {"vary": "Origin"}


async def test_preflight_for_a_path_no_route_serves_stays_404() -> None:
    async with example.app.test_client() as client:
        r = await client.options("/nowhere", headers=preflight(FRONT, "GET"))
    assert r.status_code == 404
    assert cors_part(r) == {}


async def test_preflight_runs_before_authentication_middleware() -> None:
    app = notes_app()

    @app.on_request
    def require_key(request: Request) -> HTTPResponse | None:
        if request.headers.get("x-api-key") != "secret":
            return text("no key\n", 401)
        return None

    async with app.test_client() as client:
        r = await client.options("/notes", headers=preflight(FRONT, "GET", "x-api-key"))
        assert r.status_code == 204
        assert r.headers["access-control-allow-headers"] == "x-api-key"
        r = await client.get("/notes", headers={"Origin": FRONT})
        assert r.status_code == 401
        assert r.headers["access-control-allow-origin"] == FRONT  # the page can read why


async def test_allow_methods_narrows_what_a_preflight_may_ask_for() -> None:
    app = notes_app(allow_methods=["get"])
    async with app.test_client() as client:
        r = await client.options("/notes", headers=preflight(FRONT, "GET"))
        assert (r.status_code, r.headers["access-control-allow-methods"]) == (204, "GET")
        r = await client.options("/notes", headers=preflight(FRONT, "POST"))
        assert (r.status_code, r.text) == (403, "CORS: method POST not allowed here\n")


async def test_allow_headers_refuses_others_but_always_allows_safelisted_ones() -> None:
    app = notes_app(allow_headers=["X-Token"])
    async with app.test_client() as client:
        r = await client.options("/notes", headers=preflight(FRONT, "POST", "content-type,x-token"))
        assert r.status_code == 204
        assert r.headers["access-control-allow-headers"] == "content-type, x-token"
        r = await client.options("/notes", headers=preflight(FRONT, "POST", "x-token, x-other"))
        assert (r.status_code, r.text) == (403, "CORS: header x-other not allowed\n")


async def test_max_age_none_sends_no_max_age() -> None:
    app = notes_app(max_age=None)
    async with app.test_client() as client:
        r = await client.options("/notes", headers=preflight(FRONT, "GET"))
    assert r.status_code == 204
    assert "access-control-max-age" not in r.headers


async def test_default_max_age_is_ten_minutes() -> None:
    app = notes_app()
    async with app.test_client() as client:
        r = await client.options("/notes", headers=preflight(FRONT, "GET"))
    assert r.headers["access-control-max-age"] == "600"


# -- actual requests ----------------------------------------------------------------------------


async def test_allowed_origin_gets_origin_credentials_and_exposed_headers() -> None:
    async with example.app.test_client() as client:
        r = await client.get("/notes", headers={"Origin": FRONT})
    assert r.status_code == 200
    assert cors_part(r) == {
        "vary": "Origin",
        "access-control-allow-origin": FRONT,
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "X-Request-Id",
    }


@pytest.mark.parametrize("origin", [None, EVIL])
async def test_absent_or_disallowed_origin_gets_no_cors_headers_only_vary(
    origin: str | None,
) -> None:
    async with example.app.test_client() as client:
        r = await client.get("/notes", headers={"Origin": origin} if origin else {})
    assert r.status_code == 200
    assert cors_part(r) == {"vary": "Origin"}  # caches must keep the answers apart


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://feature-1.preview.example.com", True),
        ("https://a.preview.example.com.evil.example", False),  # fullmatch, not search
        ("http://a.preview.example.com", False),
        ("https://preview.example.com", False),
    ],
)
async def test_regex_origins_must_match_whole(origin: str, allowed: bool) -> None:
    async with example.app.test_client() as client:
        r = await client.get("/notes", headers={"Origin": origin})
        p = await client.options("/notes", headers=preflight(origin, "POST"))
    assert r.headers.get("access-control-allow-origin") == (origin if allowed else None)
    assert p.status_code == (204 if allowed else 403)


async def test_exact_origins_compare_without_case_or_default_port() -> None:
    app = notes_app(origins=["HTTPS://App.Example.com:443", "http://localhost:5173"])
    async with app.test_client() as client:
        r = await client.get("/notes", headers={"Origin": FRONT})
        assert r.headers["access-control-allow-origin"] == FRONT
        r = await client.get("/notes", headers={"Origin": "http://localhost:5173"})
        assert r.headers["access-control-allow-origin"] == "http://localhost:5173"
        r = await client.get("/notes", headers={"Origin": "http://localhost:5174"})
        assert "access-control-allow-origin" not in r.headers


async def test_star_answers_star_on_every_response_without_vary() -> None:
    app = notes_app(origins="*", expose_headers=["X-Request-Id"])
    async with app.test_client() as client:
        r = await client.get("/notes", headers={"Origin": EVIL})
        assert cors_part(r) == {
            "access-control-allow-origin": "*",
            "access-control-expose-headers": "X-Request-Id",
        }
        # The same answer without Origin, so a cache may hand it to anyone.
        r = await client.get("/notes")
        assert r.headers["access-control-allow-origin"] == "*"
        assert "vary" not in r.headers
        r = await client.options("/notes", headers=preflight(EVIL, "POST", "x-a"))
    assert r.status_code == 204
    assert answer(r) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "POST",
        "access-control-allow-headers": "x-a",
        "access-control-max-age": "600",
    }


async def test_null_origin_is_allowed_only_when_listed() -> None:
    app = notes_app(origins=["null"])
    async with app.test_client() as client:
        r = await client.get("/notes", headers={"Origin": "null"})
    assert r.headers["access-control-allow-origin"] == "null"


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ("Accept-Encoding", "Accept-Encoding, Origin"),
        ("accept-encoding, origin", "accept-encoding, origin"),
        ("*", "*"),
    ],
)
async def test_vary_is_merged_never_duplicated(existing: str, expected: str) -> None:
    app = App("vary")
    cors(app, [FRONT])

    @app.get("/")
    async def index(request: Request) -> HTTPResponse:
        return text("hi", headers={"Vary": existing})

    async with app.test_client() as client:
        r = await client.get("/", headers={"Origin": FRONT})
    assert r.headers.get_list("vary") == [expected]
    assert r.headers["access-control-allow-origin"] == FRONT


async def test_a_response_with_its_own_allow_origin_keeps_it() -> None:
    app = App("own")
    cors(app, [FRONT])

    @app.get("/")
    async def index(request: Request) -> HTTPResponse:
        return text("hi", headers={"Access-Control-Allow-Origin": "https://other.example"})

    async with app.test_client() as client:
        r = await client.get("/", headers={"Origin": FRONT})
    assert cors_part(r) == {"access-control-allow-origin": "https://other.example"}


async def test_error_responses_carry_the_headers() -> None:
    app = App("errors")
    cors(app, [FRONT], allow_credentials=True)

    @app.get("/boom")
    async def boom(request: Request) -> HTTPResponse:
        raise RuntimeError("boom")

    @app.get("/missing")
    async def missing(request: Request) -> HTTPResponse:
        raise NotFound("no such note")

    expected = {
        "vary": "Origin",
        "access-control-allow-origin": FRONT,
        "access-control-allow-credentials": "true",
    }
    async with app.test_client() as client:
        for method, path, status in [
            ("GET", "/boom", 500),
            ("GET", "/missing", 404),
            ("GET", "/no/route", 404),
            ("DELETE", "/boom", 405),
        ]:
            r = await client.request(method, path, headers={"Origin": FRONT})
            assert (r.status_code, cors_part(r)) == (status, expected), (method, path)


async def test_streaming_responses_carry_the_headers() -> None:
    app = App("streaming")
    cors(app, [FRONT])

    @app.get("/csv")
    async def csv(request: Request) -> Any:
        async def rows(response: Any) -> None:
            await response.write("a,b\n")
            await response.write("1,2\n")

        return stream(rows, content_type="text/csv")

    async with app.test_client() as client:
        r = await client.get("/csv", headers={"Origin": FRONT})
    assert (r.status_code, r.text) == (200, "a,b\n1,2\n")
    assert r.headers["transfer-encoding"] == "chunked"
    assert cors_part(r) == {"vary": "Origin", "access-control-allow-origin": FRONT}


async def test_head_requests_and_head_preflights() -> None:
    async with example.app.test_client() as client:
        r = await client.head("/notes", headers={"Origin": FRONT})
        assert (r.status_code, r.content) == (200, b"")
        assert r.headers["access-control-allow-origin"] == FRONT
        r = await client.options("/notes", headers=preflight(FRONT, "HEAD"))
        assert r.status_code == 204
        assert r.headers["access-control-allow-methods"] == "HEAD"


async def test_a_route_with_its_own_options_handler() -> None:
    app = App("options")
    cors(app, [FRONT])
    seen: list[str] = []

    @app.route("/items", methods=["GET", "OPTIONS"])
    async def items(request: Request) -> HTTPResponse:
        seen.append(request.method)
        if request.method == "OPTIONS":
            return empty(headers={"Allow": "GET, OPTIONS"})
        return text("items")

    async with app.test_client() as client:
        # A preflight is answered by CORS; the handler does not see it.
        r = await client.options("/items", headers=preflight(FRONT, "GET"))
        assert (r.status_code, r.headers["access-control-allow-methods"]) == (204, "GET")
        assert "allow" not in r.headers
        r = await client.options("/items", headers=preflight(FRONT, "PUT"))
        assert r.status_code == 403
        assert seen == []
        # A plain OPTIONS request reaches it, and its answer gets the CORS headers.
        r = await client.options("/items", headers={"Origin": FRONT})
        assert (r.status_code, r.headers["allow"]) == (204, "GET, OPTIONS")
        assert r.headers["access-control-allow-origin"] == FRONT
    assert seen == ["OPTIONS"]


async def test_preflights_are_routed_as_requests_are_by_host_and_root_path() -> None:
    app = App("hosts")
    app.config.ROOT_PATH = "/api"
    cors(app, [FRONT])

    @app.post("/items", host="api.example.com")
    async def items(request: Request) -> HTTPResponse:
        return text("made", status=201)

    async with app.test_client(base_url="http://api.example.com") as client:
        r = await client.options("/api/items", headers=preflight(FRONT, "POST"))
        assert r.status_code == 204
        r = await client.options(
            "/api/items", headers={**preflight(FRONT, "POST"), "Host": "other.example.com"}
        )
        assert r.status_code == 404


async def test_without_cors_a_preflight_gets_405_as_before() -> None:
    app = App("plain")

    @app.get("/")
    async def index(request: Request) -> HTTPResponse:
        return text("hi")

    async with app.test_client() as client:
        r = await client.options("/", headers=preflight(FRONT, "GET"))
    assert r.status_code == 405


# -- blueprints ---------------------------------------------------------------------------------


def blueprint_app(*, before: bool) -> App:
    """An app without CORS of its own and a blueprint with it, set up before or after
    the blueprint is registered."""
    app = App("bp")
    api = Blueprint("api", url_prefix="/api")

    @api.get("/items")
    async def items(request: Request) -> HTTPResponse:
        return text("items")

    @app.get("/private")
    async def private(request: Request) -> HTTPResponse:
        return text("private")

    if before:
        cors(api, [FRONT])
        app.blueprint(api)
    else:
        app.blueprint(api)
        cors(api, [FRONT])
    return app


@pytest.mark.parametrize("before", [True, False])
async def test_blueprint_cors_covers_its_routes_only(before: bool) -> None:
    app = blueprint_app(before=before)
    async with app.test_client() as client:
        r = await client.options("/api/items", headers=preflight(FRONT, "GET"))
        assert (r.status_code, r.headers["access-control-allow-origin"]) == (204, FRONT)
        r = await client.options("/api/items", headers=preflight(EVIL, "GET"))
        assert r.status_code == 403
        r = await client.get("/api/items", headers={"Origin": FRONT})
        assert cors_part(r) == {"vary": "Origin", "access-control-allow-origin": FRONT}
        # The app's own routes, and paths no route serves, are not the blueprint's.
        r = await client.options("/private", headers=preflight(FRONT, "GET"))
        assert r.status_code == 405
        r = await client.get("/private", headers={"Origin": FRONT})
        assert cors_part(r) == {}
        r = await client.get("/api/nothing", headers={"Origin": FRONT})
        assert (r.status_code, cors_part(r)) == (404, {})


async def test_blueprint_settings_replace_the_apps_for_its_routes() -> None:
    async with example.app.test_client() as client:
        r = await client.get("/public/status", headers={"Origin": EVIL})
        assert cors_part(r) == {"access-control-allow-origin": "*"}
        r = await client.options("/public/status", headers=preflight(EVIL, "GET"))
        assert (r.status_code, r.headers["access-control-allow-origin"]) == (204, "*")
        # The app's settings still hold for its own routes.
        r = await client.options("/notes", headers=preflight(EVIL, "GET"))
        assert r.status_code == 403


async def test_blueprint_group() -> None:
    app = App("group")
    one, two = Blueprint("one", url_prefix="/one"), Blueprint("two", url_prefix="/two")

    @one.get("/")
    async def first(request: Request) -> HTTPResponse:
        return text("1")

    @two.get("/")
    async def second(request: Request) -> HTTPResponse:
        return text("2")

    group = Blueprint.group(one, two, url_prefix="/g")
    cors(group, "*")
    app.blueprint(group)
    async with app.test_client() as client:
        for path in ("/g/one/", "/g/two/"):
            r = await client.options(path, headers=preflight(EVIL, "GET"))
            assert (r.status_code, r.headers["access-control-allow-origin"]) == (204, "*")


# -- through a real socket ----------------------------------------------------------------------


async def test_browser_style_exchange_over_a_socket() -> None:
    async with (
        running(example.app) as server,
        httpx.AsyncClient(base_url=server.url) as client,
    ):
        with trio.fail_after(TIMEOUT):
            r = await client.options("/notes", headers=preflight(FRONT, "POST", "content-type"))
            assert (r.status_code, cors_part(r)) == (
                204,
                {
                    "access-control-allow-origin": FRONT,
                    "access-control-allow-credentials": "true",
                    "vary": "Origin",
                    "access-control-allow-methods": "POST",
                    "access-control-allow-headers": "content-type",
                    "access-control-max-age": "3600",
                },
            )
            r = await client.options("/notes", headers=preflight(EVIL, "POST"))
            assert (r.status_code, r.text, cors_part(r)) == (
                403,
                "CORS: origin not allowed\n",
                {"vary": "Origin"},
            )
            r = await client.post("/notes", json={"text": "call mum"}, headers={"Origin": FRONT})
            assert r.status_code == 201
            assert "call mum" in r.json()
            assert r.headers["access-control-allow-origin"] == FRONT
            assert r.headers["access-control-expose-headers"] == "X-Request-Id"


# -- registration errors ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origins", "options", "error", "message"),
    [
        (
            "*",
            {"allow_credentials": True},
            ValueError,
            "allow_credentials=True cannot go with origins='*'",
        ),
        ([FRONT + "/"], {}, ValueError, "'https://app.example.com/' is not an origin"),
        (["https://app.example.com/api"], {}, ValueError, "is not an origin"),
        (["https://*.example.com"], {}, ValueError, "for a pattern pass re.compile"),
        (["app.example.com"], {}, ValueError, "write scheme://host[:port]"),
        ([], {}, ValueError, "origins is empty"),
        (["*", FRONT], {}, ValueError, "'*' already allows every origin"),
        ([re.compile(rb"https://x")], {}, TypeError, "must be str patterns"),
        ([42], {}, TypeError, "not 42"),
        ([FRONT], {"allow_methods": "GET"}, TypeError, "not the string 'GET'"),
        ([FRONT], {"allow_methods": []}, ValueError, "allow_methods is empty"),
        ([FRONT], {"allow_methods": ["GE T"]}, ValueError, "invalid names: 'GE T'"),
        ([FRONT], {"allow_headers": ["x:y"]}, ValueError, "invalid names: 'x:y'"),
        ([FRONT], {"max_age": -1}, ValueError, "max_age must be seconds"),
        ([FRONT], {"max_age": True}, ValueError, "max_age must be seconds"),
        ([FRONT], {"allow_credentials": 1}, TypeError, "allow_credentials must be True"),
        (
            [FRONT],
            {"allow_credentials": True, "expose_headers": "*"},
            ValueError,
            "expose_headers='*' cannot go with allow_credentials=True",
        ),
    ],
)
def test_bad_settings_are_refused_at_registration(
    origins: Any, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    app = App("bad")
    with pytest.raises(error, match=re.escape(message)):
        cors(app, origins, **options)
    # Nothing was installed: a correct call still works.
    cors(app, [FRONT])


def test_cors_twice_on_one_app_or_blueprint_is_refused() -> None:
    app = App("twice")
    cors(app, "*")
    with pytest.raises(ValueError, match=re.escape("cors() is already set up on App('twice')")):
        cors(app, [FRONT])
    bp = Blueprint("bp")
    cors(bp, "*")
    with pytest.raises(ValueError, match="already set up on blueprint 'bp'"):
        cors(Blueprint.group(Blueprint("other"), bp), "*")


def test_cors_needs_an_app_or_blueprint() -> None:
    with pytest.raises(TypeError, match="takes an App, a Blueprint or a BlueprintGroup"):
        cors(object(), "*")  # type: ignore[arg-type]
