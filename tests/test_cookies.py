"""Cookies: ``Set-Cookie`` headers from ``response.add_cookie``/``delete_cookie``, and their
validation, quoting and round trip back through ``request.cookies``.

Header values are pinned exactly, since browsers are strict about the syntax; requests go
through ``app.test_client()``.
"""

from __future__ import annotations

import dataclasses
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
    assert response.cookies.get("a") is cookie
    assert "a" in response.cookies
    assert "b" not in response.cookies
    assert list(response.cookies) == [cookie]


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
        response = json(request.cookies)
        response.add_cookie("k", value)
        return response

    app = App()
    app.add_route(handler, "/")
    async with app.test_client() as client:
        first = await client.get("/")
        pair = first.headers["set-cookie"].split("; ")[0]
        second = await client.get("/", headers={"Cookie": pair})
    assert second.json() == {"k": value}


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
    assert [c.value for c in response.cookies] == ["1"]


def test_cookie_is_a_frozen_slotted_value() -> None:
    cookie = Cookie("k", "v")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cookie.value = "w"  # type: ignore[misc]
    assert not hasattr(cookie, "__dict__")


def test_jar_replaces_by_key_path_and_domain() -> None:
    jar = CookieJar()
    jar.add(Cookie("a", "1"))
    jar.add(Cookie("a", "2", domain="x.org"))
    jar.delete("a")
    assert jar.header_values() == [
        "a=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Secure; SameSite=Lax",
        "a=2; Path=/; Domain=x.org; Secure; SameSite=Lax",
    ]
    assert len(jar) == 2


# --- reading the Cookie header ---------------------------------------------------------------


def test_parse_cookie_header() -> None:
    assert parse_cookie_header(['a=1; b="two words"; bare; =x', "a=again; c=%41"]) == {
        "a": "1",
        "b": "two words",
        "c": "%41",  # no percent-decoding: that is the application's encoding, not HTTP's
    }


def test_parse_cookie_header_decodes_utf8_and_escapes() -> None:
    # Header text arrives latin-1-decoded: "Ã©" is the UTF-8 bytes of "é".
    assert parse_cookie_header(['raw=Ã©; esc="\\303\\251 \\"q\\""']) == {
        "raw": "é",
        "esc": 'é "q"',
    }


async def test_request_cookies_are_parsed_once() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json({"same": request.cookies is request.cookies, "cookies": request.cookies})

    app = App()
    app.add_route(handler, "/")
    async with app.test_client() as client:
        response = await client.get("/", headers={"Cookie": "a=1; b=2"})
    assert response.json() == {"same": True, "cookies": {"a": "1", "b": "2"}}
