from __future__ import annotations

import itertools
import uuid
from datetime import date
from typing import Any

import pytest

from trioweb.exceptions import MethodNotAllowed, NotFound, RouteExists, URLBuildError
from trioweb.router import Match, Route, Router

_names = itertools.count()


async def handler(*args: Any, **kwargs: Any) -> None:
    return None


def make(uri: str, *methods: str, name: str | None = None, **kwargs: Any) -> Route:
    return Route(handler, uri, frozenset(methods or ("GET",)), name or f"r{next(_names)}", **kwargs)


def router(*routes: Route) -> Router:
    r = Router()
    for route in routes:
        r.add(route)
    return r


def resolve(r: Router, path: str, method: str = "GET", host: str | None = None) -> Match:
    return r.resolve(method, path, host)


# --- parameter types ------------------------------------------------------------------------

UID = "1b4e28ba-2fa1-11d2-883f-0016d3cca427"


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        ("/x/<v>", "/x/hello", "hello"),
        ("/x/<v:str>", "/x/hello", "hello"),
        ("/x/<v:int>", "/x/-42", -42),
        ("/x/<v:float>", "/x/3.25", 3.25),
        ("/x/<v:float>", "/x/-7", -7.0),
        ("/x/<v:uuid>", f"/x/{UID}", uuid.UUID(UID)),
        ("/x/<v:uuid>", f"/x/{UID.upper()}", uuid.UUID(UID)),
        ("/x/<v:path>", "/x/a/b/c.txt", "a/b/c.txt"),
        ("/x/<v:slug>", "/x/my-first-post", "my-first-post"),
        ("/x/<v:alpha>", "/x/AbC", "AbC"),
        ("/x/<v:ymd>", "/x/2024-02-29", date(2024, 2, 29)),
        ("/x/<v:[a-z]{2,4}>", "/x/abc", "abc"),
        ("/x/<v:a|b>", "/x/b", "b"),
    ],
)
def test_each_type_converts(pattern: str, path: str, expected: object) -> None:
    match = resolve(router(make(pattern)), path)
    assert match.params == {"v": expected}
    assert type(match.params["v"]) is type(expected)


@pytest.mark.parametrize(
    ("pattern", "path"),
    [
        ("/x/<v>", "/x/a/b"),
        ("/x/<v:int>", "/x/12a"),
        ("/x/<v:int>", "/x/1.5"),
        ("/x/<v:float>", "/x/1."),
        ("/x/<v:uuid>", "/x/1b4e28ba-2fa1-11d2-883f"),
        ("/x/<v:slug>", "/x/Not-A-Slug"),
        ("/x/<v:slug>", "/x/double--dash"),
        ("/x/<v:alpha>", "/x/abc1"),
        ("/x/<v:ymd>", "/x/2024-2-01"),
        ("/x/<v:ymd>", "/x/2024-02-30"),
        ("/x/<v:[a-z]{2,4}>", "/x/abcde"),
        ("/x/<v:path>", "/x/"),
    ],
)
def test_value_that_does_not_fit_its_type_is_not_found(pattern: str, path: str) -> None:
    with pytest.raises(NotFound):
        resolve(router(make(pattern)), path)


def test_impossible_date_falls_through_to_the_next_route() -> None:
    r = router(make("/d/<day:ymd>", name="date"), make("/d/<raw>", name="raw"))
    match = resolve(r, "/d/2023-02-29")
    assert (match.route.name, match.params) == ("raw", {"raw": "2023-02-29"})


def test_several_params_and_static_text_inside_a_segment() -> None:
    r = router(make("/files/<name>.<ext:alpha>/<n:int>"))
    assert resolve(r, "/files/a.b.txt/3").params == {"name": "a.b", "ext": "txt", "n": 3}


def test_path_param_spans_segments_between_static_parts() -> None:
    r = router(make("/static/<rest:path>/raw"))
    assert resolve(r, "/static/css/site/main.css/raw").params == {"rest": "css/site/main.css"}


# --- percent-encoding -----------------------------------------------------------------------


