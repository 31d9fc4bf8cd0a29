"""What a handler sees of a request, end to end through ``app.test_client()``.

The handler reports what it saw (mostly as JSON); the test asserts on that report, so every
value travelled the real h11 connection code first.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio

from trioweb import App, Request
from trioweb.response import HTTPResponse, json, text


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    """An upload body; httpx sends an async iterator with ``Transfer-Encoding: chunked``."""
    for part in parts:
        yield part


async def seen_by(
    handler: Any, method: str = "GET", path: str = "/", uri: str = "/", **kwargs: Any
) -> Any:
    """Route ``handler`` for ``method`` at ``uri``, request ``path``, and return the JSON reply."""
    app = App()
    app.add_route(handler, uri, methods=[method])
    async with app.test_client() as client:
        response = await client.request(method, path, **kwargs)
    assert response.status_code == 200, response.text
    return response.json()


# --- the target -------------------------------------------------------------------------------


async def test_args_are_lists_get_gives_the_first_value_and_getlist_all() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json(
            {
                "k": request.args["k"],
                "k0": request.args["k"][0],  # the first value, never its first character
                "get": request.args.get("k"),
                "get_default": request.args.get("nope", "d"),
                "all": request.args.getlist("k"),
                "missing": request.args.getlist("nope"),
                "missing_default": request.args.getlist("nope", ["d"]),
                "blank_dropped": "blank" not in request.args,
                "whole": request.args,
            }
        )

    assert await seen_by(handler, path="/?k=10&k=2&blank=&k=3") == {
        "k": ["10", "2", "3"],
        "k0": "10",
        "get": "10",
        "get_default": "d",
        "all": ["10", "2", "3"],
        "missing": [],
        "missing_default": ["d"],
        "blank_dropped": True,
        "whole": {"k": ["10", "2", "3"]},
    }


async def test_get_args_and_get_query_args_take_parse_qs_options() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json(
            {
                "args": request.get_args(keep_blank_values=True),
                "pairs": request.get_query_args(keep_blank_values=True),
                "latin1": request.get_args(encoding="latin-1").get("e"),
                "default": request.args.get("e"),
                "same": request.get_args() is request.args,
            }
        )

    assert await seen_by(handler, path="/?a=&flag&e=%E9") == {
        "args": {"a": [""], "flag": [""], "e": ["\ufffd"]},
        "pairs": [["a", ""], ["flag", ""], ["e", "\ufffd"]],
        "latin1": "é",
        "default": "\ufffd",
        "same": True,
    }


async def test_strict_parsing_of_a_malformed_query_is_400() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json(request.get_args(strict_parsing=True))

    app = App()
    app.add_route(handler, "/")
    async with app.test_client() as client:
        good = await client.get("/?a=1")
        bad = await client.get("/?a=1&oops")
    assert good.json() == {"a": ["1"]}
    assert bad.status_code == 400
    assert bad.text.startswith("400 malformed query string: ")


async def test_query_string_is_raw_and_query_args_are_decoded_pairs() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json({"qs": request.query_string, "pairs": request.query_args})

    assert await seen_by(handler, path="/?a=1&b=x%20y&blank=&a=%C3%A9") == {
        "qs": "a=1&b=x%20y&blank=&a=%C3%A9",
        "pairs": [["a", "1"], ["b", "x y"], ["a", "é"]],  # blank values dropped, as in Sanic
    }


async def test_no_query_gives_empty_args() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json({"qs": request.query_string, "args": dict(request.args)})

    assert await seen_by(handler) == {"qs": "", "args": {}}


async def test_path_is_percent_decoded() -> None:
    async def handler(request: Request, name: str) -> HTTPResponse:
        return json({"path": request.path, "name": name})

    assert await seen_by(handler, path="/files/caf%C3%A9%20menu", uri="/files/<name>") == {
        "path": "/files/café menu",
        "name": "café menu",
    }


# --- headers ----------------------------------------------------------------------------------


async def test_headers_are_case_insensitive_and_multi_valued() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json(
            {
                "lower": request.headers["x-custom"],
                "upper": request.headers["X-CUSTOM"],
                "first": request.headers["x-multi"],
                "all": request.headers.getall("X-Multi"),
                "contains": "X-Custom" in request.headers,
                "absent": request.headers.getall("x-absent"),
            }
        )

    headers = [("X-Custom", "v"), ("X-Multi", "one"), ("x-multi", "two")]
    assert await seen_by(handler, headers=headers) == {
        "lower": "v",
        "upper": "v",
        "first": "one",
        "all": ["one", "two"],
        "contains": True,
        "absent": [],
    }


async def test_content_type_is_the_header_or_octet_stream() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return text(request.content_type)

    app = App()
    app.add_route(handler, "/", methods=["POST"])
    async with app.test_client() as client:
        typed = await client.post("/", content=b"x", headers={"Content-Type": "text/csv"})
        untyped = await client.post("/", content=b"x")
    assert typed.text == "text/csv"
    assert untyped.text == "application/octet-stream"


async def test_cookies_are_parsed_from_the_cookie_header() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json(request.cookies)

    assert await seen_by(handler, headers={"Cookie": 'session=abc123; theme="dark"'}) == {
        "session": ["abc123"],
        "theme": ["dark"],
    }


async def test_a_malformed_cookie_pair_spoils_only_itself() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json(request.cookies)

    header = "a=1; bare; bad cookie; ;; =nameless; token=abc==; a=second"
    assert await seen_by(handler, headers={"Cookie": header}) == {
        "a": ["1", "second"],
        "token": ["abc=="],
    }


async def test_no_cookie_header_gives_no_cookies() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json(request.cookies)

    assert await seen_by(handler) == {}


async def test_url_host_scheme_ip_and_port() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json(
            {
                "url": request.url,
                "host": request.host,
                "scheme": request.scheme,
                "ip": request.ip,
                "port": request.port,
            }
        )

    # The test client connects through memory: a loopback peer with no real port.
    assert await seen_by(handler, path="/where?x=1", uri="/where") == {
        "url": "http://testserver/where?x=1",
        "host": "testserver",
        "scheme": "http",
        "ip": "127.0.0.1",
        "port": 0,
    }


async def test_host_keeps_the_port_the_client_sent() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json({"host": request.host, "url": request.url})

    assert await seen_by(handler, headers={"Host": "example.com:8080"}) == {
        "host": "example.com:8080",
        "url": "http://example.com:8080/",
    }


async def test_id_honours_x_request_id() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return text(request.id)

    app = App()
    app.add_route(handler, "/")
    async with app.test_client() as client:
        response = await client.get("/", headers={"X-Request-ID": "trace-42"})
    assert response.text == "trace-42"


async def test_id_is_a_fresh_uuid4_per_request_otherwise() -> None:
    async def handler(request: Request) -> HTTPResponse:
        # Stable within one request.
        assert request.id == request.id
        return text(request.id)

    app = App()
    app.add_route(handler, "/")
    async with app.test_client() as client:
        first = (await client.get("/")).text
        second = (await client.get("/")).text
    assert uuid.UUID(first).version == 4
    assert uuid.UUID(second).version == 4
    assert first != second


async def test_ctx_is_fresh_for_each_request() -> None:
    app = App()

    @app.on_request
    async def remember(request: Request) -> None:
        request.ctx.seen_before = hasattr(request.ctx, "marker")
        request.ctx.marker = request.args.get("n")

    @app.get("/")
    async def handler(request: Request) -> HTTPResponse:
        return json({"seen_before": request.ctx.seen_before, "marker": request.ctx.marker})

    async with app.test_client() as client:
        first = (await client.get("/?n=1")).json()
        second = (await client.get("/?n=2")).json()
    assert first == {"seen_before": False, "marker": "1"}
    assert second == {"seen_before": False, "marker": "2"}


# --- the buffered body ------------------------------------------------------------------------


async def test_json_body_is_parsed() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json({"got": request.json})

    assert await seen_by(handler, "POST", json={"a": [1, 2], "b": "é"}) == {
        "got": {"a": [1, 2], "b": "é"}
    }


async def test_json_of_an_empty_body_is_none() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json({"got": request.json, "body": request.body.decode()})

    assert await seen_by(handler, "POST") == {"got": None, "body": ""}


async def test_invalid_json_body_answers_400() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json({"got": request.json})

    app = App()
    app.add_route(handler, "/", methods=["POST"])
    async with app.test_client() as client:
        response = await client.post("/", content=b"{not json")
    assert response.status_code == 400
    assert response.text.startswith("400 the request body is not valid JSON: ")


async def test_urlencoded_form_is_parsed() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json(
            {
                "name": request.form.get("name"),
                "tags": request.form["tag"],
                "getlist": request.form.getlist("tag"),
                "empty": request.form.get("empty", "dropped"),
            }
        )

    body = {"name": "Zoë Smith", "tag": ["a", "b"], "empty": ""}
    assert await seen_by(handler, "POST", data=body) == {
        "name": "Zoë Smith",
        "tags": ["a", "b"],
        "getlist": ["a", "b"],
        "empty": "dropped",
    }


async def test_form_of_another_content_type_is_empty() -> None:
    async def handler(request: Request) -> HTTPResponse:
        return json(dict(request.form))

    assert await seen_by(handler, "POST", json={"name": "x"}) == {}


async def test_buffered_route_has_no_stream_and_the_whole_body() -> None:
    async def handler(request: Request) -> HTTPResponse:
        body = await request.receive_body()
        return json({"stream": request.stream, "body": request.body.decode(), "rb": body.decode()})

    assert await seen_by(handler, "POST", content=chunks(b"ab", b"cd")) == {
        "stream": None,
        "body": "abcd",
        "rb": "abcd",
    }


# --- the streamed body ------------------------------------------------------------------------


def streaming_app(handler: Any) -> App:
    app = App()
    app.add_route(handler, "/up", methods=["POST"], stream=True)
    return app


async def test_receive_body_reads_a_streamed_body_into_body() -> None:
    async def handler(request: Request) -> HTTPResponse:
        before = request.body
        body = await request.receive_body()
        return json(
            {"before": before.decode(), "body": request.body.decode(), "returned": body.decode()}
        )

    async with streaming_app(handler).test_client() as client:
        response = await client.post("/up", content=chunks(b"hello ", b"world"))
    assert response.json() == {"before": "", "body": "hello world", "returned": "hello world"}


async def test_receive_body_over_the_limit_answers_413() -> None:
    async def handler(request: Request) -> HTTPResponse:
        await request.receive_body()
        return text("read it all")

    app = streaming_app(handler)
    app.config.REQUEST_MAX_SIZE = 5
    async with app.test_client() as client:
        response = await client.post("/up", content=chunks(b"abc", b"def"))
    assert response.status_code == 413
    assert response.text == "413 the request body exceeds 5 bytes\n"


async def test_stream_get_returns_none_at_the_end_and_again_after() -> None:
    async def handler(request: Request) -> HTTPResponse:
        assert request.stream is not None
        parts = []
        while (chunk := await request.stream.get()) is not None:
            parts.append(chunk.decode())
        return json(
            {
                "body": "".join(parts),
                "get_again": await request.stream.get(),
                "read_again": await request.stream.read(),
            }
        )

    async with streaming_app(handler).test_client() as client:
        response = await client.post("/up", content=chunks(b"x", b"y", b"z"))
    assert response.json() == {"body": "xyz", "get_again": None, "read_again": None}


async def test_stream_read_is_get() -> None:
    async def handler(request: Request) -> HTTPResponse:
        assert request.stream is not None
        parts = []
        while (chunk := await request.stream.read()) is not None:
            parts.append(chunk)
        return text(b"".join(parts).decode())

    async with streaming_app(handler).test_client() as client:
        response = await client.post("/up", content=b"content-length body")
    assert response.text == "content-length body"


async def test_stream_receive_raises_end_of_channel_at_the_end() -> None:
    async def handler(request: Request) -> HTTPResponse:
        assert request.stream is not None
        parts = []
        ends = 0
        while True:
            try:
                parts.append(await request.stream.receive())
            except trio.EndOfChannel:
                ends += 1
                break
        try:
            await request.stream.receive()
        except trio.EndOfChannel:
            ends += 1
        return json({"body": b"".join(parts).decode(), "ends": ends})

    async with streaming_app(handler).test_client() as client:
        response = await client.post("/up", content=chunks(b"1", b"2"))
    assert response.json() == {"body": "12", "ends": 2}


async def test_stream_supports_async_for() -> None:
    async def handler(request: Request) -> HTTPResponse:
        assert request.stream is not None
        received = [chunk async for chunk in request.stream]
        all_bytes = all(isinstance(chunk, bytes) for chunk in received)
        return json({"body": b"".join(received).decode(), "all_bytes": all_bytes})

    async with streaming_app(handler).test_client() as client:
        response = await client.post("/up", content=chunks(b"a" * 10, b"b" * 10))
    assert response.json() == {"body": "a" * 10 + "b" * 10, "all_bytes": True}


async def test_chunked_upload_streams() -> None:
    async def handler(request: Request) -> HTTPResponse:
        assert request.stream is not None
        received = b"".join([chunk async for chunk in request.stream])
        return json(
            {
                "te": request.headers.get("transfer-encoding"),
                "cl": request.headers.get("content-length"),
                "body_before": request.body.decode(),
                "size": len(received),
            }
        )

    parts = [bytes([65 + i]) * 1000 for i in range(20)]
    async with streaming_app(handler).test_client() as client:
        response = await client.post("/up", content=chunks(*parts))
    assert response.json() == {"te": "chunked", "cl": None, "body_before": "", "size": 20_000}


async def test_content_length_upload_streams() -> None:
    async def handler(request: Request) -> HTTPResponse:
        assert request.stream is not None
        received = b"".join([chunk async for chunk in request.stream])
        return json(
            {
                "te": request.headers.get("transfer-encoding"),
                "cl": request.headers.get("content-length"),
                "body_before": request.body.decode(),
                "ok": received == b"0123456789" * 10_000,
            }
        )

    async with streaming_app(handler).test_client() as client:
        response = await client.post("/up", content=b"0123456789" * 10_000)
    assert response.json() == {"te": None, "cl": "100000", "body_before": "", "ok": True}


@pytest.mark.parametrize(
    ("headers", "framing"),
    [({}, "chunked"), ({"Content-Length": "12"}, "content-length")],
)
async def test_handler_reads_the_first_chunk_before_the_upload_finishes(
    headers: dict[str, str], framing: str
) -> None:
    first_chunk_seen = trio.Event()

    async def handler(request: Request) -> HTTPResponse:
        assert request.stream is not None
        first = await request.stream.receive()
        first_chunk_seen.set()
        rest = b"".join([chunk async for chunk in request.stream])
        used = "chunked" if "transfer-encoding" in request.headers else "content-length"
        return text(f"{used}: {first.decode()} then {rest.decode()}")

    async def upload() -> AsyncIterator[bytes]:
        yield b"first"
        # Only the handler, already running while the upload is half sent, can set this.
        await first_chunk_seen.wait()
        yield b" second"

    with trio.fail_after(5):
        async with streaming_app(handler).test_client() as client:
            response = await client.post("/up", content=upload(), headers=headers)
    assert response.text == f"{framing}: first then  second"


async def test_streaming_handler_can_echo_the_body_as_it_arrives() -> None:
    async def handler(request: Request) -> None:
        assert request.stream is not None
        response = await request.respond(content_type="application/octet-stream")
        async for chunk in request.stream:
            await response.send(chunk.upper())
        await response.eof()

    async with streaming_app(handler).test_client() as client:
        response = await client.post("/up", content=chunks(b"abc", b"def"))
    assert response.status_code == 200
    assert response.content == b"ABCDEF"


async def test_connection_stays_usable_after_a_handler_ignores_a_streamed_body() -> None:
    async def refuse(request: Request) -> HTTPResponse:
        return text("not reading that", 401)

    app = streaming_app(refuse)

    @app.get("/")
    async def index(request: Request) -> HTTPResponse:
        return text("index")

    with trio.fail_after(5):
        async with app.test_client() as client:
            refused = await client.post("/up", content=chunks(b"ignored"))
            after = await client.get("/")
    assert (refused.status_code, refused.text) == (401, "not reading that")
    assert (after.status_code, after.text) == (200, "index")
