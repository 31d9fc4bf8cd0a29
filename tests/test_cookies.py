"""Cookies: ``Set-Cookie`` headers from ``response.add_cookie``/``delete_cookie``, and their
validation, quoting and round trip back through ``request.cookies``.

Header values are pinned exactly, since browsers are strict about the syntax; requests go
through ``app.test_client()``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from trioweb import App, Request
from trioweb.cookies import Cookie, CookieJar, parse_cookie_header
from trioweb.response import HTTPResponse, StreamingHTTPResponse, json, stream, text


async def set_cookies(setter: Callable[[HTTPResponse], Any]) -> list[str]:
    """The ``Set-Cookie`` values of a response that ``setter`` added cookies to."""

    async def handler(request: Request) -> HTTPResponse:
        response = text("ok")
        setter(response)
        return response

    app = App()
    app.add_route(handler, "/")
    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 200, response.text
    return response.headers.get_list("set-cookie")


# --- setting cookies -------------------------------------------------------------------------


async def test_defaults_are_secure_lax_and_root_path() -> None:
    assert await set_cookies(lambda r: r.add_cookie("session", "abc123")) == [
        "session=abc123; Path=/; Secure; SameSite=Lax"
    ]


async def test_every_attribute() -> None:
    expires = datetime(2030, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2)))

    def setter(response: HTTPResponse) -> None:
        response.add_cookie(
            "k",
            "v",
            path="/app",
            domain="example.com",
            httponly=True,
            samesite="strict",
            max_age=3600,
            expires=expires,
            partitioned=True,
            comment="hi",
        )

    assert await set_cookies(setter) == [
        "k=v; Path=/app; Domain=example.com; Max-Age=3600; Expires=Wed, 02 Jan 2030 03:04:05 GMT;"
        " Secure; HttpOnly; SameSite=Strict; Partitioned; Comment=hi"
    ]


async def test_attributes_can_be_left_out() -> None:
    def setter(response: HTTPResponse) -> None:
        response.add_cookie("k", "v", path=None, secure=False, samesite=None)

    assert await set_cookies(setter) == ["k=v"]


@pytest.mark.parametrize(
    ("given", "sent"), [("STRICT", "Strict"), ("lax", "Lax"), ("nOnE", "None")]
)
def test_samesite_is_case_insensitive(given: str, sent: str) -> None:
    assert Cookie("k", "v", samesite=given).encode() == f"k=v; Path=/; Secure; SameSite={sent}"


def test_naive_expires_is_utc() -> None:
    cookie = Cookie("k", "v", expires=datetime(2030, 1, 2, 3, 4, 5))
    assert "Expires=Wed, 02 Jan 2030 03:04:05 GMT" in cookie.encode()
    aware = Cookie("k", "v", expires=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert aware.encode() == cookie.encode()


async def test_one_header_per_cookie_and_a_repeat_replaces() -> None:
    def setter(response: HTTPResponse) -> None:
        response.add_cookie("a", "1")
        response.add_cookie("b", "2", secure=False)
        response.add_cookie("a", "3")  # same key, path and domain: replaces, keeps its place
        response.add_cookie("a", "4", path="/other")  # another path: another cookie

    assert await set_cookies(setter) == [
        "a=3; Path=/; Secure; SameSite=Lax",
        "b=2; Path=/; SameSite=Lax",
        "a=4; Path=/other; Secure; SameSite=Lax",
    ]


async def test_delete_cookie_sends_an_expired_empty_cookie() -> None:
    assert await set_cookies(lambda r: r.delete_cookie("gone", path="/app", domain="x.org")) == [
        "gone=; Path=/app; Domain=x.org; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT;"
        " Secure; SameSite=Lax"
    ]


async def test_delete_cookie_replaces_one_added_earlier() -> None:
    def setter(response: HTTPResponse) -> None:
        response.add_cookie("a", "1")
        response.delete_cookie("a")

    values = await set_cookies(setter)
    assert len(values) == 1
    assert values[0].startswith("a=; Path=/; Max-Age=0;")


async def test_cookies_on_a_streaming_response() -> None:
    async def body(response: StreamingHTTPResponse) -> None:
        await response.write("x")

    async def handler(request: Request) -> StreamingHTTPResponse:
        response = stream(body)
        response.add_cookie("s", "1")
        return response

    app = App()
    app.add_route(handler, "/")
    async with app.test_client() as client:
        response = await client.get("/")
    assert response.headers.get_list("set-cookie") == ["s=1; Path=/; Secure; SameSite=Lax"]
    assert response.text == "x"


async def test_response_middleware_can_add_cookies() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        return text("ok")

    @app.on_response
    async def stamp(request: Request, response: HTTPResponse) -> None:
        response.add_cookie("seen", "yes")

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.headers.get_list("set-cookie") == ["seen=yes; Path=/; Secure; SameSite=Lax"]


async def test_no_cookies_no_header() -> None:
    assert await set_cookies(lambda r: None) == []


def test_add_cookie_returns_the_cookie_and_the_jar_holds_it() -> None:
    response = text("ok")
    cookie = response.add_cookie("a", "1")
    assert cookie == Cookie("a", "1")
    assert response.cookies.get_cookie("a") is cookie
    assert response.cookies.has_cookie("a")
    assert not response.cookies.has_cookie("a", path="/other")
    assert "a" in response.cookies
    assert "b" not in response.cookies
    assert list(response.cookies) == ["a"]
    assert response.cookies.cookies == [cookie]


# --- values that need quoting --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "sent"),
    [
        ("a=b/c:d?e@f[g]{h}", "a=b/c:d?e@f[g]{h}"),  # every cookie-octet is sent as it is
        ("", ""),
        ("two words", '"two words"'),
        ("semi;colon,comma", '"semi\\073colon\\054comma"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("é", '"\\303\\251"'),
        ("tab\there", '"tab\\011here"'),
    ],
)
def test_values_outside_cookie_octets_are_quoted(value: str, sent: str) -> None:
    cookie = Cookie("k", value, path=None, secure=False, samesite=None)
    assert cookie.encode() == f"k={sent}"


@pytest.mark.parametrize("value", ["plain", "two words", 'q"uo\\te;,', "Zoë 🍪", "\\101"])
async def test_a_set_value_reads_back_unchanged(value: str) -> None:
    """A value set with add_cookie, sent back by the client, is what request.cookies gives."""

    async def handler(request: Request) -> HTTPResponse:
        response = json(request.cookies.get("k"))
        response.add_cookie("k", value)
        return response

    app = App()
    app.add_route(handler, "/")
    async with app.test_client() as client:
        first = await client.get("/")
        pair = first.headers["set-cookie"].split("; ")[0]
        second = await client.get("/", headers={"Cookie": pair})
    assert second.json() == value


# --- invalid arguments raise ---------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "two words", "semi;colon", "eq=", "é", 'q"', "tab\t"])
def test_key_must_be_a_token(key: str) -> None:
    with pytest.raises(ValueError, match="cookie key must be a non-empty token"):
        text("").add_cookie(key, "v")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"samesite": "sometimes"}, ValueError, "samesite must be 'Strict', 'Lax' or 'None'"),
        ({"samesite": "None", "secure": False}, ValueError, "samesite='None' must be secure"),
        ({"partitioned": True, "secure": False}, ValueError, "partitioned cookie must be secure"),
        ({"expires": "tomorrow"}, TypeError, "expires must be a datetime, not str"),
        ({"expires": 1234567890}, TypeError, "expires must be a datetime, not int"),
        ({"max_age": "60"}, TypeError, "max_age must be an int, not str"),
        ({"max_age": True}, TypeError, "max_age must be an int, not bool"),
        ({"path": "/a;b"}, ValueError, "cookie path must be ASCII without ';'"),
        ({"domain": "x.org\r\nX-Evil: 1"}, ValueError, "cookie domain must be ASCII without"),
        ({"domain": "bücher.de"}, ValueError, "cookie domain must be ASCII without"),
        ({"comment": "a;b"}, ValueError, "cookie comment must be ASCII without"),
    ],
)
def test_invalid_arguments_raise(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(")):
        text("").add_cookie("k", "v", **kwargs)


def test_value_must_be_a_str() -> None:
    with pytest.raises(TypeError, match="cookie value must be a str, not bytes"):
        text("").add_cookie("k", b"v")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("key", "kwargs"),
    [
        ("__Secure-id", {"secure": False}),
        ("__Host-id", {"secure": False}),
        ("__Host-id", {"domain": "example.com"}),
        ("__Host-id", {"path": "/app"}),
    ],
)
def test_prefix_rules_are_enforced(key: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="__"):
        Cookie(key, "v", **kwargs)


def test_prefixed_cookies_that_follow_the_rules_are_fine() -> None:
    assert Cookie("__Host-id", "v").encode() == "__Host-id=v; Path=/; Secure; SameSite=Lax"
    assert Cookie("__Secure-id", "v", domain="x.org").encode().startswith("__Secure-id=v;")


def test_delete_cookie_validates_too() -> None:
    with pytest.raises(ValueError, match="cookie key must be a non-empty token"):
        text("").delete_cookie("bad key")


def test_a_failed_add_leaves_the_jar_unchanged() -> None:
    response = text("")
    response.add_cookie("a", "1")
    with pytest.raises(ValueError, match="samesite"):
        response.add_cookie("a", "2", samesite="bogus")
    assert [c.value for c in response.cookies.cookies] == ["1"]


def test_cookie_is_slotted_and_checked_again_on_every_change() -> None:
    cookie = Cookie("k", "v")
    assert not hasattr(cookie, "__dict__")
    cookie.max_age = 60
    cookie.samesite = "strict"
    assert cookie.encode() == "k=v; Path=/; Max-Age=60; Secure; SameSite=Strict"
    cookie.samesite = "none"
    with pytest.raises(ValueError, match="samesite='None' must be secure"):
        cookie.secure = False
    assert cookie.secure  # the failed change left the cookie as it was
    assert cookie.samesite == "None"
    with pytest.raises(TypeError, match="max_age must be an int, not str"):
        cookie.max_age = "soon"  # type: ignore[assignment]
    assert cookie.max_age == 60
    with pytest.raises(AttributeError):
        cookie.max_agee = 1  # type: ignore[attr-defined]
    assert str(cookie) == cookie.encode()


def test_jar_replaces_by_key_path_and_domain() -> None:
    jar = CookieJar()
    jar.add(Cookie("a", "1"))
    jar.add(Cookie("a", "2", domain="x.org"))
    jar.delete_cookie("a")
    assert jar.header_values() == [
        "a=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=Lax",
        "a=2; Path=/; Domain=x.org; Secure; SameSite=Lax",
    ]
    assert len(jar) == 2


# --- reading the Cookie header ---------------------------------------------------------------


def test_parse_cookie_header() -> None:
    assert parse_cookie_header(['a=1; b="two words"; bare; =x', "a=again; c=%41"]) == {
        "a": ["1", "again"],
        "b": ["two words"],
        "c": ["%41"],  # no percent-decoding: that is the application's encoding, not HTTP's
    }


def test_parse_cookie_header_decodes_utf8_and_escapes() -> None:
    # Header text arrives latin-1-decoded: "Ã©" is the UTF-8 bytes of "é".
    assert parse_cookie_header(['raw=Ã©; esc="\\303\\251 \\"q\\""']) == {
        "raw": ["é"],
        "esc": ['é "q"'],
    }


async def test_request_cookies_are_parsed_once() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json({"same": request.cookies is request.cookies, "cookies": request.cookies})

    app = App()
    app.add_route(handler, "/")
    async with app.test_client() as client:
        response = await client.get("/", headers={"Cookie": "a=1; b=2"})
    assert response.json() == {"same": True, "cookies": {"a": ["1"], "b": ["2"]}}


# --- Sanic's spellings: prefixes, get_cookie/has_cookie, the dictionary style --------------------


async def test_dictionary_style_sets_changes_and_deletes_cookies() -> None:
    """Older Sanic code: ``cookies[k] = v``, ``cookies[k]["attr"] = ...``, ``del cookies[k]``."""

    def setter(response: HTTPResponse) -> None:
        response.cookies["session"] = "abc"
        response.cookies["session"]["path"] = "/app"
        response.cookies["session"]["httponly"] = True
        response.cookies["session"]["max-age"] = "60"  # Sanic took digit strings too
        response.cookies["session"] = "xyz"  # a new value for the cookie already set
        response.cookies["theme"] = "dark"
        response.cookies["gone"] = "1"
        response.cookies["gone"]["path"] = "/g"
        del response.cookies["gone"]  # deleted where it was set
        del response.cookies["never-set"]  # deleted at path "/", as delete_cookie would

    assert await set_cookies(setter) == [
        "session=xyz; Path=/app; Max-Age=60; Secure; HttpOnly; SameSite=Lax",
        "theme=dark; Path=/; Secure; SameSite=Lax",
        "gone=; Path=/g; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=Lax",
        "never-set=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure;"
        " SameSite=Lax",
    ]


def test_dictionary_style_reads_the_cookie_and_checks_changes() -> None:
    response = text("")
    response.cookies["k"] = "v"
    cookie = response.cookies["k"]
    assert (cookie.value, cookie["path"], cookie["max-age"], cookie["secure"]) == (
        "v",
        "/",
        None,
        True,
    )
    with pytest.raises(KeyError, match="unknown cookie attribute 'colour'"):
        cookie["colour"] = "blue"
    with pytest.raises(ValueError, match="cookie path must be ASCII without ';'"):
        cookie["path"] = "/a;b"
    with pytest.raises(ValueError, match="samesite must be 'Strict', 'Lax' or 'None'"):
        cookie["samesite"] = "sometimes"
    assert cookie.encode() == "k=v; Path=/; Secure; SameSite=Lax"  # unchanged by the failures
    with pytest.raises(KeyError):
        response.cookies["missing"]
    with pytest.raises(ValueError, match="cookie key must be a non-empty token"):
        response.cookies["bad key"] = "v"


async def test_host_and_secure_prefixes_name_the_cookie() -> None:
    def setter(response: HTTPResponse) -> None:
        response.add_cookie("id", "1", host_prefix=True)
        response.add_cookie("pref", "2", secure_prefix=True, domain="example.com")
        response.cookies.add_cookie("jar", "3", host_prefix=True)
        response.delete_cookie("old", host_prefix=True)

    assert await set_cookies(setter) == [
        "__Host-id=1; Path=/; Secure; SameSite=Lax",
        "__Secure-pref=2; Path=/; Domain=example.com; Secure; SameSite=Lax",
        "__Host-jar=3; Path=/; Secure; SameSite=Lax",
        "__Host-old=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure;"
        " SameSite=Lax",
    ]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"host_prefix": True, "secure": False}, "must be secure"),
        ({"host_prefix": True, "path": "/app"}, "needs path='/' and no domain"),
        ({"host_prefix": True, "domain": "example.com"}, "needs path='/' and no domain"),
        ({"secure_prefix": True, "secure": False}, "must be secure"),
        ({"host_prefix": True, "secure_prefix": True}, "host_prefix or secure_prefix, not both"),
    ],
)
def test_prefix_rules_are_enforced_for_the_flags(kwargs: dict[str, Any], message: str) -> None:
    response = text("")
    with pytest.raises(ValueError, match=message):
        response.add_cookie("k", "v", **kwargs)
    with pytest.raises(ValueError, match=message):
        response.delete_cookie("k", **kwargs)
    assert len(response.cookies) == 0


def test_get_cookie_and_has_cookie_match_key_prefix_path_and_domain() -> None:
    jar = text("").cookies
    host = jar.add_cookie("id", "1", host_prefix=True)
    app_cookie = jar.add_cookie("id", "2", path="/app", domain="x.org")
    assert jar.get_cookie("id", host_prefix=True) is host
    assert jar.get_cookie("__Host-id") is host
    assert jar.get_cookie("id", "/app", "x.org") is app_cookie
    assert jar.get_cookie("id") is None
    assert jar.has_cookie("id", host_prefix=True)
    assert not jar.has_cookie("id", secure_prefix=True)
    assert not jar.has_cookie("id", "/app")


async def test_deleting_a_cookie_set_here_keeps_its_security_attributes() -> None:
    """A deletion over plain HTTP that said Secure would be ignored by the browser."""

    def setter(response: HTTPResponse) -> None:
        response.add_cookie("plain", "1", secure=False, samesite=None, httponly=True)
        response.delete_cookie("plain")
        response.delete_cookie("elsewhere", secure=False)

    assert await set_cookies(setter) == [
        "plain=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly",
        "elsewhere=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; SameSite=Lax",
    ]


async def test_request_cookies_as_sanic_reads_them() -> None:
    async def handler(request: Request) -> HTTPResponse:
        cookies = request.cookies
        return json(
            {
                "get": cookies.get("a"),
                "getlist": cookies.getlist("a"),
                "item": cookies["a"],
                "host": cookies.get("id"),  # __Host-id, read under its plain name
                "secure": cookies.getlist("pref"),  # __Secure-pref
                "attribute": cookies.a,
                "dashed": cookies.user_id,  # user-id
                "keyword": cookies.class_,  # class
                "absent_attribute": cookies.nope,
                "absent": cookies.get("nope", "default"),
                "absent_list": cookies.getlist("nope"),
            }
        )

    app = App()
    app.add_route(handler, "/")
    header = "a=1; __Host-id=h; __Secure-pref=s; user-id=42; class=c; a=2"
    async with app.test_client() as client:
        response = await client.get("/", headers={"Cookie": header})
    assert response.json() == {
        "get": "1",
        "getlist": ["1", "2"],
        "item": ["1", "2"],
        "host": "h",
        "secure": ["s"],
        "attribute": "1",
        "dashed": "42",
        "keyword": "c",
        "absent_attribute": "",
        "absent": "default",
        "absent_list": [],
    }


async def test_a_host_prefixed_cookie_reads_back_under_its_plain_name() -> None:
    async def handler(request: Request) -> HTTPResponse:
        response = text(request.cookies.get("session", "none"))
        response.add_cookie("session", "s3cret", host_prefix=True)
        return response

    app = App()
    app.add_route(handler, "/")
    async with app.test_client(base_url="https://testserver") as client:
        first = await client.get("/")
        second = await client.get("/")  # httpx sends back the cookie it was given
    assert (first.text, second.text) == ("none", "s3cret")