def test_captured_values_are_percent_decoded() -> None:
    r = router(make("/user/<name>"))
    assert resolve(r, "/user/a%20b").params == {"name": "a b"}
    assert resolve(r, "/user/caf%C3%A9").params == {"name": "café"}
    assert resolve(r, "/user/100%25").params == {"name": "100%"}


def test_encoded_slash_stays_inside_one_segment() -> None:
    r = router(make("/user/<name>"))
    assert resolve(r, "/user/a%2Fb").params == {"name": "a/b"}
    assert resolve(r, "/user/a%2fb").params == {"name": "a/b"}


def test_encoded_unreserved_characters_match_typed_params_and_static_routes() -> None:
    r = router(make("/n/<v:alpha>"), make("/a b/c", name="space"))
    assert resolve(r, "/n/%41bc").params == {"v": "Abc"}
    assert resolve(r, "/a%20b/%63").route.name == "space"


def test_values_are_decoded_exactly_once() -> None:
    r = router(make("/user/<name>"))
    assert resolve(r, "/user/%2541").params == {"name": "%41"}


# --- slashes --------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", ["/a", "/a/"])
def test_lenient_slashes_match_both_forms_of_static_route(uri: str) -> None:
    r = router(make(uri))
    assert resolve(r, "/a").route is r.routes[0]
    assert resolve(r, "/a/").route is r.routes[0]


@pytest.mark.parametrize("uri", ["/a/<x>", "/a/<x>/"])
def test_lenient_slashes_match_both_forms_of_pattern_route(uri: str) -> None:
    r = router(make(uri))
    assert resolve(r, "/a/b").params == {"x": "b"}
    assert resolve(r, "/a/b/").params == {"x": "b"}


def test_lenient_path_param_drops_the_trailing_slash() -> None:
    r = router(make("/f/<p:path>"))
    assert resolve(r, "/f/a/b/").params == {"p": "a/b"}


@pytest.mark.parametrize(
    ("uri", "ok", "bad"),
    [
        ("/a", "/a", "/a/"),
        ("/a/", "/a/", "/a"),
        ("/a/<x>", "/a/b", "/a/b/"),
        ("/a/<x>/", "/a/b/", "/a/b"),
    ],
)
def test_strict_slashes_match_only_the_registered_form(uri: str, ok: str, bad: str) -> None:
    r = router(make(uri, strict_slashes=True))
    assert resolve(r, ok).route is r.routes[0]
    with pytest.raises(NotFound):
        resolve(r, bad)


def test_strict_pattern_route_keeps_trailing_slash_in_path_param() -> None:
    r = router(make("/f/<p:path>", strict_slashes=True))
    assert resolve(r, "/f/a/b/").params == {"p": "a/b/"}


def test_root_matches_only_root() -> None:
    r = router(make("/"))
    assert resolve(r, "/").route is r.routes[0]
    with pytest.raises(NotFound):
        resolve(r, "//")


def test_strict_and_lenient_routes_can_split_a_and_a_slash() -> None:
    r = router(make("/a/", strict_slashes=True, name="slash"), make("/a", name="plain"))
    assert resolve(r, "/a/").route.name == "slash"
    assert resolve(r, "/a").route.name == "plain"


# --- methods --------------------------------------------------------------------------------


def test_405_lists_the_union_of_methods_of_all_matching_routes() -> None:
    r = router(make("/item/<id:int>", "GET"), make("/item/<slug>", "PUT", "DELETE"))
    with pytest.raises(MethodNotAllowed) as info:
        resolve(r, "/item/7", "POST")
    assert info.value.allowed == ("DELETE", "GET", "HEAD", "PUT")
    assert info.value.headers["Allow"] == "DELETE, GET, HEAD, PUT"


def test_405_ignores_routes_whose_pattern_did_not_match() -> None:
    r = router(make("/item/<id:int>", "POST"), make("/item/<slug:alpha>", "PUT"))
    with pytest.raises(MethodNotAllowed) as info:
        resolve(r, "/item/7", "GET")
    assert info.value.allowed == ("POST",)
    assert info.value.headers["Allow"] == "POST"


