"""The router's segment tree against the linear matcher it replaced, on random route tables.

`reference` is the router as it was before the tree: static routes by exact key first, then
every patterned route's own regex in registration order, the first route that allows the method
winning. Hypothesis draws route tables (static, typed, ``path``, regex, mixed segments, hosts,
strict slashes, versions, methods) and requests (built to match a route or not, percent-escaped,
with or without a trailing slash, any method and host); `Router.resolve` must give the same
route and params, or the same 404, or the same 405 with the same ``Allow``.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trioweb import App, Request
from trioweb import router as router_module
from trioweb.exceptions import MethodNotAllowed, NotFound, RouteExists
from trioweb.response import HTTPResponse, json
from trioweb.router import Route, Router, _canonical, _request_host

METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE")
HOSTS = (None, "a.test", ("a.test", "b.test"))
REQUEST_HOSTS = (None, "a.test", "A.TEST:8080", "b.test", "c.test")


async def handler(*args: Any, **kwargs: Any) -> None:
    return None


# -- the reference: today's linear algorithm ------------------------------------------------


def reference(routes: list[Route], method: str, path: str, host: str | None) -> tuple[Any, ...]:
    """Resolve by trying every route in turn, as the router did before its tree."""
    exact = _canonical(path)
    stripped = exact[:-1] if len(exact) > 1 and exact.endswith("/") else exact
    hostname = _request_host(host)
    candidates: list[tuple[Route, dict[str, Any]]] = []
    for route in routes:  # static routes first, in registration order
        if route._regex is None and exact in route._static_keys:
            candidates.append((route, {}))
    for route in routes:  # then patterned routes, in registration order
        if route._regex is not None:
            params = route._match(exact, stripped)
            if params is not None:
                candidates.append((route, params))
    allowed: set[str] = set()
    implicit_head: tuple[Any, ...] | None = None
    for route, params in candidates:
        if route._hosts is not None and hostname not in route._hosts:
            continue
        if method in route.methods:
            return ("match", route.name, params)
        allowed |= route.methods
        if implicit_head is None and method == "HEAD" and "GET" in route.methods:
            implicit_head = ("match", route.name, params)
    if implicit_head is not None:
        return implicit_head
    if not allowed:
        return ("404",)
    if "GET" in allowed:
        allowed.add("HEAD")
    return ("405", tuple(sorted(allowed)), ", ".join(sorted(allowed)))


def outcome(router: Router, method: str, path: str, host: str | None) -> tuple[Any, ...]:
    try:
        match = router.resolve(method, path, host)
    except NotFound:
        return ("404",)
    except MethodNotAllowed as exc:
        return ("405", exc.allowed, exc.headers["Allow"])
    return ("match", match.route.name, match.params)


# -- route tables ---------------------------------------------------------------------------

STATIC_SEGMENTS = ("a", "b", "res1", "x y", "100%", "café", "v1", "file.txt")
# Parameter kinds with values that fit them (and others are drawn too). The tree follows the
# first ones segment by segment; the last ones it leaves to the regex list ('.+' and 'a.*' may
# match '/', '^' and a lookahead read past the segment).
FITTING = {
    "": ("hello", "a%2Fb", "b"),
    ":str": ("x y", "a"),
    ":int": ("42", "-7", "0"),
    ":float": ("3.25", "-7"),
    ":uuid": ("1b4e28ba-2fa1-11d2-883f-0016d3cca427",),
    ":slug": ("my-post", "a"),
    ":alpha": ("AbC", "b"),
    ":ymd": ("2024-02-29", "2023-02-29"),
    ":[a-z]{2,4}": ("abc", "en"),
    ":en|fr": ("en", "fr"),
    ":[a-z]*": ("", "ab"),
    r":\d+": ("٤٢", "12"),  # digits of another script: \d takes them, int does not
    ":(x)?y": ("xy", "y"),
    r":[\w.-]+": ("a.b", "café"),
    ":[^/.]+": ("ab", "a.b"),
}
REGEX_ONLY = {
    ":.+": ("a/b", "b"),
    ":a.*": ("ab/c", "a"),
    ":[^a]+": ("b/c", "x"),
    r":\S+": ("b/c", "b"),
    ":^a": ("a",),
    ":a(?=/b)": ("a",),
}
KINDS = (*FITTING, *FITTING, *REGEX_ONLY)  # the tree's kinds twice as often
FITS = {**FITTING, **REGEX_ONLY, ":path": ("a/b/c", "x/", "a//b", "c", "")}


@st.composite
def segment_patterns(draw: st.DrawFn, name: str) -> str:
    kind = draw(st.sampled_from(("static", "static", "param", "param", "param", "mixed", "empty")))
    if kind == "static":
        # Mostly "a" and "b", so that patterns overlap and precedence matters.
        common = draw(st.integers(0, 3)) < 3
        return draw(st.sampled_from(("a", "b") if common else STATIC_SEGMENTS))
    if kind == "empty":
        return ""
    common = draw(st.integers(0, 2)) < 2
    param = f"<{name}{draw(st.sampled_from(('', ':int', ':alpha') if common else KINDS))}>"
    if kind == "param":
        return param
    shape = draw(st.sampled_from(("file-{}.txt", "v{}", "{}.<second:alpha>", "{}-a")))
    return shape.format(param).replace("second", f"{name}_2")


@st.composite
def uri_segments(draw: st.DrawFn) -> list[str]:
    """A pattern's segments: ``"/" + "/".join(segments)`` is the route's URI."""
    count = draw(st.integers(1, 3))
    segments = [draw(segment_patterns(f"p{i}")) for i in range(count)]
    if draw(st.integers(0, 4)) == 4:
        # A `path` parameter: usually last, sometimes before a static segment.
        position = count if draw(st.integers(0, 3)) else draw(st.integers(0, count - 1))
        segments.insert(position, "<rest:path>")
    if draw(st.integers(0, 3)) == 3:
        segments.append("")  # a trailing slash
    if draw(st.integers(0, 5)) == 5:
        segments.insert(0, f"v{draw(st.integers(1, 2))}")  # a versioned route
    return segments


@st.composite
def route_tables(draw: st.DrawFn) -> list[Route]:
    routes: list[Route] = []
    shapes: list[list[str]] = []
    for index in range(draw(st.integers(1, 8))):
        segments = draw(uri_segments())
        if shapes and draw(st.booleans()):
            # A variant of an earlier pattern: one segment replaced, as in /a/<x> and /<y>/b.
            segments = list(draw(st.sampled_from(shapes)))
            position = draw(st.integers(0, len(segments) - 1))
            segments[position] = draw(segment_patterns(f"q{index}"))
        shapes.append(segments)
        methods = draw(st.sets(st.sampled_from(METHODS), min_size=1, max_size=3))
        routes.append(
            Route(
                handler,
                "/" + "/".join(segments),
                frozenset(methods),
                f"r{index}",
                strict_slashes=draw(st.booleans()),
                host=draw(st.sampled_from(HOSTS) if draw(st.integers(0, 3)) == 3 else st.none()),
            )
        )
    return routes


# Patterned routes that no drawn path reaches ("z" is in no segment or value drawn). A router
# with few patterned routes tries their regexes in turn when it can; registered first, these
# make it walk its tree every time.
FILLERS = [
    Route(handler, f"/zz{i}/<z{i}:int>", frozenset({"GET"}), f"filler{i}")
    for i in range(router_module._SCAN_LIMIT + 1)
]


def build(routes: list[Route], padded: bool = False) -> tuple[Router, list[Route]]:
    """A router of the routes that register, and those routes, in order; ``padded`` puts
    `FILLERS` in front, so that the router walks its tree whatever it holds."""
    router = Router()
    for filler in FILLERS if padded else ():
        router.add(filler)
    kept = []
    for route in routes:
        try:
            router.add(route)
        except RouteExists:
            continue
        kept.append(route)
    return router, kept


# -- requests -------------------------------------------------------------------------------

VALUES = (
    "hello",
    "42",
    "-7",
    "٤٢",  # digits of another script: \d takes them, int does not
    "3.25",
    "1.",
    "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "my-post",
    "AbC",
    "2024-02-29",
    "2023-02-29",
    "en",
    "y",
    "xy",
    "a/b",
    "a//b",
    "b",
    "",
    "file.txt",
    "x y",
    "100%",
    "café",
)


def escape(text: str, which: list[bool], slash: bool = True) -> str:
    """Percent-encode the characters of ``text`` picked by ``which``, and every unsafe one;
    a '/' only when ``slash``."""
    out = []
    for char, pick in zip(text, which + [False] * len(text), strict=False):
        if (pick and (slash or char != "/")) or char in " %" or not char.isascii():
            out.append("".join(f"%{byte:02X}" for byte in char.encode()))
        else:
            out.append(char)
    return "".join(out)


@st.composite
def paths_for(draw: st.DrawFn, routes: list[Route]) -> str:
    """A path: one built from a route's pattern (with values that may or may not fit), or
    random segments."""
    if routes and draw(st.integers(0, 5)) < 5:
        route = draw(st.sampled_from(routes))
        pieces = []
        for part in route._parts:
            if isinstance(part, str):
                picks = draw(st.lists(st.integers(0, 9).map(lambda n: n == 0)))
                pieces.append(escape(part, picks, slash=False))
            else:
                fitting = st.sampled_from(FITS[f":{part.kind}"])
                others = st.sampled_from(VALUES) | st.text("abxy019-./%", max_size=5)
                value = draw(others if draw(st.integers(0, 5)) == 5 else fitting)
                picks = draw(st.lists(st.integers(0, 5).map(lambda n: n == 0)))
                value = escape(value, picks)
                if part.kind != "path" and draw(st.integers(0, 2)) < 2:
                    value = value.replace("/", "%2F")  # usually: a '/' would end the segment
                pieces.append(value)
        path = "".join(pieces)
    else:
        segments = draw(st.lists(st.sampled_from((*STATIC_SEGMENTS, *VALUES)), max_size=4))
        path = "/" + "/".join(escape(s, []) for s in segments)
    ending = draw(st.integers(0, 5))
    if ending == 3:
        path += "/"
    elif ending == 4 and len(path) > 1 and path.endswith("/"):
        path = path[:-1]
    elif ending == 5:
        path = path.replace("%2F", "%2f").replace("a", "%61")
    return path


ODD_PATHS = ("", "*", "a/b", "/", "//", "///", "/%", "/%zz", "/%2F", "/a%2", "/%25")


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_the_tree_resolves_as_the_linear_matcher_did(data: st.DataObject) -> None:
    table = data.draw(route_tables(), label="routes")
    router, routes = build(table)
    padded, _ = build(table, padded=True)
    for _ in range(10):
        odd = data.draw(st.integers(0, 7)) == 7
        path = data.draw(st.sampled_from(ODD_PATHS) if odd else paths_for(routes), label="path")
        method = data.draw(st.sampled_from((*METHODS, "PATCH")), label="method")
        host = data.draw(st.sampled_from(REQUEST_HOSTS), label="host")
        expected = reference(routes, method, path, host)
        assert outcome(router, method, path, host) == expected
        assert outcome(padded, method, path, host) == expected


# -- cases the property found worth pinning -------------------------------------------------


def make(uri: str, *methods: str, name: str, **kwargs: Any) -> Route:
    return Route(handler, uri, frozenset(methods or ("GET",)), name, **kwargs)


def names(router: Router, path: str, method: str = "GET", host: str | None = None) -> str:
    return router.resolve(method, path, host).route.name


@pytest.fixture(params=[False, True], ids=["few-routes", "tree"])
def padded(request: pytest.FixtureRequest) -> bool:
    """Each case twice: as a small app (regexes tried in turn) and through the tree."""
    return bool(request.param)


def test_the_first_registered_of_two_crossing_patterns_wins(padded: bool) -> None:
    # Both fit /a/b; a tree preferring literal segments would pick "second".
    router, _ = build([make("/<x>/b", name="first"), make("/a/<y>", name="second")], padded)
    assert names(router, "/a/b") == "first"
    router, _ = build([make("/a/<y>", name="first"), make("/<x>/b", name="second")], padded)
    assert names(router, "/a/b") == "first"


def test_a_regex_that_spans_slashes_keeps_its_place_in_registration_order(padded: bool) -> None:
    routes = [
        make("/f/<p:a.*>", name="spanning"),
        make("/f/<x>/<y>", name="segments"),
        make("/f/<rest:path>", name="rest"),
    ]
    router, _ = build(routes, padded)
    assert names(router, "/f/ab/c") == "spanning"
    assert names(router, "/f/b/c") == "segments"
    assert names(router, "/f/b/c/d") == "rest"


@pytest.mark.parametrize(
    ("regex", "value"),
    [
        (".+", "b/c"),
        ("a.*", "ab/c"),
        ("[^a]+", "b/c"),
        (r"\S+", "b/c"),
        (r"\D+", "b/c"),
        (r"\W+", "-/-"),
        ("[!-0]+", "!/0"),
        ("(?:b|/)+", "b/b"),
        ("(?s:.)+", "b/c"),
    ],
)
def test_a_regex_that_may_match_a_slash_spans_segments(
    regex: str, value: str, padded: bool
) -> None:
    routes = [make(f"/f/<p:{regex}>", name="regex"), make("/f/<x>/<y>", name="segments")]
    router, _ = build(routes, padded)
    assert router.resolve("GET", f"/f/{value}").params == {"p": value}
    assert outcome(router, "GET", f"/f/{value}", None) == reference(
        routes, "GET", f"/f/{value}", None
    )


def test_405_and_implicit_head_gather_tree_and_regex_routes(padded: bool) -> None:
    routes = [
        make("/i/<n:int>", "POST", name="post"),
        make("/i/<s:.+>", "GET", name="get"),
        make("/i/<v>", "HEAD", name="head"),
    ]
    router, _ = build(routes, padded)
    assert names(router, "/i/7", "HEAD") == "head"  # an explicit HEAD beats GET's implicit one
    with pytest.raises(MethodNotAllowed) as info:
        router.resolve("PUT", "/i/7")
    assert info.value.headers["Allow"] == "GET, HEAD, POST"


def test_common_patterns_go_through_the_tree_not_the_regex_list() -> None:
    uris = [
        "/user/<id:int>",
        "/v1/post/<slug:slug>/",
        "/day/<when:ymd>",
        "/files/<rest:path>",
        "/item/<uid:uuid>/<part>",
        "/lang/<code:[a-z]{2}>",
        "/file-<name>.txt",
        "/price/<p:float>",
    ]
    router, _ = build([make(uri, name=f"r{i}") for i, uri in enumerate(uris)])
    assert router._regex_only == []


# -- end to end -----------------------------------------------------------------------------


def echo(name: str) -> Any:
    async def respond(request: Request, **params: Any) -> HTTPResponse:
        return json({"route": name, **{k: str(v) for k, v in params.items()}})

    respond.__name__ = name
    return respond


async def test_an_app_with_a_thousand_routes_finds_each_one() -> None:
    app = App("many")
    for i in range(1000):
        app.add_route(echo(f"item{i}"), f"/res{i}/<id:int>/items", methods=["GET", "PUT"])
    app.add_route(echo("api"), "/res7/<id:int>/items", host="api.test", version=2)
    app.add_route(echo("catchall"), "/res7/<rest:path>", methods=["DELETE"])
    async with app.test_client() as client:
        assert (await client.get("/res999/5/items")).json() == {"route": "item999", "id": "5"}
        assert (await client.get("/res0/-1/items/")).json() == {"route": "item0", "id": "-1"}
        response = await client.get("/v2/res7/3/items", headers={"Host": "api.test"})
        assert response.json() == {"route": "api", "id": "3"}
        assert (await client.get("/v2/res7/3/items")).status_code == 404
        response = await client.delete("/res7/3/items")
        assert response.json() == {"route": "catchall", "rest": "3/items"}
        response = await client.post("/res7/3/items")
        assert response.status_code == 405
        assert response.headers["Allow"] == "DELETE, GET, HEAD, PUT"
        assert (await client.get("/res1000/1/items")).status_code == 404
        assert (await client.get("/res5/x/items")).status_code == 404
