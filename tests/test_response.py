"""Responses as the client sees them: status, headers, body and framing.

Handlers build responses with the helpers of `trioweb.response` (or write through
``request.respond()``); every test reads them back through ``app.test_client()``, over the real
h11 connection code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
import trio

from trioweb import App, Request
from trioweb.datastructures import MutableHeaders
from trioweb.response import (
    BaseHTTPResponse,
    HTTPResponse,
    JSONResponse,
    StreamingHTTPResponse,
    empty,
    html,
    json,
    not_modified_headers,
    raw,
    redirect,
    stream,
    text,
)

from .netutil import TIMEOUT, read_all


async def fetch(make_response: Callable[[], Any], method: str = "GET") -> httpx.Response:
    """Serve ``make_response()`` at ``GET /`` and request it with ``method``."""
    app = App()

    @app.get("/")
    async def handler(request: Request) -> Any:
        return make_response()

    async with app.test_client() as client:
        return await client.request(method, "/")


# --- the helpers --------------------------------------------------------------------------------


async def test_text_is_utf8_plain_text_with_content_length() -> None:
    response = await fetch(lambda: text("héllo"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-length"] == "6"
    assert "transfer-encoding" not in response.headers
    assert response.content == "héllo".encode()


async def test_text_status_and_headers() -> None:
    response = await fetch(lambda: text("made", 201, {"X-Thing": "1"}))
    assert response.status_code == 201
    assert response.headers["x-thing"] == "1"
    assert response.text == "made"


async def test_content_type_in_headers_wins_over_the_helpers_default() -> None:
    response = await fetch(lambda: text("x", headers={"Content-Type": "text/x-custom"}))
    assert response.headers.get_list("content-type") == ["text/x-custom"]


async def test_html_is_utf8_html() -> None:
    response = await fetch(lambda: html("<p>ça</p>"))
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.text == "<p>ça</p>"


async def test_json_is_compact_and_keeps_non_ascii_unescaped() -> None:
    response = await fetch(lambda: json({"name": "Zoë", "ids": [1, 2], "ok": True}))
    assert response.headers["content-type"] == "application/json"
    assert response.content == '{"name":"Zoë","ids":[1,2],"ok":true}'.encode()
    assert response.headers["content-length"] == str(len(response.content))


async def test_json_status_headers_and_custom_dumps() -> None:
    def dumps(body: Any, **kwargs: Any) -> str:
        return f"custom:{body!r}"

    response = await fetch(lambda: json([1], 202, {"X-J": "y"}, dumps=dumps))
    assert response.status_code == 202
    assert response.headers["x-j"] == "y"
    assert response.text == "custom:[1]"


async def test_json_passes_keyword_arguments_to_dumps() -> None:
    response = await fetch(lambda: json({"b": 1, "a": 2}, sort_keys=True))
    assert response.text == '{"a":2,"b":1}'


async def test_raw_sends_bytes_as_they_are() -> None:
    payload = bytes(range(256))
    response = await fetch(lambda: raw(payload))
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == payload


async def test_raw_with_its_own_content_type() -> None:
    response = await fetch(lambda: raw(b"\x89PNG", content_type="image/png"))
    assert response.headers["content-type"] == "image/png"
    assert response.content == b"\x89PNG"


async def test_empty_is_204_without_body_or_content_type() -> None:
    response = await fetch(empty)
    assert response.status_code == 204
    assert response.content == b""
    assert "content-type" not in response.headers
    assert "content-length" not in response.headers


async def test_empty_with_another_status_sends_content_length_zero() -> None:
    response = await fetch(lambda: empty(status=202, headers={"X-E": "1"}))
    assert response.status_code == 202
    assert response.headers["content-length"] == "0"
    assert response.headers["x-e"] == "1"
    assert response.content == b""


async def test_redirect_sets_location_and_302() -> None:
    response = await fetch(lambda: redirect("/login?next=/home"))
    assert response.status_code == 302
    assert response.headers["location"] == "/login?next=/home"
    assert response.headers["content-length"] == "0"
    assert response.content == b""


async def test_redirect_takes_headers_then_status_in_sanics_order() -> None:
    response = await fetch(lambda: redirect("https://example.com/", {"X-R": "1"}, 301))
    assert response.status_code == 301
    assert response.headers["location"] == "https://example.com/"
    assert response.headers["x-r"] == "1"
    response = await fetch(lambda: redirect("/b", status=308, headers={"X-R": "2"}))
    assert (response.status_code, response.headers["x-r"]) == (308, "2")


async def test_redirect_sends_one_location_whatever_the_case_of_the_headers_one() -> None:
    response = await fetch(lambda: redirect("/to", {"location": "/other", "X-R": "1"}))
    assert response.headers.get_list("location") == ["/to"]
    assert response.headers["x-r"] == "1"


def test_redirect_with_the_status_second_says_where_it_goes() -> None:
    # The order trioweb had before: a status where Sanic takes the headers.
    with pytest.raises(TypeError, match=r"write redirect\(to, status=301\)"):
        redirect("/b", 301)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("target", "location"),
    [
        ("/a b/ü", "/a%20b/%C3%BC"),
        ("/search?q=a b&lang=é", "/search?q=a%20b&lang=%C3%A9"),
        ("/already%20quoted", "/already%20quoted"),
        ("/x\r\nSet-Cookie: evil=1", "/x%0D%0ASet-Cookie:%20evil=1"),
        (
            "https://user@example.com:8443/p;a?b=c#frag",
            "https://user@example.com:8443/p;a?b=c#frag",
        ),
    ],
)
async def test_redirect_percent_encodes_the_location(target: str, location: str) -> None:
    response = await fetch(lambda: redirect(target))
    assert response.headers["location"] == location
    assert "set-cookie" not in response.headers


# --- more of Sanic's helpers ------------------------------------------------------------------


class Markup:
    """What markupsafe and template engines hand out: ``__html__`` gives the markup."""

    def __html__(self) -> str:
        return "<b>safe</b>"


class Frame:
    """What pandas and IPython objects offer: ``_repr_html_``."""

    def _repr_html_(self) -> str:
        return "<table></table>"


@pytest.mark.parametrize(
    ("body", "sent"), [(Markup(), "<b>safe</b>"), (Frame(), "<table></table>")]
)
async def test_html_takes_objects_that_render_themselves(body: object, sent: str) -> None:
    response = await fetch(lambda: html(body, 201, {"X-H": "1"}))
    assert (response.status_code, response.text, response.headers["x-h"]) == (201, sent, "1")
    assert response.headers["content-type"] == "text/html; charset=utf-8"


def test_html_refuses_other_objects() -> None:
    with pytest.raises(TypeError, match="response body must be str or bytes, not int"):
        html(42)


async def test_json_dumps_may_return_bytes() -> None:
    response = await fetch(lambda: json({"a": 1}, dumps=lambda body: b'{"bytes":true}'))
    assert response.content == b'{"bytes":true}'


async def test_response_middleware_can_amend_a_json_body() -> None:
    app = App()

    @app.get("/list")
    async def listing(request: Request) -> JSONResponse:
        return json([1, 2])

    @app.get("/dict")
    async def mapping(request: Request) -> JSONResponse:
        return json({"a": 1, "drop": True}, sort_keys=True)

    @app.on_response
    async def amend(request: Request, response: BaseHTTPResponse) -> None:
        assert isinstance(response, JSONResponse)
        if isinstance(response.raw_body, list):
            response.append(3)
            response.extend([4, 5])
            assert response.pop() == 5
            assert response.pop(0) == 1
        else:
            response.update({"z": 26}, b=2)
            assert response.pop("drop") is True
            assert response.pop("missing", None) is None

    async with app.test_client() as client:
        assert (await client.get("/list")).text == "[2,3,4]"
        r = await client.get("/dict")
        assert r.text == '{"a":1,"b":2,"z":26}'  # the dumps kwargs (sort_keys) still apply
        assert r.headers["content-length"] == str(len(r.content))


def test_json_response_set_body_and_raw_body() -> None:
    response = json({"a": 1})
    response.raw_body = ["x"]
    assert (response.raw_body, response.body) == (["x"], b'["x"]')
    response.set_body({"k": "v"}, dumps=lambda body, **kw: "custom")
    assert response.body == b"custom"
    response.body = b"by hand"
    with pytest.raises(RuntimeError, match="assigned directly"):
        response.raw_body  # noqa: B018
    response.set_body(1)
    assert response.raw_body == 1  # set_body puts them back in step


def test_json_response_methods_check_the_body_type() -> None:
    with pytest.raises(TypeError, match="cannot append to a JSON body of type dict"):
        json({}).append(1)
    with pytest.raises(TypeError, match="cannot update a JSON body of type list"):
        json([]).update(a=1)
    with pytest.raises(TypeError, match="no default when the JSON body is a list"):
        json([1]).pop(0, None)
    with pytest.raises(TypeError, match="needs a key"):
        json({}).pop()
    with pytest.raises(TypeError, match="cannot pop from a JSON body of type int"):
        json(3).pop()


# --- streaming responses -----------------------------------------------------------------------


async def test_stream_is_chunked_by_default() -> None:
    async def write(response: StreamingHTTPResponse) -> None:
        await response.write("foo,")
        await response.write(b"bar")

    response = await fetch(lambda: stream(write, content_type="text/csv"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv"
    assert response.headers["transfer-encoding"] == "chunked"
    assert "content-length" not in response.headers
    assert response.text == "foo,bar"


async def test_stream_with_content_length_is_not_chunked() -> None:
    async def write(response: StreamingHTTPResponse) -> None:
        await response.write("abc")
        await response.write("def")

    response = await fetch(lambda: stream(write, headers={"Content-Length": "6"}))
    assert response.headers["content-length"] == "6"
    assert "transfer-encoding" not in response.headers
    assert response.text == "abcdef"


async def test_stream_status_headers_and_default_content_type() -> None:
    async def write(response: StreamingHTTPResponse) -> None:
        await response.write("")  # empty writes send nothing
        await response.write("x")

    response = await fetch(lambda: stream(write, 201, {"X-S": "1"}))
    assert response.status_code == 201
    assert response.headers["x-s"] == "1"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == "x"


async def test_stream_is_read_by_the_client_piece_by_piece() -> None:
    async def write(response: StreamingHTTPResponse) -> None:
        for i in range(5):
            await response.write(f"line {i}\n")

    app = App()

    @app.get("/")
    async def handler(request: Request) -> StreamingHTTPResponse:
        return stream(write)

    async with app.test_client() as client, client.stream("GET", "/") as response:
        lines = [line async for line in response.aiter_lines()]
    assert lines == [f"line {i}" for i in range(5)]


async def test_large_body_arrives_whole() -> None:
    payload = b"0123456789abcdef" * 100_000  # 1.6 MB: sent in several writes
    response = await fetch(lambda: raw(payload))
    assert response.headers["content-length"] == str(len(payload))
    assert response.content == payload


# --- request.respond() ------------------------------------------------------------------------


async def test_respond_sends_head_then_pieces() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> None:
        response = await request.respond(201, {"X-Live": "yes"}, "text/csv")
        await response.send("a,b\n")
        await response.send(b"1,2\n")
        await response.eof()

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 201
    assert response.headers["x-live"] == "yes"
    assert response.headers["content-type"] == "text/csv"
    assert response.headers["transfer-encoding"] == "chunked"
    assert response.text == "a,b\n1,2\n"


async def test_respond_is_ended_for_the_handler_that_returns() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> StreamingHTTPResponse:
        response = await request.respond()
        await response.send("no eof needed")
        return response

    async with app.test_client() as client:
        first = await client.get("/")
        second = await client.get("/")
    assert first.text == "no eof needed"
    assert second.text == "no eof needed"


async def test_respond_twice_raises_runtime_error() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> None:
        response = await request.respond()
        try:
            await request.respond()
        except RuntimeError as exc:
            await response.send(str(exc))

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.text == "a response was already started for this request"


async def test_sending_after_eof_raises_runtime_error() -> None:
    app = App()
    errors: list[str] = []

    @app.get("/")
    async def handler(request: Request) -> None:
        response = await request.respond()
        await response.send("done")
        await response.eof()
        await response.eof()  # a second eof is harmless
        try:
            await response.send("more")
        except RuntimeError as exc:
            errors.append(str(exc))
        errors.append(f"ended={response.ended}")

    async with app.test_client() as client:
        response = await client.get("/")
    assert response.status_code == 200
    assert response.text == "done"
    assert errors == [
        "this response has ended (eof() or send(end_stream=True) was called); "
        "nothing more can be sent",
        "ended=True",
    ]


async def test_stream_accepts_sanics_chunked_argument() -> None:
    async def body(response: StreamingHTTPResponse) -> None:
        await response.write("ab")

    # chunked= changes nothing: without Content-Length the server must chunk.
    response = await fetch(lambda: stream(body, 200, None, "text/plain", chunked=False))
    assert (response.text, response.headers["transfer-encoding"]) == ("ab", "chunked")
    response = await fetch(lambda: stream(body, headers={"Content-Length": "2"}, chunked=True))
    assert (response.text, response.headers["content-length"]) == ("ab", "2")
    assert "transfer-encoding" not in response.headers


async def test_send_with_end_stream_sends_the_last_piece() -> None:
    app = App()
    after: list[str] = []

    @app.get("/respond")
    async def respond(request: Request) -> None:
        response = await request.respond(content_type="text/plain")
        await response.send("a")
        await response.send("b", end_stream=True)
        after.append(f"ended={response.ended}")
        await response.send()  # ending what has ended does nothing, as in Sanic
        await response.eof()
        try:
            await response.send("c")
        except RuntimeError as exc:
            after.append(str(exc))

    @app.get("/stream")
    async def streamed(request: Request) -> StreamingHTTPResponse:
        async def body(response: StreamingHTTPResponse) -> None:
            await response.send("x", False)
            await response.send("y", True)

        return stream(body)

    @app.get("/bare-send")
    async def bare(request: Request) -> None:
        response = await request.respond()
        await response.send(b"only")
        await response.send()  # no data, no end_stream: ends the response
        after.append(f"bare ended={response.ended}")

    async with app.test_client() as client:
        assert (await client.get("/respond")).text == "ab"
        assert (await client.get("/stream")).text == "xy"
        assert (await client.get("/bare-send")).text == "only"
    assert after == [
        "ended=True",
        "this response has ended (eof() or send(end_stream=True) was called); "
        "nothing more can be sent",
        "bare ended=True",
    ]


async def test_a_response_not_started_says_how_to_start_it() -> None:
    with pytest.raises(RuntimeError, match=r"has not started: return it from the handler"):
        await StreamingHTTPResponse().send("x")
    with pytest.raises(RuntimeError, match=r"has not started"):
        await StreamingHTTPResponse().write("x")


# --- bodiless responses -----------------------------------------------------------------------


async def test_head_gets_no_body_but_keeps_content_length() -> None:
    response = await fetch(lambda: text("twelve bytes"), method="HEAD")
    assert response.status_code == 200
    assert response.headers["content-length"] == "12"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.content == b""


async def test_head_of_a_stream_with_content_length_gets_no_body() -> None:
    async def write(response: StreamingHTTPResponse) -> None:
        await response.write("abc")

    response = await fetch(lambda: stream(write, headers={"Content-Length": "3"}), "HEAD")
    assert response.headers["content-length"] == "3"
    assert response.content == b""


async def test_keep_alive_continues_after_a_head_response() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        return text("body")

    async with app.test_client() as client:
        head = await client.head("/")
        get = await client.get("/")
    assert head.content == b""
    assert get.text == "body"


@pytest.mark.parametrize("status", [204, 304])
async def test_204_and_304_carry_no_body(status: int) -> None:
    response = await fetch(lambda: text("must not be sent", status))
    assert response.status_code == status
    assert response.content == b""
    assert "content-length" not in response.headers


async def test_bodiless_status_keeps_the_connection_usable() -> None:
    app = App()

    @app.get("/nothing")
    async def nothing(request: Request) -> HTTPResponse:
        return text("dropped", 204)

    @app.get("/something")
    async def something(request: Request) -> HTTPResponse:
        return text("kept")

    async with app.test_client() as client:
        first = await client.get("/nothing")
        second = await client.get("/something")
    assert (first.status_code, first.content) == (204, b"")
    assert (second.status_code, second.text) == (200, "kept")


async def raw_head(app: App, path: str = "/") -> tuple[str, list[tuple[str, str]]]:
    """GET ``path`` over the test client's in-memory connection: the raw status line and
    header pairs exactly as sent (nothing normalised by an HTTP client)."""
    async with app.test_client() as client:
        with trio.fail_after(TIMEOUT):
            stream = await client.listener.connect()
            request = f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
            await stream.send_all(request.encode())
            data = await read_all(stream)
    head = data.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
    pairs = [tuple(line.split(": ", 1)) for line in head[1:]]
    return head[0], [(name.lower(), value) for name, value in pairs]


@pytest.mark.parametrize(
    "make",
    [
        lambda: text("", status=304),
        lambda: html("<p>old</p>", 304),
        lambda: json({"stale": True}, 304),
        lambda: empty(304, headers={"Content-Type": "text/html"}),
    ],
    ids=["text", "html", "json", "empty"],
)
async def test_a_handler_built_304_sends_no_content_type(make: Callable[[], Any]) -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> Any:
        return make()

    status, headers = await raw_head(app)
    assert status == "HTTP/1.1 304 Not Modified"
    names = [name for name, _ in headers]
    assert "content-type" not in names
    assert "content-length" not in names


async def test_a_304_keeps_validators_caching_and_cookies_but_no_body_headers() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        response = empty(
            304,
            headers={
                "Content-Type": "text/html",
                "Content-Length": "120",
                "Content-Encoding": "gzip",
                "Content-Language": "fr",
                "Content-Range": "bytes 0-9/120",
                "Content-Disposition": "attachment",
                "ETag": '"v1"',
                "Last-Modified": "Tue, 14 Nov 2023 22:13:20 GMT",
                "Cache-Control": "max-age=60",
                "Expires": "Tue, 14 Nov 2023 23:13:20 GMT",
                "Vary": "Accept-Encoding",
                "Content-Location": "/doc.fr.html",
                "X-Request-Id": "abc",
            },
        )
        response.add_cookie("seen", "1")
        return response

    @app.on_response
    async def late(request: Request, response: BaseHTTPResponse) -> None:
        response.headers["Content-Type"] = "text/plain"  # added after the handler: dropped too

    status, headers = await raw_head(app)
    assert status == "HTTP/1.1 304 Not Modified"
    sent = dict(headers)
    assert sent["set-cookie"].startswith("seen=1")
    assert set(sent) == {
        "etag",
        "last-modified",
        "cache-control",
        "expires",
        "vary",
        "content-location",
        "x-request-id",
        "set-cookie",
        "date",
        "connection",  # "close", as the request asked
    }


async def test_a_204_gets_no_default_content_type() -> None:
    response = await fetch(lambda: text("", status=204))
    assert response.status_code == 204
    assert "content-type" not in response.headers
    # One given explicitly is the handler's choice, and is sent.
    response = await fetch(lambda: empty(204, headers={"Content-Type": "text/plain"}))
    assert response.headers["content-type"] == "text/plain"


def test_not_modified_headers_filters_any_pairs() -> None:
    kept = not_modified_headers([("ETag", '"a"'), ("content-type", "x"), ("Link", "<a>")])
    assert kept.multi_items() == [("ETag", '"a"'), ("Link", "<a>")]


# --- mistakes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("returned", "type_name"), [("a string", "str"), (None, "NoneType"), ({"a": 1}, "dict")]
)
async def test_handler_returning_a_non_response_gives_500(
    returned: object, type_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await fetch(lambda: returned)
    assert response.status_code == 500
    # The page names no handler (outside debug); the log does.
    assert response.text == "500 Internal Server Error\n"
    assert f"handler 'handler' returned {type_name}, not a response" in caplog.text


def test_text_rejects_bytes() -> None:
    with pytest.raises(TypeError, match=r"text\(\) takes a str body, not bytes; use raw\(\)"):
        text(b"bytes")  # type: ignore[arg-type]


def test_response_body_must_be_str_or_bytes() -> None:
    with pytest.raises(TypeError, match="response body must be str or bytes, not int"):
        HTTPResponse(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [0, 99, 100, 101, 199, 1000])
def test_invalid_status_raises_value_error(status: int) -> None:
    with pytest.raises(
        ValueError, match=rf"status must be a final HTTP status \(200-999\), got {status}"
    ):
        text("x", status)


async def test_invalid_status_in_a_handler_gives_500() -> None:
    response = await fetch(lambda: text("x", 42))
    assert response.status_code == 500
    assert response.text == "500 Internal Server Error\n"


async def test_invalid_header_value_gives_500() -> None:
    response = await fetch(lambda: text("x", headers={"X-Bad": "a\r\nInjected: 1"}))
    assert response.status_code == 500


async def test_an_injected_content_type_gives_500_every_time() -> None:
    # Small header sets are validated once and remembered; a bad one must never be.
    app = App()

    @app.get("/<n:int>")
    async def handler(request: Request, n: int) -> HTTPResponse:
        return text("x", content_type="text/plain\r\nInjected: 1" if n % 2 else "text/csv")

    async with app.test_client() as client:
        for n in range(4):
            response = await client.get(f"/{n}")
            assert response.status_code == (500 if n % 2 else 200)
            assert "injected" not in response.headers
            assert response.headers["content-type"] == (
                "text/plain; charset=utf-8" if n % 2 else "text/csv"
            )


async def test_response_headers_are_case_insensitive_and_can_repeat() -> None:
    app = App()

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        return redirect("/first")

    @app.on_response
    async def rewrite(request: Request, response: BaseHTTPResponse) -> None:
        response.headers["location"] = "/second"  # replaces "Location", whatever its case
        response.headers.add("Link", "</a>; rel=preload")
        response.headers.add("Link", "</b>; rel=preload")

    async with app.test_client() as client:
        r = await client.get("/", follow_redirects=False)
    assert r.headers.get_list("location") == ["/second"]
    assert r.headers.get_list("link") == ["</a>; rel=preload", "</b>; rel=preload"]


def test_mutable_headers_behave_like_a_case_insensitive_mapping() -> None:
    headers = MutableHeaders({"Content-Type": "text/plain", "X-A": "1"})
    headers.add("x-a", "2")
    assert headers["CONTENT-TYPE"] == "text/plain"
    assert headers.getall("X-A") == ["1", "2"]
    assert list(headers) == ["content-type", "x-a"]
    assert len(headers) == 2
    headers["X-A"] = "3"
    assert headers.multi_items() == [("Content-Type", "text/plain"), ("X-A", "3")]
    del headers["content-type"]
    assert "Content-Type" not in headers
    with pytest.raises(KeyError):
        del headers["content-type"]


def test_mutable_headers_copied_from_mutable_headers_keep_repeated_names() -> None:
    original = MutableHeaders([("Link", "<a>"), ("link", "<b>"), ("X", "1")])
    copy = MutableHeaders(original)
    assert copy.multi_items() == [("Link", "<a>"), ("link", "<b>"), ("X", "1")]