def test_head_is_accepted_by_get_routes() -> None:
    r = router(make("/page", "GET"))
    assert resolve(r, "/page", "HEAD").route is r.routes[0]


def test_explicit_head_route_wins_over_implicit_head_of_get_route() -> None:
    r = router(make("/page", "GET", name="get"), make("/page", "HEAD", name="head"))
    assert resolve(r, "/page", "HEAD").route.name == "head"
    assert resolve(r, "/page", "GET").route.name == "get"


def test_methods_are_normalised_to_upper_case() -> None:
    route = make("/x", "post", stream_methods=frozenset({"post"}))
    assert route.methods == frozenset({"POST"})
    assert route.is_stream("POST")
    assert not route.is_stream("GET")
    assert resolve(router(route), "/x", "POST").route is route


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"methods": frozenset()}, "at least one method"),
        ({"methods": frozenset({"GE T"})}, "invalid HTTP method names: GE T"),
        ({"methods": "GET"}, "not the string 'GET'"),
        ({"stream_methods": frozenset({"PUT"})}, "not among its methods: PUT"),
        ({"name": ""}, "non-empty name"),
        ({"host": "example.com:8000"}, "without port"),
        ({"handler": None}, "must be callable"),
    ],
)
def test_bad_route_fields_are_rejected(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {
        "handler": handler,
        "uri": "/x",
        "methods": frozenset({"GET"}),
        "name": "x",
    }
    fields.update(kwargs)
    with pytest.raises((ValueError, TypeError), match=message):
        Route(**fields)


# --- hosts ----------------------------------------------------------------------------------


def test_host_route_matches_only_its_host_ignoring_port_and_case() -> None:
    r = router(make("/", host="api.example.com", name="api"), make("/", name="any"))
    assert resolve(r, "/", host="API.example.com:8443").route.name == "api"
    assert resolve(r, "/", host="www.example.com").route.name == "any"
    assert resolve(r, "/", host=None).route.name == "any"


def test_host_mismatch_counts_as_no_match() -> None:
    r = router(make("/x/<id:int>", "POST", host="a.test"))
    with pytest.raises(NotFound):
        resolve(r, "/x/1", "GET", host="b.test")
    with pytest.raises(MethodNotAllowed):
        resolve(r, "/x/1", "GET", host="a.test")


def test_ipv6_host_keeps_brackets() -> None:
    r = router(make("/", host="[::1]"))
    assert resolve(r, "/", host="[::1]:8000").route is r.routes[0]


# --- priority -------------------------------------------------------------------------------


def test_static_route_is_preferred_over_earlier_pattern() -> None:
    r = router(make("/user/<id>", name="by_id"), make("/user/me", name="me"))
    assert resolve(r, "/user/me").route.name == "me"
    assert resolve(r, "/user/you").params == {"id": "you"}


def test_pattern_route_answers_a_method_the_static_route_lacks() -> None:
    r = router(make("/user/me", "GET", name="me"), make("/user/<id>", "DELETE", name="by_id"))
    assert resolve(r, "/user/me", "DELETE").route.name == "by_id"
    with pytest.raises(MethodNotAllowed) as info:
        resolve(r, "/user/me", "PUT")
    assert info.value.allowed == ("DELETE", "GET", "HEAD")


def test_first_registered_pattern_wins() -> None:
    r = router(make("/p/<a>", name="first"), make("/p/<b:int>", name="second"))
    assert resolve(r, "/p/5").route.name == "first"
    assert resolve(r, "/p/5").params == {"a": "5"}


def test_unknown_path_is_not_found() -> None:
    with pytest.raises(NotFound):
        resolve(router(make("/a")), "/b")


# --- registration ---------------------------------------------------------------------------


def test_duplicate_route_raises_with_method_and_path() -> None:
    r = router(make("/x", "GET", "POST", name="one"))
    with pytest.raises(RouteExists, match=r"route GET /x/ is already registered as 'one'"):
        r.add(make("/x/", "GET", "PUT", name="two"))
    assert [route.name for route in r.routes] == ["one"]


def test_duplicate_pattern_ignores_parameter_names() -> None:
    r = router(make("/u/<id:int>", name="one"))
    with pytest.raises(RouteExists, match="GET /u/<uid:int>"):
        r.add(make("/u/<uid:int>", name="two"))


def test_same_pattern_with_other_methods_or_host_is_allowed() -> None:
    r = router(make("/x", "GET"), make("/x", "POST"), make("/x", "GET", host="a.test"))
    assert len(r.routes) == 3
    with pytest.raises(RouteExists, match=r"GET /x on host a\.test"):
        r.add(make("/x", "GET", host="A.test"))


def test_duplicate_name_raises() -> None:
    r = router(make("/a", name="home"))
    with pytest.raises(RouteExists, match="route name 'home' is already used by GET /a"):
        r.add(make("/b", name="home"))
    with pytest.raises(RouteExists, match="route name 'home'"):
        r.add(make("/a", "POST", name="home"))


def test_routes_keep_registration_order_and_by_name_finds_them() -> None:
    first, second = make("/b", name="b"), make("/a/<x>", name="a")
    r = router(first, second)
    assert r.routes == (first, second)
    assert r.by_name("a") is second
    with pytest.raises(URLBuildError, match="no route named 'nope'"):
        r.by_name("nope")


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("x/<id>", "must start with '/'"),
        ("/<1id>", "'1id' in '/<1id>' is not a Python identifier"),
        ("/<>", "'' in '/<>' is not a Python identifier"),
        ("/<a>/<a:int>", "parameter 'a' appears twice"),
        ("/<a:integer>", "unknown type 'integer' for parameter 'a'"),
        ("/<a:[a-z>", "invalid regex for parameter 'a'"),
        ("/<a:(?P<n>x)>", "unbalanced '<' or '>'"),
        ("/<a:(?P=x)y>", "invalid regex for parameter 'a'"),
        ("/<a", "unbalanced '<' or '>'"),
        ("/a>", "unbalanced '<' or '>'"),
    ],
)
def test_bad_patterns_raise_value_error(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[")):
        make(uri)


# --- url building ---------------------------------------------------------------------------


def test_url_path_builds_and_quotes_values() -> None:
    route = make("/user/<name>/<id:int>/")
    assert route.url_path({"name": "a b/c", "id": 7, "extra": "ignored"}) == "/user/a%20b%2Fc/7/"
    assert route.param_names == ("name", "id")


def test_url_path_keeps_slashes_in_path_params() -> None:
    route = make("/static/<p:path>")
    assert route.url_path({"p": "css/a b.css"}) == "/static/css/a%20b.css"


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ("/<v:uuid>", uuid.UUID(UID)),
        ("/<v:ymd>", date(2024, 1, 31)),
        ("/<v:float>", 2.5),
        ("/<v:slug>", "a-b"),
        ("/<v>", "50% off: yes?"),
        ("/<v:path>", "a/b%2Fc/d"),
    ],
)
def test_url_path_round_trips_through_resolve(pattern: str, value: object) -> None:
    route = make(pattern)
    assert resolve(router(route), route.url_path({"v": value})).params == {"v": value}


def test_url_path_quotes_static_text() -> None:
    r = router(make("/a b/<x>"))
    path = r.routes[0].url_path({"x": "1"})
    assert path == "/a%20b/1"
    assert resolve(r, path).params == {"x": "1"}


def test_url_path_missing_param_names_it() -> None:
    with pytest.raises(URLBuildError, match="missing parameter 'id'"):
        make("/u/<id:int>", name="user").url_path({"other": 1})


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ("/<v:int>", "abc"),
        ("/<v:int>", True),
        ("/<v:ymd>", "2024-02-30"),
        ("/<v:alpha>", "ab%"),
        ("/<v>", ""),
        ("/<v:[a-z]{2}>", "abc"),
    ],
)
def test_url_path_rejects_values_that_do_not_fit(pattern: str, value: object) -> None:
    with pytest.raises(URLBuildError, match=f"value {value!r} for parameter 'v'"):
        make(pattern).url_path({"v": value})
